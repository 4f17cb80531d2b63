"""10,000 job handles waiting at once: memory per waiting job and event-loop lag.

The emulator runs jobs for an hour, so nothing finishes. A few hundred output requests are
created, and ``client.resume(token)`` turns their tokens into 10,000 live handles (each
with its own id string, poller and status), every one awaited by a task of its own.

* Baseline: 10,000 bare tasks awaiting an ``anyio.Event`` -- what the caller's own waiting
  tasks cost, whatever they wait for.
* Phase 1 (no tracing): the handles wait and poll for ``--window`` seconds. A probe task
  sleeps 10 ms again and again and records how late it wakes, from the moment every wait
  has started (after a short settle) to the end; RSS growth is taken at the end and every
  garbage collection is timed. Targets: loop lag p99 < 20 ms; <= 10 KB per waiting job
  for the SDK's share (handle + poller: the total less the bare waiting task).
* Phase 0 (burst): ``--burst`` (5,000) output requests submitted at once, each then
  waited on; the loop lag from the first submission to ``--burst-window`` s after the
  last submission returned (target p99 < 20 ms), polls per job meanwhile; the samples
  over 20 ms while submitting and after, and the full collections among them. Before it,
  the caller's own share: the lag while 5,000 bare tasks are started at once (no client
  can spare its user that one stall).
* Phase 2 (tracemalloc): the same for another 10,000 handles, with the Python memory
  traced per handle and where it goes.

``--gc-freeze`` calls ``gc.freeze()`` once every wait has started, ``--gc-threshold N``
sets the youngest generation's threshold: application-level remedies for long full
collections, not the default.
"""

from __future__ import annotations

import gc
import math
import sys
import time
import tracemalloc
from typing import Any

import _common as c
import anyio

from sovfixer_async._client import Client

#: Seconds between starting the waits and the start of the measured window.
SETTLE = 2.0


async def make_tokens(client: Client, count: int) -> list[str]:
    """``count`` long-running output requests; their resume tokens."""
    tokens: list[str] = []

    async def one() -> None:
        job = await client.get_or_create_output(c.SEED_SOVID, "JSON", overwrite_existing=True)
        tokens.append(job.token)

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
    return tokens


async def bare_tasks(count: int) -> tuple[float, float]:
    """(RSS, traced) bytes per bare task awaiting an event."""
    event = anyio.Event()
    gc.collect()
    rss0 = c.rss_bytes()
    tracemalloc.start(1)
    try:
        traced0 = tracemalloc.get_traced_memory()[0]
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(event.wait)
            await anyio.sleep(0.5)
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] - traced0
            rss = c.rss_bytes() - rss0
            event.set()
    finally:
        tracemalloc.stop()
    # tracemalloc's own bookkeeping inflates RSS: count RSS again without it.
    event = anyio.Event()
    gc.collect()
    rss0 = c.rss_bytes()
    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(event.wait)
        await anyio.sleep(0.5)
        gc.collect()
        rss = c.rss_bytes() - rss0
        event.set()
    return rss / count, traced / count


async def waiting(
    client: Client, tokens: list[str], count: int, window: float, freeze: bool
) -> dict[str, Any]:
    """Resume ``count`` handles, wait on all of them for ``window`` seconds, then stop."""
    gc.collect()
    rss0 = c.rss_bytes()
    traced0 = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    out: dict[str, Any] = {}
    with c.GcPauses() as pauses:
        async with c.LagProbe() as probe, anyio.create_task_group() as tg:
            spawn = time.perf_counter()
            handles = [client.resume(tokens[i % len(tokens)]) for i in range(count)]
            for handle in handles:
                tg.start_soon(handle.wait, math.inf)
            await anyio.sleep(SETTLE)
            if freeze:
                gc.freeze()
            pauses.pauses.clear()
            start = time.perf_counter()
            requests0, cpu0 = client.stats.requests, time.process_time()
            await anyio.sleep(window)
            out["cpu"] = time.process_time() - cpu0
            out["polls"] = client.stats.requests - requests0
            out["elapsed"] = time.perf_counter() - start
            out["spawn_lag"] = probe.lags(spawn, start)
            out["lag"] = probe.lags(start)
            third = out["elapsed"] / 3
            out["lag_thirds"] = [
                probe.lags(start + i * third, start + (i + 1) * third) for i in range(3)
            ]
            out["gc"] = c.GcPauses()
            out["gc"].pauses = list(pauses.pauses)
            gc.collect()
            out["rss"] = (c.rss_bytes() - rss0) / count
            if tracemalloc.is_tracing():
                out["traced"] = (tracemalloc.get_traced_memory()[0] - traced0) / count
                out["snapshot"] = tracemalloc.take_snapshot()
            out["seen"] = sum(1 for h in handles if h.status is not None)
            out["done"] = sum(1 for h in handles if h.done)
            tg.cancel_scope.cancel()
    if freeze:
        gc.unfreeze()
    del handles
    return out


async def bare_spawn(count: int) -> list[float]:
    """The caller's own share of a burst: the loop lag while ``count`` bare tasks are
    started at once and each awaits an event (what any client's user pays to start them)."""
    event = anyio.Event()
    async with c.LagProbe() as probe, anyio.create_task_group() as tg:
        start = time.perf_counter()
        for _ in range(count):
            tg.start_soon(event.wait)
        await anyio.sleep(0.3)
        event.set()
    return probe.lags(start)


async def burst(url: str, count: int, window: float) -> c.Table:
    """``count`` output requests submitted at once, each then waited on by its task; the
    loop lag from the first submission to ``window`` s after the last one returned."""
    bare = await bare_spawn(count)
    gc.collect()
    submitted: list[float] = []
    all_in = anyio.Event()
    async with Client(api_url=url, data_api_url=url, token=c.TOKEN) as client:
        with c.GcPauses() as pauses:
            async with c.LagProbe() as probe, anyio.create_task_group() as tg:

                async def one() -> None:
                    job = await client.get_or_create_output(
                        c.SEED_SOVID, "JSON", overwrite_existing=True
                    )
                    submitted.append(time.perf_counter())
                    if len(submitted) == count:
                        all_in.set()
                    await job.wait(math.inf)

                start = time.perf_counter()
                for _ in range(count):
                    tg.start_soon(one)
                await all_in.wait()
                last = time.perf_counter()
                requests0 = client.stats.requests
                await anyio.sleep(window)
                end = time.perf_counter()
                polls = client.stats.requests - requests0
                tg.cancel_scope.cancel()
            stats = client.stats
    t = c.Table(f"{count:,} jobs submitted at once and waiting (lag from the first submission)")
    t.info("submissions returned within", f"{last - start:.2f} s")
    t.info("requests / 429s", f"{stats.requests:,} / {stats.by_status[429]:,}")
    t.info(f"status polls in the {window:g} s after", f"{polls:,} ({polls / count:.2f} per job)")
    t.info("loop lag p50 / p99 / max, submitting", _ms(probe.lags(start, last)))
    t.info(f"loop lag p50 / p99 / max, {window:g} s after", _ms(probe.lags(last, end)))
    t.info("samples over 20 ms: submitting / after", _over(probe, start, last, end, 0.020))
    t.info(
        f"  the caller's share: {count:,} bare tasks started, max lag", _ms(bare).split("/ ")[-1]
    )
    t.info("full collections (gen 2): n, total, max", pauses.summary(2))
    t.info("  of which while submitting", _gc_between(pauses, start, last))
    t.check(
        "loop lag p99 from the first submission (ms)",
        c.percentile(probe.lags(start, end), 99) * 1e3,
        ".1f",
        "<",
        20,
    )
    return t


async def run(
    url: str, count: int, distinct: int, window: float, traced_window: float, freeze: bool
) -> list[c.Table]:
    bare_rss, bare_traced = await bare_tasks(count)
    async with Client(api_url=url, data_api_url=url, token=c.TOKEN) as client:
        tokens = await make_tokens(client, distinct)
        first = await waiting(client, tokens, count, window, freeze)
        gc.collect()
        tracemalloc.start(1)
        try:
            second = await waiting(client, tokens, count, traced_window, freeze)
        finally:
            tracemalloc.stop()

    title = (
        f"{count:,} handles waiting, {first['elapsed']:.0f} s measured after a {SETTLE:g} s settle"
    )
    t = c.Table(title + (" (gc.freeze)" if freeze else ""))
    t.info("handles polled at least once", f"{first['seen']:,} / {count:,}")
    rate = first["polls"] / first["elapsed"]
    t.info("status polls (per second)", f"{first['polls']:,} ({rate:.0f}/s)")
    t.info("client CPU (share of one core)", f"{first['cpu'] / first['elapsed']:.0%}")
    t.info("loop lag while starting the waits: max", f"{max(first['spawn_lag']) * 1e3:.0f} ms")
    t.info("loop lag p50 / p99 / max, window", _ms(first["lag"]))
    third = first["elapsed"] / 3
    for i, lags in enumerate(first["lag_thirds"]):
        t.info(f"  from {i * third:.0f} to {(i + 1) * third:.0f} s", _ms(lags))
    t.info("full collections (gen 2): n, total, max", first["gc"].summary(2))
    t.info("gen 1 collections", first["gc"].summary(1))
    t.check("loop lag p99, window (ms)", c.percentile(first["lag"], 99) * 1e3, ".1f", "<", 20)
    t.info("RSS per waiting job, total (KB)", f"{first['rss'] / 1e3:.2f}")
    t.info("RSS per bare waiting task (KB)", f"{bare_rss / 1e3:.2f}")
    t.check("RSS per waiting job, SDK share (KB)", (first["rss"] - bare_rss) / 1e3, ".2f", "<=", 10)

    t2 = c.Table(f"{count:,} handles waiting {second['elapsed']:.0f} s under tracemalloc")
    t2.info("handles polled at least once", f"{second['seen']:,} / {count:,}")
    t2.info("traced per waiting job, total (KB)", f"{second['traced'] / 1e3:.2f}")
    t2.info("traced per bare waiting task (KB)", f"{bare_traced / 1e3:.2f}")
    t2.check(
        "traced per waiting job, SDK share (KB)",
        (second["traced"] - bare_traced) / 1e3,
        ".2f",
        "<=",
        10,
    )
    for stat in second["snapshot"].statistics("lineno")[:10]:
        frame = stat.traceback[0]
        t2.info(f"  {_short(frame.filename)}:{frame.lineno}", f"{stat.size / count:.0f} B/job")
    return [t, t2]


def _over(probe: c.LagProbe, start: float, last: float, end: float, limit: float) -> str:
    """How many probe samples lagged more than ``limit``, while submitting and after."""
    during, after = probe.lags(start, last), probe.lags(last, end)
    return (
        f"{sum(x > limit for x in during)} of {len(during)} / "
        f"{sum(x > limit for x in after)} of {len(after)}"
    )


def _gc_between(pauses: c.GcPauses, start: float, end: float) -> str:
    """Full collections that ended between ``start`` and ``end``: count and each (ms)."""
    inside = [d for g, d, at in pauses.timed if g == 2 and start <= at <= end]
    return f"{len(inside)}: " + ", ".join(f"{d * 1e3:.0f}" for d in inside) + " ms"


def _short(path: str) -> str:
    for marker in ("site-packages/", "/sovfixer_async/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _ms(lags: list[float]) -> str:
    if not lags:
        return "n/a"
    return (
        f"{c.percentile(lags, 50) * 1e3:.1f} / {c.percentile(lags, 99) * 1e3:.1f} / "
        f"{max(lags) * 1e3:.0f} ms"
    )


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--handles", type=int, default=10_000, help="handles waiting at once")
    p.add_argument("--distinct", type=int, help="server jobs behind them (default 500; quick 100)")
    p.add_argument("--window", type=float, help="seconds measured (default 90; quick 20)")
    p.add_argument("--traced-window", type=float, help="with tracemalloc (default 30; quick 8)")
    p.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once waits started")
    p.add_argument(
        "--gc-threshold", type=int, help="gc.set_threshold(N) first (CPython default 700)"
    )
    p.add_argument("--burst", type=int, default=5_000, help="jobs submitted at once first")
    p.add_argument("--burst-window", type=float, default=20.0, help="seconds after the burst")
    p.add_argument("--burst-only", action="store_true", help="only the burst of submissions")
    args = p.parse_args()
    distinct = args.distinct or (100 if args.quick else 500)
    window = args.window or (20.0 if args.quick else 90.0)
    traced_window = args.traced_window or (8.0 if args.quick else 30.0)
    c.header("bench_waiting", args)
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
    with c.emulator(3600) as emu:
        tables = [anyio.run(burst, emu.url, args.burst, args.burst_window)]
        if not args.burst_only:
            tables += anyio.run(
                run, emu.url, args.handles, distinct, window, traced_window, args.gc_freeze
            )
    for t in tables:
        t.print()
        print()
    return c.finish(tables)


if __name__ == "__main__":
    sys.exit(main())
