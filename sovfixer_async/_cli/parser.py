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

from sovfixer_async._config import ENVIRONMENTS

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
    }
)


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _environment(text: str) -> str:
    value = text.lower()
    if value not in ENVIRONMENTS:
        raise argparse.ArgumentTypeError(
            f"unknown environment {text!r} (choose from {', '.join(ENVIRONMENTS)})"
        )
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


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
        type=_environment,
        metavar="ENV",
        help=f"{', '.join(ENVIRONMENTS)} (default prod): picks URLs and token variables",
    )
    add("--max-connections", type=_positive_int, metavar="N", help="socket pool size (64)")
    add("-v", "--verbose", action="count", help="log requests; -v shows tracebacks")
    add("-q", "--quiet", action="store_true", help="no progress, only results and errors")
    add("--json", action="store_true", help="one JSON object per line on stdout")
    return parent


def _formats_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "-o",
        "--format",
        "--output-format",
        dest="formats",
        action="append",
        metavar="FORMAT",
        help=help_text,
    )


def _out_option(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    parser.add_argument("--out", default=default, metavar="DIR", help=f"{what} (default {default})")
    parser.add_argument(
        "--force", action="store_true", help="replace local files that already exist"
    )


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help_text, description=help_text, parents=[parent], **kwargs
        )

    demo = command("demo", "run a mixed workload against an in-process emulator (no token needed)")
    demo.add_argument(
        "--out", default="sovfixer-demo", metavar="DIR", help="where outputs go (replaced)"
    )
    demo.add_argument(
        "--locations", type=_positive_int, default=5000, metavar="N", help="bulk size (5000)"
    )
    demo.add_argument(
        "--job-seconds",
        type=_non_negative_float,
        default=2.0,
        metavar="S",
        help="how long each emulated job takes (2)",
    )
    demo.add_argument(
        "--updates", type=_positive_int, default=6, metavar="N", help="update jobs (6)"
    )

    update = command("update", "update an SOV's buildings from correction CSVs")
    update.add_argument("sovid", metavar="SOVID")
    update.add_argument("csv", nargs="+", metavar="CSV", help="corrections (several: one update)")
    _formats_option(update, "output format to generate (repeatable; default JSON)")
    update.add_argument(
        "-E",
        "--extra",
        "--extra-data",
        dest="extra",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="extra_data entry (repeatable), e.g. insured_name=Acme",
    )
    update.add_argument("--update-type", metavar="TYPE", help="e.g. UPDATE, REOUTPUT, RENEWAL")
    update.add_argument("-I", "--integration", dest="integrations", action="append", metavar="CODE")
    _out_option(update, ".", "where outputs are saved")
    update.add_argument(
        "--no-wait",
        "--nowait",
        dest="no_wait",
        action="store_true",
        help="print the resume token once started and exit",
    )

    output = command("output", "get (cached) or create an SOV output and download it")
    output.add_argument("sovid", metavar="SOVID_OR_SUDID")
    output.add_argument(
        "-o", "--format", "--output-format", dest="format", required=True, metavar="FORMAT"
    )
    output.add_argument(
        "-r", "--revision", type=int, default=-1, help="revision (-1: latest completed)"
    )
    output.add_argument(
        "--overwrite",
        "--overwrite-existing",
        dest="overwrite",
        action="store_true",
        help="regenerate on the server even when cached",
    )
    _out_option(output, ".", "where the output is saved")

    parse = command("parse", "parse workbooks into new SOVs (one job per file, all at once)")
    parse.add_argument("files", nargs="+", metavar="FILE", help=".xlsx, .xls, .xlsm, .xlsb, .pdf")
    _formats_option(parse, "output format (repeatable; default JSON)")
    parse.add_argument("-I", "--integration", dest="integrations", action="append", metavar="CODE")
    parse.add_argument("-d", "--document-type", default="SOV", metavar="TYPE")
    parse.add_argument(
        "-E",
        "--extra",
        "--extra-data",
        dest="extra",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
    )
    _out_option(parse, ".", "where outputs are saved")

    enhance = command(
        "enhance", "bulk-enhance locations (CSV with id,address,... or JSONL) with Ping.Data"
    )
    enhance.add_argument("input", nargs="?", metavar="INPUT", help="CSV or JSONL file")
    enhance.add_argument(
        "-a", "--address", help="enhance this one address synchronously instead of a file"
    )
    enhance.add_argument(
        "-s",
        "--source",
        "--sources",
        dest="sources",
        action="append",
        required=True,
        metavar="CODE",
        help="datasource code (repeatable, e.g. -s PG -s PH)",
    )
    enhance.add_argument("--batch-size", type=_positive_int, default=1000, metavar="N")
    enhance.add_argument(
        "--out",
        default="results.jsonl",
        metavar="FILE",
        help="merged results, one JSON line per location (default results.jsonl)",
    )
    enhance.add_argument("--force", action="store_true", help="replace --out if it exists")
    enhance.add_argument(
        "-r", "--include-raw-response", action="store_true", help="ask for raw responses"
    )
    enhance.add_argument("--nocache", action="store_true", help="skip the server's cache")

    formats = command("formats", "list the output formats this account may request")
    formats.add_argument("--sovid", metavar="ID", help="formats available for this SOV")

    status = command("status", "print a job's status once (takes a resume token)")
    status.add_argument(
        "resume_token", metavar="TOKEN", help="a resume token (from --json or Ctrl-C)"
    )

    resume = command("resume", "wait for a job again, from its resume token, and download it")
    resume.add_argument("resume_token", metavar="TOKEN", help="a resume token")
    _out_option(resume, ".", "where outputs are saved")

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
