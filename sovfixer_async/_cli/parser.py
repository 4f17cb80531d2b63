"""The argument parser of ``sovfixer-async`` (argparse only: no dependency beyond the SDK's).

Global options are added to the top-level parser and to every subcommand with a default of
``SUPPRESS``, so they work before or after the subcommand and a later spelling never
clobbers an earlier one with a default. :func:`globals_of` fills the defaults afterwards.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from attrs import frozen

from sovfixer_async import __version__
from sovfixer_async._cli.account_parsers import add_account_commands
from sovfixer_async._cli.argtypes import (
    ENVIRONMENTS,
    delegate_to_option,
    environment,
    non_negative_float,
    positive_int,
)
from sovfixer_async._cli.info_parsers import add_info_commands
from sovfixer_async._cli.job_parsers import add_job_commands
from sovfixer_async._cli.ledger_parsers import add_ledger_commands

PROG = "sovfixer-async"

#: Global options that take a value (to find the subcommand in a raw argv).
VALUE_OPTIONS = frozenset(
    {
        "--api-url",
        "-u",
        "--data-api-url",
        "--token",
        "--api-token",
        "--auth-token",
        "--data-token",
        "-e",
        "--environment",
        "--max-connections",
        "-D",
        "--delegate-to",
    }
)

#: The Ping.Data commands a ``-D/--delegate-to`` before the command applies to.
DELEGATING_COMMANDS = frozenset({"enhance", "usage", "datasources", "limits"})


class UsageError(Exception):
    """Bad command-line usage found after parsing (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@frozen
class GlobalOptions:
    """The global options after defaults are filled in."""

    api_url: str | None
    data_api_url: str | None
    token: str | None
    data_token: str | None
    environment: str | None
    max_connections: int | None
    verbose: int
    quiet: bool
    json: bool


def globals_of(args: argparse.Namespace) -> GlobalOptions:
    """The global options of parsed ``args`` (absent ones get their defaults)."""
    return GlobalOptions(
        api_url=getattr(args, "api_url", None),
        data_api_url=getattr(args, "data_api_url", None),
        token=getattr(args, "token", None),
        data_token=getattr(args, "data_token", None),
        environment=getattr(args, "environment", None),
        max_connections=getattr(args, "max_connections", None),
        verbose=getattr(args, "verbose", 0) or 0,
        quiet=getattr(args, "quiet", False),
        json=getattr(args, "json", False),
    )


def global_parent() -> Parser:
    """The global options, as a parent parser (every default is SUPPRESS)."""
    parent = Parser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parent.add_argument_group("global options (before or after the command)")
    add = group.add_argument
    add("-u", "--api-url", metavar="URL", help="Ping.Extraction (SOVFixer) base URL")
    add("--data-api-url", metavar="URL", help="Ping.Data base URL")
    add(
        "--token",
        "--api-token",
        "--auth-token",
        dest="token",
        metavar="TOKEN",
        help="SOVFixer API token (default: SOVFIXER_AUTH_TOKEN[_STG|_DEV...], ~/.pingintel.ini)",
    )
    add(
        "--data-token",
        metavar="TOKEN",
        help="Ping.Data API token (default: PING_DATA_AUTH_TOKEN..., then the SOVFixer token)",
    )
    add(
        "-e",
        "--environment",
        type=environment,
        metavar="ENV",
        help=f"{', '.join(ENVIRONMENTS)} (default prod): picks URLs and token variables",
    )
    add("--max-connections", type=positive_int, metavar="N", help="socket pool size (64)")
    add("-v", "--verbose", action="count", help="log requests; -v shows tracebacks")
    add("-q", "--quiet", action="store_true", help="no progress, only results and errors")
    add("--json", action="store_true", help="one JSON object per line on stdout")
    return parent


def build_parser() -> Parser:
    """The ``sovfixer-async`` parser (``emulator``'s flags: :func:`build_emulator_parser`)."""
    parent = global_parent()
    parser = Parser(
        prog=PROG,
        parents=[parent],
        description=(
            "Run SOVFixer (Ping.Extraction) and Ping.Data jobs concurrently: SOV updates, "
            "outputs, parses and bulk enhance, with progress, downloads and resume tokens."
        ),
        epilog="Exit status: 0 ok, 1 a job or request failed, 2 usage or input error, "
        "130 interrupted (resume tokens are printed on stderr).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    delegate_to_option(
        parser,
        help="(before the command, as pingdataapi takes it) act for another organisation on "
        f"the Ping.Data commands: {', '.join(sorted(DELEGATING_COMMANDS))}",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        made = sub.add_parser(
            name, help=help_text, description=help_text, parents=[parent], **kwargs
        )
        made.set_defaults(command=name)  # an alias (the official CLIs' name) runs ``name``
        return made

    demo = command("demo", "run a mixed workload against an in-process emulator (no token needed)")
    demo.add_argument(
        "--out", default="sovfixer-demo", metavar="DIR", help="where outputs go (replaced)"
    )
    demo.add_argument(
        "--locations", type=positive_int, default=5000, metavar="N", help="bulk size (5000)"
    )
    demo.add_argument(
        "--job-seconds",
        type=non_negative_float,
        default=2.0,
        metavar="S",
        help="how long each emulated job takes (2)",
    )
    demo.add_argument(
        "--updates", type=positive_int, default=6, metavar="N", help="update jobs (6)"
    )

    add_job_commands(command)
    add_info_commands(command)
    add_account_commands(command, parent, Parser)
    add_ledger_commands(command, parent)

    # Listed for --help only: main() hands ``emulator ...`` to build_emulator_parser().
    sub.add_parser("emulator", help=EMULATOR_HELP, add_help=False)
    return parser


EMULATOR_HELP = "run the local emulator of both APIs (prints its URL)"


def build_emulator_parser() -> Parser:
    """The parser of ``sovfixer-async emulator``: every flag of the emulator's own."""
    from sovfixer_async.emulator import add_arguments

    parser = Parser(
        prog=f"{PROG} emulator",
        description=(
            "Run the local emulator of both APIs until Ctrl-C. It prints its base URL on "
            "stdout. Here --token is the token the emulator accepts."
        ),
    )
    add_arguments(parser)
    return parser


#: Options whose value may start with ``-`` (``usage --start -30d``, as click takes it).
DASH_VALUE_OPTIONS = frozenset({"--start", "--end"})


def glue_dash_values(argv: Sequence[str]) -> list[str]:
    """``--start -30d`` -> ``--start=-30d`` (argparse would read ``-30d`` as an option)."""
    words: list[str] = []
    glue = False
    for word in argv:
        if glue and word.startswith("-") and word != "--":
            words[-1] = f"{words[-1]}={word}"
        else:
            words.append(word)
        glue = word in DASH_VALUE_OPTIONS
    return words


def find_command(argv: Sequence[str]) -> int | None:
    """Index of the subcommand in a raw argv (skipping global options and their values)."""
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--":
            return index + 1 if index + 1 < len(argv) else None
        if arg.startswith("-"):
            skip = arg in VALUE_OPTIONS
            continue
        return index
    return None
