"""``enhance``: a bulk run from a file, or addresses enhanced synchronously, at once.

- ``enhance INPUT`` (CSV with an ``id`` column, or JSONL) and ``enhance -f FILE`` (plain
  addresses, one per line, as ``pingdataapi bulk-enhance -f`` takes them) start a bulk run;
  its merged results go to ``--out`` (a JSONL file);
- ``enhance -a ADDRESS...`` (or ``--latitude``/``--longitude``) calls ``GET /enhance`` once
  per location, concurrently, and prints each answer.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs

from sovfixer_async import BulkEnhanceRun, InvalidInputError, JobFailed
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.parser import UsageError
from sovfixer_async._downloads import copy_atomic

#: ``-x`` keys that are options of their own.
RESERVED = frozenset(
    {"id", "sources", "address", "latitude", "longitude", "country", "timeout"}
    | {"include_raw_response", "check_cache", "nocache"}
)
#: Synchronous calls in flight at once for several ``-a``.
CONCURRENT_CALLS = 8
_FIELD = re.compile(r"^locations\[(\d+)\](.*)$")


async def enhance(ctx: Context, args: argparse.Namespace) -> int:
    """``enhance``: see the module's doc."""
    for key, _ in args.extra:
        if key in RESERVED:
            raise UsageError(f"-x {key}=...: use the option of its own instead")
    one_place = args.latitude is not None or args.longitude is not None
    if args.input is not None or args.file is not None:
        if args.input is not None and args.file is not None:
            raise UsageError("give INPUT or -f FILE, not both")
        if one_place:
            raise UsageError("--latitude/--longitude go with one location, not a bulk run")
        if args.input is not None and (args.addresses or args.country or args.extra):
            raise UsageError(
                "-a, -c and -x go with -f FILE or alone; in INPUT, give them as columns"
            )
        return await enhance_file(ctx, args)
    if not args.addresses and not one_place:
        raise UsageError(
            "enhance needs INPUT (CSV/JSONL), -f FILE (addresses), -a ADDRESS, "
            "or --latitude and --longitude"
        )
    if one_place and len(args.addresses) > 1:
        raise UsageError("--latitude/--longitude go with one location (at most one -a)")
    return await enhance_now(ctx, args)


# -- bulk --------------------------------------------------------------------------------


def address_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, address) of every non-blank line."""
    for number, line in enumerate(text.splitlines(), start=1):
        address = line.strip()
        if address:
            yield number, address


async def enhance_file(ctx: Context, args: argparse.Namespace) -> int:
    """A bulk run of INPUT, or of ``-a`` addresses then ``-f`` FILE's lines."""
    target: Path | None = Path(args.out) if args.fetch_outputs else None
    if target is not None and target.exists() and not args.force:
        raise InvalidInputError(f"{target} exists; pass --force to replace it", field="--out")
    locations: Any = args.input
    origin = args.input
    where: list[str] = []
    if args.file is not None:
        path = Path(args.file)
        if not path.is_file():
            raise InvalidInputError(f"file not found: {args.file}", field="-f")
        try:
            text = (await anyio.Path(path).read_bytes()).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"not UTF-8 text (byte {exc.start})", field=args.file) from None
        given = [(f"-a #{i}", a) for i, a in enumerate(args.addresses, start=1)]
        lines = [(f"{args.file} line {n}", a) for n, a in address_lines(text)]
        where = [w for w, _ in given + lines]
        fields = dict(args.extra)
        if args.country:
            fields["country"] = args.country
        locations = (
            {"id": f"id_{i:03d}", "address": address, **fields}
            for i, (_, address) in enumerate(given + lines, start=1)
        )
        origin = args.file
    rep = ctx.reporter
    rep.family("enhance")
    async with ctx.client() as client, rep.display():
        try:
            run = await client.bulk_enhance(
                locations,
                sources=args.sources,
                batch_size=args.batch_size,
                include_raw_response=args.include_raw_response,
                check_cache=not args.nocache,
                timeout=args.timeout,
                delegate_to=getattr(args, "delegate_to", None),
            )
        except InvalidInputError as exc:
            raise renamed(exc, origin, where) from None
        ctx.outs[run.id] = args.out
        rep.track(run)
        return await finish_run(ctx, run, target)


async def finish_run(ctx: Context, run: BulkEnhanceRun, target: Path | None) -> int:
    """Wait for a run, copy its merged results to ``target`` (None: write nothing,
    ``--no-fetch-outputs``); 1 when a batch failed."""
    rep = ctx.reporter
    try:
        status = await run.wait()
    except JobFailed:
        rep.delivered.add(run.id)
        return 1
    if target is not None:
        assert run.merged_path is not None
        await anyio.to_thread.run_sync(copy_atomic, run.merged_path, target)
    rep.delivered.add(run.id)
    rep.result(
        "result",
        f"done enhance {run.id}: {status.num_requested:,} locations, "
        f"{status.num_problems:,} with problems, {status.num_failed_batches} failed "
        f"batches -> {target if target is not None else 'not written (--no-fetch-outputs)'}",
        kind=run.kind,
        id=run.id,
        state=status.state,
        token=run.token,
        locations=status.num_requested,
        completed=status.num_completed,
        problems=status.num_problems,
        failed_batches=status.num_failed_batches,
        path=str(target) if target is not None else None,
    )
    return 1 if status.num_failed_batches else 0


def renamed(exc: InvalidInputError, origin: str | None, where: list[str]) -> InvalidInputError:
    """The SDK's ``locations[i].field`` error named after the file (and its line)."""
    match = _FIELD.match(exc.field or "")
    if match is None:
        return exc
    index = int(match.group(1))
    place = where[index] if index < len(where) else f"{origin}[{index}]"
    text = str(exc)
    prefix = f"{exc.field}: "
    message = text[len(prefix) :] if text.startswith(prefix) else text
    return InvalidInputError(message, field=place + match.group(2))


# -- synchronous -------------------------------------------------------------------------


async def enhance_now(ctx: Context, args: argparse.Namespace) -> int:
    """``GET /api/v1/enhance`` per address (at most 8 at once); each answer printed."""
    addresses: list[str | None] = list(args.addresses) or [None]
    answers: list[dict[str, Any] | None] = [None] * len(addresses)
    limit = anyio.CapacityLimiter(CONCURRENT_CALLS)
    async with ctx.client(progress=False) as client:

        async def call(index: int, address: str | None) -> None:
            async with limit:
                answer = await client.enhance(
                    sources=args.sources,
                    address=address,
                    latitude=args.latitude,
                    longitude=args.longitude,
                    country=args.country,
                    timeout=args.timeout,
                    include_raw_response=args.include_raw_response,
                    check_cache=not args.nocache,
                    delegate_to=getattr(args, "delegate_to", None),
                    **dict(args.extra),
                )
            answers[index] = attrs.asdict(answer)

        async with anyio.create_task_group() as tg:
            for index, address in enumerate(addresses):
                tg.start_soon(call, index, address)
    for address, data in zip(addresses, answers, strict=True):
        text = json.dumps(data, indent=2, default=str)
        if len(addresses) > 1:
            text = f"# {address}\n{text}"
        ctx.reporter.result("enhance", text, address=address, response=data)
    return 0
