"""The parsers of the job commands: update, output, parse, enhance, status, resume, formats.

Options follow the official ``sovfixerapi fix``/``update`` and ``pingdataapi enhance``/
``bulk-enhance`` spellings (their long forms and short letters), plus our own aliases.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sovfixer_async._cli.argtypes import (
    coordinate,
    delegate_to_option,
    delegate_to_team_option,
    extra_option,
    formats_option,
    integrations_option,
    key_value,
    no_wait_option,
    noinput_option,
    non_negative_float,
    out_option,
    positive_int,
    write_option,
)
from sovfixer_async.models import DocumentType, UpdateType

Command = Callable[..., argparse.ArgumentParser]

#: ``--kind`` of ``status``/``resume`` with a plain id.
KINDS = ("update", "parse", "output", "bulk_enhance")


def _callback_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--callback-url",
        metavar="URL",
        help="a URL the server POSTs the result to when the job ends",
    )


def _client_ref_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client-ref",
        metavar="TEXT",
        help="your reference for the job (shown in activity; finds it again after a failure)",
    )


def add_job_commands(command: Command) -> None:
    """Add the job commands through ``command(name, help)`` (which returns a subparser)."""
    _update(command("update", "update an SOV's buildings from correction CSVs"))
    _output(
        command(
            "output",
            "get (cached) or create an SOV output and download it",
            aliases=["get-output"],
        )
    )
    _parse(
        command(
            "parse",
            "parse workbooks into new SOVs (one job per file, all at once)",
            aliases=["fix"],
        )
    )
    _enhance(
        command(
            "enhance",
            "enhance locations with Ping.Data: a file as a bulk run, or addresses at once",
            aliases=["bulk-enhance"],
        )
    )
    formats = command(
        "formats",
        "list the output formats this account may request",
        aliases=["list-output-formats"],
    )
    formats.add_argument("--sovid", metavar="ID", help="formats available for this SOV")
    formats.add_argument("--division-uuid", metavar="UUID", help="formats of this division")
    formats.add_argument("--team-uuid", metavar="UUID", help="formats of this team")
    formats.add_argument(
        "--pretty", action="store_true", help="(accepted for the official CLI; text is default)"
    )
    check = command("check-progress", "print a parse job's status once (status SOVID --kind parse)")
    check.add_argument("resume_token", metavar="SOVID", help="the SOV id of the parse")
    check.set_defaults(command="status", kind="parse")
    for name, text in (
        ("status", "print a job's status once (a resume token, or an id with --kind)"),
        ("resume", "wait for a job again (a resume token, or an id with --kind), download it"),
    ):
        parser = command(name, text)
        parser.add_argument(
            "resume_token",
            metavar="TOKEN_OR_ID",
            help="a resume token (from --json or Ctrl-C), or a job id with --kind",
        )
        parser.add_argument(
            "-k",
            "--kind",
            choices=KINDS,
            help="the kind of job TOKEN_OR_ID is the id of (bulk_enhance: one batch's id)",
        )
        if name == "resume":
            out_option(parser, ".", "where outputs are saved")


def _update(update: argparse.ArgumentParser) -> None:
    update.add_argument("sovid", metavar="SOVID")
    update.add_argument("csv", nargs="+", metavar="CSV", help="corrections (several: one update)")
    formats_option(update, "output format to generate (repeatable; default JSON)")
    extra_option(update, "extra_data entry (repeatable), e.g. insured_name=Acme")
    update.add_argument(
        "--update-type",
        metavar="TYPE",
        help=f"one of {', '.join(t.value for t in UpdateType)} (the server's default: API)",
    )
    integrations_option(update)
    _callback_option(update)
    _client_ref_option(update)
    delegate_to_team_option(update)
    out_option(update, ".", "where outputs are saved")
    write_option(update)
    no_wait_option(update, "the update has started")
    noinput_option(update)


def _output(output: argparse.ArgumentParser) -> None:
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
    output.add_argument(
        "--no-overwrite-existing",
        dest="overwrite",
        action="store_false",
        help="use the cached output if there is one (the default)",
    )
    delegate_to_team_option(output)
    out_option(output, ".", "where the output is saved")
    write_option(output)


def _parse(parse: argparse.ArgumentParser) -> None:
    parse.add_argument("files", nargs="+", metavar="FILE", help=".xlsx, .xls, .xlsm, .xlsb, .pdf")
    formats_option(parse, "output format (repeatable; default JSON)")
    integrations_option(parse)
    parse.add_argument(
        "-d",
        "--document-type",
        default="SOV",
        metavar="TYPE",
        help=f"one of {', '.join(t.value for t in DocumentType)} (default SOV)",
    )
    extra_option(parse, "extra_data entry (repeatable)")
    _callback_option(parse)
    parse.add_argument(
        "--update-callback-url",
        metavar="URL",
        help="a URL the server POSTs the results of later updates of these SOVs to",
    )
    _client_ref_option(parse)
    parse.add_argument(
        "-W",
        "--workflow",
        metavar="NAME",
        help="processing workflow (default: the organization's own)",
    )
    delegate_to_team_option(parse)
    parse.add_argument(
        "--no-ping-data-api",
        dest="allow_ping_data_api",
        action="store_false",
        help="do not let the parse call the Ping.Data API (no enrichment credits spent)",
    )
    out_option(parse, ".", "where outputs are saved")
    write_option(parse)
    no_wait_option(parse, "every file is submitted")
    noinput_option(parse)


def _enhance(enhance: argparse.ArgumentParser) -> None:
    enhance.add_argument(
        "input", nargs="?", metavar="INPUT", help="CSV (id,address,...) or JSONL: a bulk run"
    )
    enhance.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="a text file of addresses, one per line (ids id_001, id_002...): a bulk run",
    )
    enhance.add_argument(
        "-a",
        "--address",
        dest="addresses",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an address (repeatable): each enhanced synchronously, at once; "
        "with -f, added to the bulk run",
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
    enhance.add_argument(
        "-c", "--country", metavar="CODE", help="country hint for the geocoders (-a, -f)"
    )
    enhance.add_argument(
        "--latitude", type=coordinate(90), metavar="DEG", help="latitude (one location)"
    )
    enhance.add_argument(
        "--longitude", type=coordinate(180), metavar="DEG", help="longitude (one location)"
    )
    enhance.add_argument(
        "--timeout",
        type=non_negative_float,
        metavar="S",
        help="the server's time limit for fetching data, in seconds",
    )
    enhance.add_argument(
        "-x",
        "--extra",
        dest="extra",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="extra location field (repeatable), e.g. -x const__num_stories=3 (-a, -f)",
    )
    enhance.add_argument("--batch-size", type=positive_int, default=1000, metavar="N")
    enhance.add_argument(
        "--out",
        default="results.jsonl",
        metavar="FILE",
        help="merged results of a bulk run, one JSON line per location (default results.jsonl)",
    )
    enhance.add_argument("--force", action="store_true", help="replace --out if it exists")
    enhance.add_argument(
        "--fetch-outputs",
        dest="fetch_outputs",
        action="store_true",
        default=True,
        help="write a bulk run's merged results to --out (the default)",
    )
    enhance.add_argument(
        "--no-fetch-outputs",
        dest="fetch_outputs",
        action="store_false",
        help="wait for a bulk run and report it, but write no results",
    )
    enhance.add_argument(
        "-r", "--include-raw-response", action="store_true", help="ask for raw responses"
    )
    enhance.add_argument("--nocache", action="store_true", help="skip the server's cache")
    delegate_to_option(enhance)
