"""``ledger ...`` and ``worker``: the durable ledger from a shell (see ``ledger_parsers``)."""

from __future__ import annotations

import argparse
import json

from sovfixer_async._cli.context import Context
from sovfixer_async.ledger import Ledger
from sovfixer_async.ledger._url import url_from
from sovfixer_async.models import unstructure


async def _open(args: argparse.Namespace) -> Ledger:
    return await Ledger.open(url_from(getattr(args, "ledger", None)))


async def ledger(ctx: Context, args: argparse.Namespace) -> int:
    action = args.ledger_command
    async with await _open(args) as opened:
        if action == "plan":
            await _plan(ctx, opened, args)
        elif action == "status":
            status = await opened.status()
            lines = [
                f"{k} {s}: {n}"
                for k, by in sorted(status.counts.items())
                for s, n in sorted(by.items())
            ]
            lines.append(f"duplicates: {status.duplicates}, live workers: {status.live_workers}")
            lines.append(
                f"fenced writes: {status.fenced_writes}, jobs made twice (evidence): "
                f"{sum(status.fenced_jobs.values())}"
            )
            ctx.reporter.result("status", "\n".join(lines), **status.as_dict())
        elif action == "held":
            for item in await opened.held():
                text = f"{item.id} {item.kind} {item.reason}"
                ctx.reporter.result("held", text, **item.as_dict())
        elif action == "resolve":
            await opened.resolve(args.item, adopt=args.adopt, resubmit=args.resubmit)
            ctx.reporter.result("resolved", f"item {args.item} resolved", id=args.item)
        elif action == "prune":
            removed = await opened.prune(older_than=args.older_than)
            ctx.reporter.result("pruned", f"{removed} item(s) forgotten", removed=removed)
        else:
            assert action == "results"
            async for location_id, by_source in opened.results(args.run_id):
                line = {
                    "id": location_id,
                    "results": {s: unstructure(r) for s, r in by_source.items()},
                }
                ctx.reporter.result("result", json.dumps(line), **line)
    return 0


async def _plan(ctx: Context, opened: Ledger, args: argparse.Namespace) -> None:
    kind = args.plan_kind
    if kind == "parse":
        for file in args.files:
            item = await opened.plan_parse(
                file, document_type=args.document_type, output_formats=args.formats
            )
            ctx.reporter.result("planned", f"item {item}: parse of {file}", id=item, kind=kind)
    elif kind == "update":
        item = await opened.plan_update(
            args.sovid, args.csv, output_formats=args.formats, update_type=args.update_type
        )
        ctx.reporter.result("planned", f"item {item}: update of {args.sovid}", id=item, kind=kind)
    elif kind == "output":
        for fmt in args.output_formats:
            item = await opened.plan_output(
                args.sovid, fmt, revision=args.revision, overwrite_existing=args.overwrite_existing
            )
            ctx.reporter.result("planned", f"item {item}: output {fmt}", id=item, kind=kind)
    else:
        sources = [s.strip() for s in args.sources.split(",") if s.strip()]
        run = await opened.plan_enhance(args.file, sources=sources, batch_size=args.batch_size)
        ctx.reporter.result(
            "planned",
            f"bulk run {run.run_id}: {run.locations} locations in {len(run.item_ids)} batches",
            run_id=run.run_id,
            locations=run.locations,
            items=list(run.item_ids),
            kind=kind,
        )


async def worker(ctx: Context, args: argparse.Namespace) -> int:
    async with await _open(args) as opened:
        options: dict[str, float] = {}
        if args.max_requests is not None:
            options["max_concurrent_requests"] = args.max_requests
        if args.reconcile_grace is not None:
            options["reconcile_grace"] = args.reconcile_grace
        async with ctx.client(progress=False, **options) as client:
            await opened.work(
                client,
                args.out,
                concurrency=args.concurrency,
                exit_when_done=args.exit_when_done,
                resubmit_ambiguous_bulk=args.resubmit_ambiguous_bulk,
                max_jobs=dict(args.max_jobs),
                max_requests_in_flight=args.max_requests,
                max_requests_per_second=args.max_rate,
                lease=args.lease,
            )
        status = await opened.status()
    ctx.reporter.result("worker_done", f"worker done; ledger: {status.counts}", **status.as_dict())
    return 0
