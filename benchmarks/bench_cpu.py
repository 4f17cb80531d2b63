"""Client CPU per request: status GETs through our client vs a hand-written aiohttp loop.

Both do the same N status GETs of long-running output requests, with the same number of
concurrent workers (64) and the same connection limit, in this process; the emulator runs
in another. CPU is this process's own (``time.process_time``), so the server's work is not
counted. Three variants are timed, alternately, several times (the best of each is kept):

* ``aiohttp``: ``session.get`` with the Authorization header, ``read()``, ``json.loads``;
* ``transport``: our ``Transport.request`` alone (limiter, retries, error mapping), plus
  ``json.loads`` (informational, to split the cost);
* ``refresh``: ``job.refresh()`` on the handles: transport + typed status model + events.

Target: refresh / aiohttp <= 1.5.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable

import _common as c
import aiohttp
import anyio

from sovfixer_async._client import Client
from sovfixer_async._jobs import OutputJob

WORKERS = 64


async def timed(n: int, one: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """(CPU µs per request, wall s) for ``n`` calls of ``one(i)`` spread over the workers."""
    per_worker = n // WORKERS

    async def worker(w: int) -> None:
        for i in range(per_worker):
            await one(w + i * WORKERS)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for w in range(WORKERS):
            tg.start_soon(worker, w)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / (per_worker * WORKERS) * 1e6, wall


async def run(url: str, n: int, repeats: int) -> c.Table:
    results: dict[str, list[tuple[float, float]]] = {"aiohttp": [], "transport": [], "refresh": []}
    async with Client(
        api_url=url, data_api_url=url, token=c.TOKEN, max_connections=WORKERS
    ) as client:
        handles: list[OutputJob] = []
        for _ in range(WORKERS):
            handles.append(
                await client.get_or_create_output(c.SEED_SOVID, "JSON", overwrite_existing=True)
            )
        paths = [f"/api/v1/sov/get_or_create_output/{h.id}" for h in handles]
        urls = [url + p for p in paths]
        transport = client._transport

        connector = aiohttp.TCPConnector(limit=WORKERS, limit_per_host=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            headers = {"Authorization": f"Token {c.TOKEN}", "Accept-Encoding": "gzip"}

            async def raw(i: int) -> None:
                async with session.get(urls[i % WORKERS], headers=headers) as resp:
                    body = await resp.read()
                    resp.raise_for_status()
                json.loads(body)

            async def via_transport(i: int) -> None:
                response = await transport.request("GET", "extraction", paths[i % WORKERS])
                response.json()

            async def refresh(i: int) -> None:
                await handles[i % WORKERS].refresh()

            variants: dict[str, Callable[[int], Awaitable[None]]] = {
                "aiohttp": raw,
                "transport": via_transport,
                "refresh": refresh,
            }
            for fn in variants.values():  # warm up: connections, caches, code paths
                await timed(WORKERS * 10, fn)
            for _ in range(repeats):
                for name, fn in variants.items():
                    results[name].append(await timed(n, fn))

    best = {name: min(runs) for name, runs in results.items()}
    t = c.Table(f"client CPU per status GET ({n:,} GETs x {repeats}, {WORKERS} workers; best run)")
    for name in results:
        cpu, wall = best[name]
        t.info(f"{name}: CPU per request", f"{cpu:.1f} µs ({n / wall:.0f} req/s)")
    t.info(
        "all runs (µs): " + ", ".join(results),
        "; ".join("/".join(f"{cpu:.0f}" for cpu, _ in runs) for runs in results.values()),
    )
    t.info("transport / aiohttp", f"{best['transport'][0] / best['aiohttp'][0]:.2f}")
    t.check("refresh / aiohttp", best["refresh"][0] / best["aiohttp"][0], ".2f", "<=", 1.5)
    return t


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, help="GETs per timed run (default 20,000; quick 5,000)")
    p.add_argument("--repeats", type=int, help="timed runs per variant (default 3; quick 2)")
    args = p.parse_args()
    n = args.requests or (5_000 if args.quick else 20_000)
    repeats = args.repeats or (2 if args.quick else 3)
    c.header("bench_cpu", args)
    with c.emulator(3600) as emu:
        table = anyio.run(run, emu.url, n, repeats)
    table.print()
    return c.finish([table])


if __name__ == "__main__":
    sys.exit(main())
