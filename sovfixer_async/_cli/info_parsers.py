"""The parsers of the read-only commands: history, activity, usage, datasources.

Options follow ``sovfixerapi history``/``activity`` and ``pingdataapi usage``/
``list-datasources``/``get-datasource`` (``-D`` is ``--download`` on ``activity``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime

from sovfixer_async._cli.argtypes import delegate_to_option, positive_float, positive_int
from sovfixer_async._cli.sources import FORMATS

Command = Callable[..., argparse.ArgumentParser]

#: ``--start`` of ``history``: the official CLI's formats.
START_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def start_time(text: str) -> datetime:
    for fmt in START_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(
        f"expected a date like 2024-06-01 or '2024-06-01 13:00:00', got {text!r}"
    )


def utc_time(text: str) -> datetime:
    """A completed-time filter: a ``--start`` format or the API's ``YYYYMMDDHHMMSS`` (UTC)."""
    if len(text) == 14 and text.isdigit():
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S")
        except ValueError:
            pass
    try:
        return start_time(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a UTC time like 2024-06-01, '2024-06-01 13:00:00' or 20240601130000, "
            f"got {text!r}"
        ) from None


#: ``activity``'s completed-time filters, spelled as the API's (and ``--company__short_name``).
COMPLETED_FILTERS = (
    ("gt", "after"),
    ("gte", "at or after"),
    ("lt", "before"),
    ("lte", "at or before"),
)


def _page_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-l",
        "--page-size",
        "--limit",
        dest="page_size",
        type=positive_int,
        default=50,
        metavar="N",
        help="records per request (50)",
    )


def _pretty(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pretty", action="store_true", help="(accepted for the official CLI; text is default)"
    )


def add_info_commands(command: Command) -> None:
    """Add the read-only commands through ``command(name, help, **kwargs)``."""
    history = command("history", "list completed and failed SOVs and updates, oldest first")
    history.add_argument("--cursor-id", metavar="ID", help="start after this record")
    history.add_argument(
        "--start", type=start_time, metavar="DATE", help="from this time on (2024-06-01 ...)"
    )
    _page_size(history)
    history.add_argument(
        "-F",
        "--follow",
        action="store_true",
        help="keep watching: poll every --interval seconds and print new records (Ctrl-C ends)",
    )
    history.add_argument(
        "--interval",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="seconds between polls with --follow (30)",
    )
    _pretty(history)

    activity = command("activity", "list recent submissions (SOVs with their updates)")
    activity.add_argument("--id", "--sovid", dest="sovid", metavar="SOVID", help="one SOV")
    activity.add_argument("--cursor-id", metavar="ID", help="start from this cursor")
    activity.add_argument("--prev-cursor-id", metavar="ID", help="page backwards from this cursor")
    _page_size(activity)
    activity.add_argument(
        "--fields", action="append", metavar="NAME", help="fields to return (repeatable)"
    )
    activity.add_argument("--search", metavar="TEXT", help="filter key fields by this text")
    activity.add_argument("--origin", choices=("api", "email"))
    activity.add_argument("--status", choices=("P", "I", "E", "R", "C", "F"))
    for name in ("company", "division"):
        activity.add_argument(
            f"--{name}__short_name",
            action="append",
            metavar="SHORT_NAME",
            help=f"only this {name}'s SOVs (repeatable)",
        )
    activity.add_argument("--pingid", metavar="PINGID", help="one SOV by its Ping id")
    for op, words in COMPLETED_FILTERS:
        activity.add_argument(
            f"--completed_time__{op}",
            type=utc_time,
            metavar="TIME",
            help=f"completed {words} TIME (UTC: 2024-06-01, '2024-06-01 13:00:00', 20240601130000)",
        )
    activity.add_argument(
        "-n", "--max", type=positive_int, metavar="N", help="stop after N records (default all)"
    )
    activity.add_argument(
        "-D",
        "--download",
        metavar="DIR",
        help="download every input and output file listed, one folder per SOV under DIR",
    )
    activity.add_argument(
        "--force", action="store_true", help="replace files that already exist under DIR"
    )
    _pretty(activity)

    usage = command("usage", "Ping.Data credits used over a time range, by source")
    usage.add_argument("--start", metavar="WHEN", help="-5m, -1h, -30d or an ISO time (-30d)")
    usage.add_argument("--end", metavar="WHEN", help="as --start (default now)")
    usage.add_argument("--username", metavar="NAME", help="another user's usage (staff only)")
    usage.add_argument(
        "--org-short-name",
        metavar="ORG",
        help="an organisation's usage (staff only; not with --username)",
    )
    delegate_to_option(usage)

    datasources = command(
        "datasources",
        "list the Ping.Data datasources this account may use, or show one",
        aliases=["list-datasources", "get-datasource"],
    )
    datasources.add_argument("code", nargs="?", metavar="CODE", help="one source, e.g. PG")
    datasources.add_argument(
        "--format",
        choices=FORMATS,
        default="pretty",
        help="how CODE is shown: a few lines (default), Markdown, or JSON (--json: one line)",
    )
    delegate_to_option(datasources)
