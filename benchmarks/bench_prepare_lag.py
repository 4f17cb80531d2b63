"""Event-loop lag while a bulk run of 1,000,000 locations is prepared (issue 13).

``prepare_batches`` (validate every location, write one batch body per 1,000) runs on the
loop beside a sampler task that sleeps 1 ms again and again and records how late it
wakes: the longest time the preparation held the loop in one piece. Inputs: a CSV file
(read a slice at a time in a worker thread), the same CSV as bytes, and a list of dicts.
No emulator and no network: this is the client's own CPU work. Target: max lag < 20 ms.

On a machine shared with other work the process is also descheduled now and then, which
looks like lag but is not the preparation's doing: each sample therefore also records the
CPU time this thread spent during it, and "max busy lag" is the longest overshoot during
which the thread was running (its CPU time >= 80% of the wall time), the figure the
target applies to. Garbage-collector pauses are reported beside it.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _common as c
import anyio

from sovfixer_async._bulk import BulkOptions, prepare_batches


def rows(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "id": f"loc-{i}",
            "address": f"{i} main st, miami, fl",
            "latitude": "25.79",
            "longitude": "-80.14",
            "country": "US",
        }


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "address", "latitude", "longitude", "country"])
        writer.writeheader()
        writer.writerows(rows(n))


PERIOD = 0.001


async def prepare(locations: Any, work_dir: Path) -> dict[str, Any]:
    lags: list[float] = []
    busy: list[float] = []  # overshoots during which this thread was on the CPU
    done = False

    async def sampler() -> None:
        while not done:
            wall, cpu = time.perf_counter(), time.thread_time()
            await anyio.sleep(PERIOD)
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            lag = max(0.0, wall - PERIOD)
            lags.append(lag)
            if cpu >= 0.8 * wall:
                busy.append(lag)

    with c.GcPauses() as gc_pauses:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sampler)
            await anyio.sleep(0.01)
            t0 = time.perf_counter()
            options = BulkOptions(sources=("PG",))
            paths = await prepare_batches(locations, options, 1000, work_dir)
            seconds = time.perf_counter() - t0
            done = True
    return {
        "seconds": seconds,
        "batches": len(paths),
        "max": max(lags),
        "p99": c.percentile(lags, 99),
        "busy_max": max(busy, default=0.0),
        "gc": gc_pauses.summary(2),
    }


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--locations", type=int, default=None, help="default 1,000,000 (quick 200,000)")
    args = p.parse_args()
    n = args.locations or (200_000 if args.quick else 1_000_000)
    c.header("bench_prepare_lag", args)
    t = c.Table(f"loop lag while preparing {n:,} locations (batches of 1,000)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "locations.csv"
        write_csv(source, n)
        inputs: list[tuple[str, Callable[[], Any]]] = [
            ("CSV file", lambda: source),
            ("CSV bytes", source.read_bytes),
            ("list of dicts", lambda: list(rows(n))),
        ]
        for name, make in inputs:
            work = Path(tmp) / name.replace(" ", "_")
            work.mkdir()
            figures = anyio.run(prepare, make(), work)
            assert figures["batches"] == -(-n // 1000)
            t.info(
                f"{name}: time, locations/s",
                f"{figures['seconds']:.1f} s, {n / figures['seconds']:,.0f}/s",
            )
            t.info(
                f"{name}: lag p99 / max (any cause)",
                f"{figures['p99'] * 1000:.1f} / {figures['max'] * 1000:.1f} ms",
            )
            t.info(f"{name}: full GC pauses", str(figures["gc"]))
            t.check(f"{name}: max busy lag (ms)", figures["busy_max"] * 1000, ".1f", "<", 20)
    t.print()
    return c.finish([t])


if __name__ == "__main__":
    sys.exit(main())
