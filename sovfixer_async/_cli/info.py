"""The read-only commands: history (``--follow``), activity (``--download``), usage,
datasources. Text output is one line per record; ``--json`` one object per line."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import anyio
import attrs

from sovfixer_async import Client, InvalidInputError, NotFoundError
from sovfixer_async._cli.commands import job_folder
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.progress import Reporter
from sovfixer_async._cli.sources import describe_source, markdown_source
from sovfixer_async._cli.text import printable
from sovfixer_async.models import HistoryRecord, SOVData

#: Files ``activity --download`` fetches at once.
CONCURRENT_DOWNLOADS = 8


def as_data(value: Any) -> dict[str, Any]:
    """An attrs model as plain data (datetimes and enums are written by the JSON encoder)."""
    data: dict[str, Any] = attrs.asdict(value)
    return data


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


# -- history -----------------------------------------------------------------------------


def history_line(record: HistoryRecord) -> str:
    """``pingid/id: ORIG 2024-06-01 13:00:00 Status: C`` (the official ``--pretty`` line)."""
    text = (
        f"{record.pingid or '-'}/{record.id}: {record.record_type or '-'} "
        f"{_when(record.completed_time)} Status: {record.status or '-'}"
    )
    if record.sovid and record.sovid != record.id:
        text += f" SOV {record.sovid}"
    if record.client_ref:
        text += f" ref {record.client_ref}"
    return text


async def history(ctx: Context, args: argparse.Namespace) -> int:
    """``history [--follow]``: records oldest first; with ``--follow``, new ones as they come.

    The library's feed keeps the cursor, drops records sent again and, when following,
    looks again every ``--interval`` seconds, outliving a bad minute of the server (each
    missed look is a warning here). Ctrl-C ends a follower with status 0 and the command
    that continues from the cursor on stderr.
    """
    rep = ctx.reporter
    if args.follow:
        ctx.interrupt_quietly = True
        if args.cursor_id is not None:
            ctx.continue_hint = _continue(ctx, args, args.cursor_id)
    async with ctx.client(progress=False) as client:
        feed = client.history(
            start=args.start,
            cursor_id=args.cursor_id,
            page_size=args.page_size,
            follow=args.follow,
            interval=args.interval,
        )
        with _missed_looks(rep, args.interval) if args.follow else nullcontext():
            async for record in feed:
                ctx.continue_hint = _continue(ctx, args, feed.cursor or record.id)
                rep.result("record", history_line(record), **as_data(record))
    return 0


class _MissedLook(logging.Handler):
    """A followed feed's missed look (logged by the library) as a warning line."""

    def __init__(self, rep: Reporter, interval: float) -> None:
        super().__init__(logging.INFO)
        self.rep = rep
        self.interval = interval

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg != MISSED_LOOK or not record.args:
            return
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        self.rep.warn(f"history: {args[0]}; looking again in {self.interval:g} s")


#: The library's log message for a followed feed's missed look.
MISSED_LOOK = "history feed: missed poll (%s); trying again"


@contextmanager
def _missed_looks(rep: Reporter, interval: float) -> Iterator[None]:
    logger = logging.getLogger("sovfixer_async")
    handler = _MissedLook(rep, interval)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _continue(ctx: Context, args: argparse.Namespace, cursor: str) -> str:
    words = ["history", "--follow", "--cursor-id", cursor, "--interval", f"{args.interval:g}"]
    return ctx.command_hint(words)


# -- activity ----------------------------------------------------------------------------


def activity_line(item: SOVData) -> str:
    """``<id> C SOV file.xlsx 2024-06-01 13:00:00 (2 updates) ref X``."""
    updates = len(item.all_updates or item.updates or {})
    text = (
        f"{item.id or '-'} {item.status or '-'} {item.document_type or '-'} "
        f"{item.filename or '-'} {_when(item.created_time)}"
    )
    if updates:
        text += f" ({updates} update{'s' if updates > 1 else ''})"
    if item.client_ref:
        text += f" ref {item.client_ref}"
    return text


def attachments(item: SOVData) -> list[tuple[str, str, str]]:
    """(url, file name, fallback name) of every input, output and update output listed."""
    found: list[tuple[str, str, str]] = []
    for n, given in enumerate(item.input_data or [], start=1):
        if given.url:
            found.append((given.url, given.filename or "", f"input-{n}"))
    for n, output in enumerate(item.output_data or [], start=1):
        if output.url:
            found.append((output.url, output.scrubbed_filename or "", f"output-{n}"))
    for revision, update in (item.updates or {}).items():
        for n, output in enumerate(update.outputs, start=1):
            if output.url:
                name = output.scrubbed_filename or output.url.rstrip("/").rsplit("/", 1)[-1]
                found.append((output.url, f"r{revision}-{name}", f"r{revision}-output-{n}"))
    return found


async def activity(ctx: Context, args: argparse.Namespace) -> int:
    """``activity [--download DIR]``: SOVs newest first, paging while more remain."""
    rep = ctx.reporter
    count = 0
    limit = anyio.CapacityLimiter(CONCURRENT_DOWNLOADS)
    async with (
        ctx.client(progress=args.download is not None) as client,
        anyio.create_task_group() as tg,
    ):
        async for item in client.activity(
            sovid=args.sovid,
            page_size=args.page_size,
            fields=args.fields,
            search=args.search,
            origin=args.origin,
            status=args.status,
            cursor_id=args.cursor_id,
            prev_cursor_id=args.prev_cursor_id,
            company__short_name=args.company__short_name,
            division__short_name=args.division__short_name,
            pingid=args.pingid,
            completed_time__gt=args.completed_time__gt,
            completed_time__gte=args.completed_time__gte,
            completed_time__lt=args.completed_time__lt,
            completed_time__lte=args.completed_time__lte,
        ):
            rep.result("activity", activity_line(item), **as_data(item))
            if args.download is not None and item.id:
                folder = job_folder(args.download, item.id)
                for url, name, fallback in attachments(item):
                    tg.start_soon(_fetch, client, limit, url, folder, name or fallback, args)
            count += 1
            if args.max is not None and count >= args.max:
                break
    return 0


async def _fetch(
    client: Client,
    limit: anyio.CapacityLimiter,
    url: str,
    folder: str,
    name: str,
    args: argparse.Namespace,
) -> None:
    async with limit:
        await client.download(url, folder, filename=name, overwrite=args.force)


# -- usage and datasources -----------------------------------------------------------------


async def usage(ctx: Context, args: argparse.Namespace) -> int:
    """``usage``: credits by source over the range (totals first, then each bucket)."""
    async with ctx.client(progress=False) as client:
        answer = await client.usage(
            start=args.start,
            end=args.end,
            username=args.username,
            org_short_name=args.org_short_name,
            delegate_to=getattr(args, "delegate_to", None),
        )
    rep = ctx.reporter
    lines = [
        f"credits {_when(answer.start)} .. {_when(answer.end)} (by {answer.granularity or '-'}):"
    ]
    width = max([len(k) for k in answer.totals] + [6])
    lines += [f"  {code:<{width}} {count:>10,}" for code, count in sorted(answer.totals.items())]
    if not answer.totals:
        lines.append("  (none)")
    rep.result("usage", "\n".join(lines), **as_data(answer))
    return 0


async def datasources(ctx: Context, args: argparse.Namespace) -> int:
    """``datasources [CODE]``: every source this account may use, or one in detail."""
    rep = ctx.reporter
    delegate_to = getattr(args, "delegate_to", None)
    async with ctx.client(progress=False) as client:
        if args.code is not None:
            code = args.code.strip().upper()
            try:
                config = await client.get_datasource(code, delegate_to=delegate_to)
            except NotFoundError:
                known = await client.list_datasources(delegate_to=delegate_to)
                raise InvalidInputError(
                    f"unknown datasource {args.code!r}; this account has: "
                    + (", ".join(printable(k, 20) for k in sorted(known)) or "none"),
                    field="CODE",
                ) from None
            data = as_data(config)
            if args.format == "markdown":
                text = markdown_source(config)
            elif args.format == "json":
                text = json.dumps(data, indent=2, default=str)
            else:
                text = describe_source(config)
            rep.result("datasource", text, code=code, **data)
            return 0
        found = await client.list_datasources(delegate_to=delegate_to)
    width = max([len(code) for code in found] + [4])
    if rep.mode != "json":
        rep.result("datasources", f"{'CODE':<{width}} {'CREDENTIALS':<11} NAME")
    for code, config in sorted(found.items()):
        rep.result(
            "datasource",
            f"{printable(code, 20):<{width}} {'yes' if config.requires_credentials else 'no':<11} "
            f"{printable(config.source_name or '')}".rstrip(),
            code=code,
            **as_data(config),
        )
    return 0
