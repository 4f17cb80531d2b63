"""The parsers of ``serverinfo``, ``limits`` and ``building get|add``.

``serverinfo`` is ``sovfixerapi serverinfo``; ``limits`` reads the Ping.Data source access
policy (``--username``/``--org-short-name`` as ``usage`` takes them, ``-D/--delegate-to``
as ``pingdataapi``'s); ``building`` reads or adds one building of a parsed SOV.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sovfixer_async._cli.argtypes import delegate_to_option

Command = Callable[..., argparse.ArgumentParser]


def add_account_commands(
    command: Command, parent: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser]
) -> None:
    """Add the commands through ``command(name, help)``; ``parent`` has the global options."""
    command("serverinfo", "show what the SOVFixer server says about itself")

    limits = command(
        "limits", "the Ping.Data source access policy: allowed sources, quotas and what remains"
    )
    limits.add_argument("--username", metavar="NAME", help="another user's (staff only)")
    limits.add_argument(
        "--org-short-name",
        metavar="ORG",
        help="an organisation's (staff only; not with --username)",
    )
    delegate_to_option(limits)

    building = command("building", "read or add one building of a parsed SOV")
    actions = building.add_subparsers(
        dest="building_action", metavar="ACTION", parser_class=parser_class, required=True
    )
    get = actions.add_parser(
        "get",
        help="one building by its item key",
        description="Print one building (its identifying fields, then every attribute).",
        parents=[parent],
    )
    get.add_argument("item_key", metavar="ITEM_KEY", help="e.g. 'i-s-e-xxxxxxx!SOV!1'")
    add = actions.add_parser(
        "add",
        help="add a building to a parsed SOV",
        description="Add one building, given as a JSON object of its attributes, to an SOV.",
        parents=[parent],
    )
    add.add_argument("sovid", metavar="SOVID")
    add.add_argument(
        "building",
        metavar="FILE_OR_JSON",
        help="a JSON object ('{\"bldg_name\": \"A\"}') or a file holding one ('-': stdin)",
    )
