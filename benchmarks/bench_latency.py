"""Submission-to-done latency over the server's job time, without webhooks.

For each job time (0.5, 1 and 2 s; one emulator process each) it runs rounds of update
jobs, output requests and small (10-location) bulk-enhance runs side by side, 5 of each
kind at once by default (a light load: the fleet benchmark covers heavy ones), and times
each from just before the submitting call to the return of ``wait()`` (for a bulk run
that includes fetching and merging its output). Target: median and p95 of latency / job
time <= 1.15.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import _common as c
import anyio

from sovfixer_async._client import Client

JOB_SECONDS = (0.5, 1.0, 2.0)
KINDS = ("update", "output", "bulk")


async def measure(url: str, per_kind: int, rounds: int) -> dict[str, list[float]]:
    """Latency of every job, by kind; ``per_kind`` jobs of each kind at once per round."""
    out: dict[str, list[float]] = {kind: [] for kind in KINDS}
    locs = [{"id": f"loc-{i}", "address": f"{i} main st, miami, fl"} for i in range(10)]
    async with Client(api_url=url, data_api_url=url, token=c.TOKEN) as client:
        # Warm the per-client caches (formats, datasources) and the connection pool.
        await client.list_output_formats()
        await client.list_datasources()

        async def update() -> None:
            job = await client.update_sov(c.SEED_SOVID, c.UPDATE_CSV)
            await job.wait()

        async def output() -> None:
            job = await client.get_or_create_output(c.SEED_SOVID, "JSON", overwrite_existing=True)
            await job.wait()

        async def bulk() -> None:
            run = await client.bulk_enhance(locs, sources=["PG"])
            await run.wait()

        jobs: dict[str, Callable[[], Awaitable[None]]] = {
            "update": update,
            "output": output,
            "bulk": bulk,
        }

        async def timed(kind: str) -> None:
            start = time.perf_counter()
            await jobs[kind]()
            out[kind].append(time.perf_counter() - start)

        for _ in range(rounds):
            async with anyio.create_task_group() as tg:
                for _ in range(per_kind):
                    for kind in KINDS:
                        tg.start_soon(timed, kind)
    return out


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--per-kind", type=int, default=5, help="jobs of each kind at once")
    p.add_argument("--rounds", type=int, help="rounds per job time (default 8; quick 2)")
    args = p.parse_args()
    per_kind = args.per_kind
    rounds = args.rounds or (2 if args.quick else 8)
    c.header("bench_latency", args)
    tables = []
    for seconds in JOB_SECONDS:
        with c.emulator(seconds) as emu:
            latencies = anyio.run(measure, emu.url, per_kind, rounds)
        t = c.Table(
            f"job time {seconds:g} s: latency / job time ({per_kind} per kind x {rounds} rounds)"
        )
        for kind in KINDS:
            ratios = [v / seconds for v in latencies[kind]]
            t.info(
                f"{kind}: median, p95, max",
                f"{statistics.median(ratios):.3f}, {c.percentile(ratios, 95):.3f}, "
                f"{max(ratios):.3f}",
            )
        every = [v / seconds for kind in KINDS for v in latencies[kind]]
        t.check("all jobs: median", statistics.median(every), ".3f", "<=", 1.15)
        t.check("all jobs: p95", c.percentile(every, 95), ".3f", "<=", 1.15)
        t.print()
        print()
        tables.append(t)
    return c.finish(tables)


if __name__ == "__main__":
    sys.exit(main())
