"""The parsers of ``ledger plan|status|held|resolve|prune|results`` and ``worker``.

``--ledger URL`` may be left out when ``SOVFIXER_LEDGER_URL`` is set; the URL's password
is never printed.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from sovfixer_async._cli.argtypes import positive_float, positive_int

Command = Callable[..., argparse.ArgumentParser]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: ``--max-jobs`` kinds (``enhance`` is the batches of bulk enrichments).
JOB_KINDS = {"parse": "parse", "update": "update", "output": "output", "enhance": "enhance_batch"}


def duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h`` or ``7d``: seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration like 90s, 15m, 12h or 7d, got {text!r}"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def max_jobs(text: str) -> tuple[str, int]:
    """``KIND=N``: at most N server jobs of KIND in flight across every worker."""
    kind, _, number = text.partition("=")
    if kind not in JOB_KINDS:
        raise argparse.ArgumentTypeError(f"expected KIND=N with KIND one of {', '.join(JOB_KINDS)}")
    return JOB_KINDS[kind], positive_int(number)


def _ledger_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        metavar="URL",
        help="sqlite:///PATH or postgresql://... (default: $SOVFIXER_LEDGER_URL)",
    )


def add_ledger_commands(command: Command, parent: argparse.ArgumentParser) -> None:
    """Add ``ledger ...`` and ``worker`` through ``command(name, help, **kwargs)``."""
    ledger = command("ledger", "plan jobs in a durable ledger shared by workers, and watch it")
    verbs = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        made = verbs.add_parser(name, help=help_text, description=help_text, parents=[parent])
        _ledger_option(made)
        return made

    plan = verbs.add_parser("plan", help="add work items (inputs are copied into the ledger)")
    kinds = plan.add_subparsers(dest="plan_kind", metavar="KIND", required=True)

    def kind(name: str, help_text: str) -> argparse.ArgumentParser:
        made = kinds.add_parser(name, help=help_text, description=help_text, parents=[parent])
        _ledger_option(made)
        return made

    parse = kind("parse", "plan a parse of each FILE into a new SOV")
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--document-type", default="SOV", metavar="TYPE")
    parse.add_argument("--output-format", "-o", dest="formats", action="append", metavar="F")
    update = kind("update", "plan an update of SOVID with the rows of CSV")
    update.add_argument("sovid", metavar="SOVID")
    update.add_argument("csv", metavar="CSV")
    update.add_argument("--output-format", "-o", dest="formats", action="append", metavar="F")
    update.add_argument("--update-type", metavar="TYPE")
    output = kind("output", "plan get-or-create output requests")
    output.add_argument("sovid", metavar="SOVID_OR_SUDID")
    output.add_argument("output_formats", nargs="+", metavar="FORMAT")
    output.add_argument("--revision", type=int, default=-1, metavar="N")
    output.add_argument("--overwrite-existing", action="store_true")
    enhance = kind("enhance", "plan a bulk enrichment of FILE (CSV or JSONL) in batches")
    enhance.add_argument("file", metavar="FILE")
    enhance.add_argument("--sources", required=True, metavar="CODES", help="e.g. PG,GG")
    enhance.add_argument("--batch-size", type=positive_int, default=1000, metavar="N")

    verb("status", "counts by kind and state, duplicates, live workers, fenced writes")
    verb("held", "items held for an operator, with why")
    resolve = verb("resolve", "end a hold: adopt the server's job, or resubmit")
    resolve.add_argument("item", type=positive_int, metavar="ITEM")
    how = resolve.add_mutually_exclusive_group(required=True)
    how.add_argument("--adopt", metavar="JOB_ID", help="the batch the server has")
    how.add_argument("--resubmit", action="store_true", help="send it again (may duplicate)")
    prune = verb("prune", "forget done and failed items older than a duration")
    prune.add_argument("--older-than", type=duration, required=True, metavar="AGE", help="7d, 12h")
    results = verb("results", "every location of a planned bulk run, as JSONL on stdout")
    results.add_argument("run_id", metavar="RUN_ID")

    worker = command("worker", "carry out the ledger's work items until stopped")
    _ledger_option(worker)
    worker.add_argument("--out", required=True, metavar="DIR", help="where outputs go (shared)")
    worker.add_argument("--exit-when-done", action="store_true", help="stop when nothing is left")
    worker.add_argument("--concurrency", type=positive_int, default=16, metavar="N")
    worker.add_argument(
        "--max-jobs",
        type=max_jobs,
        action="append",
        default=[],
        metavar="KIND=N",
        help="server jobs of KIND (parse, update, output, enhance) in flight, across workers",
    )
    worker.add_argument(
        "--max-requests",
        type=positive_int,
        metavar="N",
        help="requests in flight for the API token across every live worker (each its share)",
    )
    worker.add_argument(
        "--max-rate",
        type=positive_float,
        metavar="R",
        help="requests per second for the API token across every live worker (each its share)",
    )
    worker.add_argument("--resubmit-ambiguous-bulk", action="store_true")
    worker.add_argument(
        "--reconcile-grace",
        type=positive_float,
        metavar="S",
        help="seconds before a lost submission is declared absent on the server (30)",
    )
    worker.add_argument("--lease", type=positive_float, default=30.0, metavar="S")
