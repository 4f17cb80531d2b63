"""The mixed fleet: update jobs + output requests + bulk-enhance locations, all at once.

Prints, from one run against one emulator process (every job takes ``--job-seconds``):

* our client on the full fleet (200 updates + 500 outputs + 20,000 locations): wall time
  over the server's own job time, target <= 1.2x;
* the official synchronous SDK (pingintel-api) on 64 threads, same full fleet: ours vs
  64 threads, target >= 3x;
* a scaled-down fleet (``--scale``, 1/10 by default: the official SDK one job after
  another would take an hour on the full one) run by our client and by the official SDK
  sequentially: ours vs sequential, target >= 20x (64 threads on it too, for information).

The official SDK polls every 2.5 s (updates, outputs) and 5 s (bulk enhance): that is its
real behaviour and part of what is measured. It has no batching, so its user is given the
locations in chunks of ``--batch-size`` (one bulk_enhance call each): the same server jobs
our client makes.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c
import anyio

from sovfixer_async._client import Client

SOURCES = ["PG"]
#: The routes of job status polls (one bulk batch is one job).
STATUS_ROUTES = frozenset(
    {
        "GET /api/v1/sov/update/{id}",
        "GET /api/v1/sov/get_or_create_output/{id}",
        "GET /api/v1/bulk_enhance/{id}",
    }
)


@dataclass(frozen=True)
class Fleet:
    updates: int
    outputs: int
    locations: int
    batch_size: int

    @classmethod
    def scaled(cls, scale: float, batch_size: int) -> Fleet:
        return cls(
            updates=max(1, round(200 * scale)),
            outputs=max(1, round(500 * scale)),
            locations=max(1, round(20_000 * scale)),
            batch_size=batch_size,
        )

    @property
    def batches(self) -> int:
        return math.ceil(self.locations / self.batch_size)

    @property
    def jobs(self) -> int:
        return self.updates + self.outputs + self.batches

    def __str__(self) -> str:
        return (
            f"{self.updates} updates + {self.outputs} outputs + {self.locations:,} locations "
            f"({self.batches} batches)"
        )


def locations(n: int) -> list[dict[str, Any]]:
    return [{"id": f"loc-{i}", "address": f"{i} main st, miami, fl"} for i in range(n)]


@dataclass
class OursResult:
    wall: float
    submitted: float  # when the last submission returned, from the start
    latencies: dict[str, list[float]] = field(default_factory=dict)  # submit start -> done
    cpu: float = 0.0


async def run_ours(url: str, fleet: Fleet) -> OursResult:
    """Every job of the fleet at once, each in its own task: submit, then wait."""
    locs = locations(fleet.locations)
    latencies: dict[str, list[float]] = {"update": [], "output": [], "bulk": []}
    last_submit = 0.0
    cpu0 = time.process_time()
    async with Client(api_url=url, data_api_url=url, token=c.TOKEN, max_connections=64) as client:
        t0 = time.perf_counter()

        async def update() -> None:
            nonlocal last_submit
            start = time.perf_counter()
            job = await client.update_sov(c.SEED_SOVID, c.UPDATE_CSV)
            last_submit = max(last_submit, time.perf_counter() - t0)
            await job.wait()
            latencies["update"].append(time.perf_counter() - start)

        async def output() -> None:
            nonlocal last_submit
            start = time.perf_counter()
            job = await client.get_or_create_output(c.SEED_SOVID, "JSON", overwrite_existing=True)
            last_submit = max(last_submit, time.perf_counter() - t0)
            await job.wait()
            latencies["output"].append(time.perf_counter() - start)

        async def bulk() -> None:
            nonlocal last_submit
            start = time.perf_counter()
            run = await client.bulk_enhance(locs, sources=SOURCES, batch_size=fleet.batch_size)
            last_submit = max(last_submit, time.perf_counter() - t0)
            status = await run.wait()
            assert status.num_requested == fleet.locations, status.num_requested
            latencies["bulk"].append(time.perf_counter() - start)

        async with anyio.create_task_group() as tg:
            tg.start_soon(bulk)
            for _ in range(fleet.updates):
                tg.start_soon(update)
            for _ in range(fleet.outputs):
                tg.start_soon(output)
        wall = time.perf_counter() - t0
    return OursResult(wall, last_submit, latencies, time.process_time() - cpu0)


# -- the official SDK ----------------------------------------------------------------------


def official_tasks(url: str, fleet: Fleet, csv_path: Path) -> list[Callable[[], None]]:
    """One blocking call per server job, each with this thread's own official clients."""
    from pingintel_api import PingDataAPIClient, SOVFixerAPIClient

    local = threading.local()

    def clients() -> tuple[Any, Any]:
        if not hasattr(local, "sov"):
            local.sov = SOVFixerAPIClient(api_url=url, auth_token=c.TOKEN)
            local.data = PingDataAPIClient(api_url=url, auth_token=c.TOKEN)
        return local.sov, local.data

    def update() -> None:
        clients()[0].update_sov(c.SEED_SOVID, [str(csv_path)])

    def output() -> None:
        result = clients()[0].get_or_create_output(c.SEED_SOVID, "JSON", overwrite_existing=True)
        assert result.get("url"), result

    locs = locations(fleet.locations)
    chunks = [locs[i : i + fleet.batch_size] for i in range(0, len(locs), fleet.batch_size)]

    def bulk(chunk: list[dict[str, Any]]) -> Callable[[], None]:
        def call() -> None:
            result = clients()[1].bulk_enhance(locations=chunk, sources=SOURCES)
            assert result["success"], result

        return call

    return [
        *(bulk(chunk) for chunk in chunks),
        *(update for _ in range(fleet.updates)),
        *(output for _ in range(fleet.outputs)),
    ]


def run_official_sequential(url: str, fleet: Fleet, csv_path: Path) -> float:
    tasks = official_tasks(url, fleet, csv_path)
    t0 = time.perf_counter()
    for task in tasks:
        task()
    return time.perf_counter() - t0


def run_official_threads(url: str, fleet: Fleet, csv_path: Path, threads: int) -> float:
    tasks = official_tasks(url, fleet, csv_path)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()
    return time.perf_counter() - t0


# -- the run -------------------------------------------------------------------------------


def requests_sent(emu: c.Emulator) -> int:
    stats = emu.stats()
    return sum(stats["requests_by_route"].values())


def ours_table(
    title: str, result: OursResult, fleet: Fleet, seconds: float, routes: dict[str, int]
) -> c.Table:
    t = c.Table(title)
    t.info("fleet", str(fleet))
    t.info("server job time (--job-seconds)", c.fmt_s(seconds))
    t.info("wall time", c.fmt_s(result.wall))
    t.info("last submission returned at", c.fmt_s(result.submitted))
    for kind, values in result.latencies.items():
        if values:
            t.info(
                f"{kind} latency / job time: median, max",
                f"{statistics.median(values) / seconds:.3f}, {max(values) / seconds:.3f}",
            )
    t.info("client CPU", c.fmt_s(result.cpu))
    t.info("API requests", f"{sum(routes.values()):,}")
    for route, n in sorted(routes.items(), key=lambda item: -item[1]):
        t.info(f"  {route}", f"{n:,}")
    polls = sum(n for route, n in routes.items() if route in STATUS_ROUTES)
    t.info("requests per job (all)", f"{sum(routes.values()) / fleet.jobs:.2f}")
    t.check("wall / server job time", result.wall / seconds, ".3f", "<=", 1.2)
    t.check("status polls per job", polls / fleet.jobs, ".2f", "<=", 4)
    return t


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--job-seconds", type=float, help="server time of each job (default 5; quick 1)")
    p.add_argument("--full-scale", type=float, help="the full fleet's scale (default 1; quick 0.1)")
    p.add_argument(
        "--scale", type=float, help="the sequential run's scale (default 0.1; quick 0.01)"
    )
    p.add_argument("--batch-size", type=int, default=1000, help="bulk locations per server job")
    p.add_argument("--threads", type=int, default=64, help="threads of the official SDK")
    p.add_argument("--skip-official", action="store_true", help="only our client, full fleet")
    p.add_argument(
        "--sweep",
        help="more job times for ours on the full fleet (default 10,20; quick none)",
    )
    args = p.parse_args()
    quick = args.quick
    seconds = args.job_seconds or (1.0 if quick else 5.0)
    full_scale = args.full_scale or (0.1 if quick else 1.0)
    scale = args.scale or (0.01 if quick else 0.1)
    sweep = [float(v) for v in (args.sweep or ("" if quick else "10,20")).split(",") if v]
    args.job_seconds, args.full_scale, args.scale, args.sweep = seconds, full_scale, scale, sweep
    c.header("bench_fleet", args)
    full = Fleet.scaled(full_scale, args.batch_size)
    small = Fleet.scaled(scale, args.batch_size)
    tables: list[c.Table] = []

    def progress(text: str) -> None:
        print(f".. {time.strftime('%H:%M:%S')} {text}", flush=True)

    with (
        c.emulator(seconds, "--max-locations", str(max(args.batch_size, 10_000))) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        csv_path = Path(tmp) / "update.csv"
        csv_path.write_bytes(c.UPDATE_CSV)

        progress(f"ours, fleet x{full_scale:g}")
        emu.reset_stats()
        ours_full = anyio.run(run_ours, emu.url, full)
        routes = emu.stats()["requests_by_route"]
        t = ours_table(f"our client, fleet x{full_scale:g}", ours_full, full, seconds, routes)
        t.print()
        tables.append(t)
        if args.skip_official:
            return c.finish(tables)

        progress(f"official SDK, {args.threads} threads, fleet x{full_scale:g}")
        emu.reset_stats()
        threads_full = run_official_threads(emu.url, full, csv_path, args.threads)
        threads_full_requests = requests_sent(emu)
        progress(f"ours, fleet x{scale:g}")
        emu.reset_stats()
        ours_small = anyio.run(run_ours, emu.url, small)
        ours_small_requests = requests_sent(emu)
        progress(f"official SDK, {args.threads} threads, fleet x{scale:g}")
        emu.reset_stats()
        threads_small = run_official_threads(emu.url, small, csv_path, args.threads)
        progress(f"official SDK sequential, fleet x{scale:g} (~{small.jobs * seconds:.0f} s)")
        emu.reset_stats()
        sequential = run_official_sequential(emu.url, small, csv_path)
        sequential_requests = requests_sent(emu)

    if sweep:
        t = c.Table(f"our client, fleet x{full_scale:g}, other job times")
        for other in sweep:
            progress(f"ours, fleet x{full_scale:g}, job time {other:g} s")
            with c.emulator(other, "--max-locations", str(max(args.batch_size, 10_000))) as emu:
                result = anyio.run(run_ours, emu.url, full)
            t.info(f"job time {other:g} s: wall", c.fmt_s(result.wall))
            t.info(f"job time {other:g} s: last submission returned at", c.fmt_s(result.submitted))
            t.check(f"job time {other:g} s: wall / job time", result.wall / other, ".3f", "<=", 1.2)
        print()
        t.print()
        tables.append(t)

    t = c.Table(f"ours vs the official SDK (pingintel-api), {args.threads} threads")
    t.info("fleet", str(full))
    t.info("ours: wall", c.fmt_s(ours_full.wall))
    t.info(f"official, {args.threads} threads: wall", c.fmt_s(threads_full))
    t.info(
        "API requests: ours / official",
        f"{sum(routes.values()):,} / {threads_full_requests:,}",
    )
    t.check(f"speed-up vs {args.threads} threads", threads_full / ours_full.wall, ".2f", ">=", 3)
    print()
    t.print()
    tables.append(t)

    t = c.Table("ours vs the official SDK (pingintel-api), sequential")
    t.info("fleet", str(small))
    t.info("ours: wall", c.fmt_s(ours_small.wall))
    t.info("official, sequential: wall", c.fmt_s(sequential))
    t.info(f"official, {args.threads} threads: wall (info)", c.fmt_s(threads_small))
    t.info("API requests: ours / official", f"{ours_small_requests:,} / {sequential_requests:,}")
    t.check("speed-up vs sequential", sequential / ours_small.wall, ".1f", ">=", 20)
    print()
    t.print()
    tables.append(t)
    return c.finish(tables)


if __name__ == "__main__":
    sys.exit(main())
