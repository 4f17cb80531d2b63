"""A 100,000-location bulk-enhance run end to end, and the peak RSS of this process.

Submits the locations (a CSV file by default; ``--input rows`` passes a list of dicts
built beforehand, ``--input generator`` a generator of dicts), waits for every batch,
then iterates every result. RSS is sampled every 10 ms in a thread, and the kernel's own
peak (``ru_maxrss``) is printed beside it. Target: peak RSS < 200 MB.
"""

from __future__ import annotations

import csv
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common as c
import anyio

from sovfixer_async._client import Client


def rows(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"id": f"loc-{i}", "address": f"{i} main st, miami, fl", "country": "US"}


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "address", "country"])
        writer.writeheader()
        writer.writerows(rows(n))


async def run(
    url: str, locations: Any, n: int, batch_size: int, sampler: c.RssSampler
) -> dict[str, float]:
    times: dict[str, float] = {}
    async with Client(api_url=url, data_api_url=url, token=c.TOKEN) as client:
        t0 = time.perf_counter()
        bulk_run = await client.bulk_enhance(locations, sources=["PG", "PH"], batch_size=batch_size)
        times["submit"] = time.perf_counter() - t0
        times["rss_after_submit"] = sampler.peak
        await bulk_run.wait()
        times["wait"] = time.perf_counter() - t0 - times["submit"]
        times["rss_after_wait"] = sampler.peak
        count = 0
        t1 = time.perf_counter()
        async for _location_id, _results in bulk_run.results():
            count += 1
        times["iterate"] = time.perf_counter() - t1
        times["results"] = count
        times["batches"] = len(bulk_run.batches)
        times["total"] = time.perf_counter() - t0
    return times


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--locations", type=int, help="default 100,000; quick 20,000")
    p.add_argument("--batch-size", type=int, default=1000, help="locations per server job")
    p.add_argument("--input", choices=("csv", "rows", "generator"), default="csv")
    p.add_argument("--job-seconds", type=float, default=2.0)
    args = p.parse_args()
    n = args.locations or (20_000 if args.quick else 100_000)
    c.header("bench_bulk_memory", args)
    with (
        tempfile.TemporaryDirectory() as tmp,
        c.emulator(args.job_seconds, "--max-locations", str(args.batch_size)) as emu,
    ):
        locations: Any
        if args.input == "csv":
            locations = Path(tmp) / "locations.csv"
            write_csv(locations, n)
        elif args.input == "rows":
            locations = list(rows(n))
        else:
            locations = rows(n)
        with c.RssSampler() as sampler:
            times = anyio.run(run, emu.url, locations, n, args.batch_size, sampler)
        stats = emu.stats()
    peak_kernel = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = c.Table(f"bulk run of {n:,} locations ({args.input}, {int(times['batches'])} batches)")
    t.info("results iterated", f"{int(times['results']):,}")
    t.info("locations the server got", f"{stats['locations_submitted']:,}")
    t.info(
        "submit / wait+merge / iterate",
        f"{times['submit']:.1f} s / {times['wait']:.1f} s / {times['iterate']:.1f} s",
    )
    t.info("RSS at start", c.fmt_mb(sampler.start_rss))
    t.info(
        "peak RSS after submit / after wait",
        f"{c.fmt_mb(times['rss_after_submit'])} / {c.fmt_mb(times['rss_after_wait'])}",
    )
    t.info("peak RSS (kernel ru_maxrss)", c.fmt_mb(peak_kernel))
    t.info("RSS growth (peak - start)", c.fmt_mb(sampler.peak - sampler.start_rss))
    ok = int(times["results"]) == n
    t.rows.append(c.Row("every location has a result", "yes" if ok else "no", "yes", ok))
    t.check("peak RSS (MB)", max(sampler.peak, peak_kernel) / 1e6, ".1f", "<", 200)
    t.print()
    return c.finish([t])


if __name__ == "__main__":
    sys.exit(main())
