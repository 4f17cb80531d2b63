"""Downloads: throughput of ``download()`` against a plain aiohttp loop, and RSS growth.

The emulator runs in another process with ``--output-bytes N``; this process fetches the
same output (a) with a plain aiohttp loop (``iter_chunked`` + ``f.write``), (b) with the
same loop plus what ``download()`` promises on top (sha256 and fsync), and (c) with
``download()``, alternating round by round. Targets: (c)/(a) >= 0.9 and peak RSS growth
of a ``download()`` < 32 MB at 1 GB (VmRSS sampled every 10 ms in a thread).

    python benchmarks/bench_downloads.py                 # 1 GB, 3 rounds
    python benchmarks/bench_downloads.py --size 200e6 --rounds 2
    python benchmarks/bench_downloads.py --chunk-sizes 65536,262144,1048576
    python benchmarks/bench_downloads.py --fast-server   # a source faster than the emulator

The emulator answers a download with one ``web.Response`` holding the whole body, which
Python 3.11's asyncio sends at a few hundred MB/s at best, so with it the figures mostly
measure the emulator. ``--fast-server`` serves the same size from a minimal aiohttp server
(another process too) that streams 1 MiB writes, to show the client's own costs.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import _common as c
import aiohttp
import anyio

from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._downloads import DEFAULT_CHUNK_SIZE, download
from sovfixer_async._transport import Transport

FAST_SERVER = """
import asyncio, hashlib, os, sys
from aiohttp import web
data = os.urandom(int(sys.argv[1]))
etag = '"%s"' % hashlib.sha256(data).hexdigest()
async def handle(request):
    response = web.StreamResponse(headers={"ETag": etag, "Accept-Ranges": "bytes"})
    response.content_length = len(data)
    await response.prepare(request)
    view = memoryview(data)
    for start in range(0, len(data), 1 << 20):
        await response.write(view[start:start + (1 << 20)])
    return response
async def main():
    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


@contextmanager
def fast_server(size: int) -> Iterator[tuple[str, Callable[[], float]]]:
    """The minimal streaming server in another process: (output URL, its CPU seconds)."""
    process = subprocess.Popen(
        [sys.executable, "-c", FAST_SERVER, str(size)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()

        def cpu() -> float:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        yield url + "/api/v1/sov/s-1/output/out.json", cpu
    finally:
        process.terminate()
        process.wait()


@contextmanager
def source(fast: bool, size: int) -> Iterator[tuple[str, str, Callable[[], float]]]:
    """(base URL, output URL or "" to ask the emulator for one, server CPU clock)."""
    if fast:
        with fast_server(size) as (url, cpu):
            yield url.split("/api/")[0], url, cpu
    else:
        with c.emulator(0.1, "--output-bytes", str(size)) as emu:
            yield emu.url, "", emu.cpu_seconds


Runner = Callable[[Path], Awaitable[None]]
#: Emulator CPU seconds per run, by runner (the server's cost depends on how fast the
#: client drains the socket).
SERVER_CPU: dict[Runner, list[float]] = {}


async def output_url(transport: Transport) -> str:
    """Ask for the seed SOV's JSON output and wait until its URL is ready."""
    created = await transport.request(
        "POST",
        "extraction",
        f"/api/v1/sov/{c.SEED_SOVID}/get_or_create_output",
        json={"output_format": "json"},
    )
    body = created.json()
    while body["request"]["status"] not in ("COMPLETE", "FAILED"):
        await anyio.sleep(0.05)
        path = f"/api/v1/sov/get_or_create_output/{body['request']['id']}"
        body = (await transport.request("GET", "extraction", path)).json()
    result = body["result"]
    if isinstance(result, list):
        result = result[0]
    return str(result["url"])


def plain_loop(session: aiohttp.ClientSession, url: str, chunk: int, durable: bool) -> Runner:
    """The hand-written baseline; ``durable`` adds the sha256 and fsync download() does."""

    async def run(path: Path) -> None:
        headers = {"Authorization": f"Token {c.TOKEN}", "Accept-Encoding": "identity"}
        digest = hashlib.sha256()
        async with session.get(url, headers=headers) as resp:
            resp.raise_for_status()
            with open(path, "wb") as f:  # noqa: ASYNC230 - the baseline writes on the loop
                async for data in resp.content.iter_chunked(chunk):
                    if durable:
                        digest.update(data)
                    f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())

    return run


def sdk(transport: Transport, url: str, chunk: int) -> Runner:
    async def run(path: Path) -> None:
        await download(transport, url, path, overwrite=True, chunk_size=chunk)

    return run


async def timed(runner: Runner, path: Path, size: int, server_cpu: Callable[[], float]) -> float:
    """MB/s of one run; the file is then deleted and the page cache flushed (not timed)."""
    cpu = server_cpu()
    start = time.perf_counter()
    await runner(path)
    elapsed = time.perf_counter() - start
    SERVER_CPU.setdefault(runner, []).append(server_cpu() - cpu)
    actual = path.stat().st_size
    if actual != size:
        raise RuntimeError(f"{path} has {actual} bytes, expected {size}")
    path.unlink()
    await anyio.to_thread.run_sync(os.sync)  # writeback of one run must not slow the next
    return size / elapsed / 1e6


async def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--size", type=float, default=1e9, help="output size in bytes (default 1e9)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per variant (default 3)")
    p.add_argument(
        "--fast-server", action="store_true", help="a minimal streaming server, not the emulator"
    )
    p.add_argument(
        "--chunk-sizes",
        default=str(DEFAULT_CHUNK_SIZE),
        help=f"comma-separated chunk sizes to compare (default {DEFAULT_CHUNK_SIZE})",
    )
    args = p.parse_args()
    if args.quick:
        args.size, args.rounds = min(args.size, 200e6), min(args.rounds, 2)
    size = int(args.size)
    chunks = [int(x) for x in args.chunk_sizes.split(",")]
    c.header("bench_downloads", args)

    tables: list[c.Table] = []
    with (
        source(args.fast_server, size) as (base, url, server_cpu),
        tempfile.TemporaryDirectory(
            dir=Path(__file__).resolve().parent.parent, prefix=".bench-downloads-"
        ) as tmp,
    ):
        cfg = ClientConfig(
            api_url=base, data_api_url=base, token=c.TOKEN, retry=RetryPolicy.no_wait()
        )
        transport = Transport(cfg)
        await transport.open()
        try:
            url = url or await output_url(transport)
            target = Path(tmp) / "out.json"

            # Memory first, on this process's very first download: nothing warmed up yet.
            before = c.rss_bytes()
            with c.RssSampler(0.01) as rss:
                first = await download(transport, url, target, overwrite=True)
            growth = rss.peak - before
            if first.size < size:
                raise RuntimeError(f"the output has {first.size} bytes, expected >= {size}")
            size = first.size  # padding may round up
            target.unlink()
            await anyio.to_thread.run_sync(os.sync)

            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_read=120)
            ) as session:
                rates: dict[str, list[float]] = {}
                cpu: dict[str, float] = {}
                variants: dict[str, Runner] = {}
                for chunk in chunks:
                    kib = chunk // 1024
                    variants[f"plain loop, chunk {kib} KiB"] = plain_loop(
                        session, url, chunk, durable=False
                    )
                    variants[f"plain loop + sha256 + fsync, chunk {kib} KiB"] = plain_loop(
                        session, url, chunk, durable=True
                    )
                    variants[f"download(), chunk {kib} KiB"] = sdk(transport, url, chunk)
                for runner in variants.values():  # warm-up: connections, threads, caches
                    await timed(runner, target, size, server_cpu)
                SERVER_CPU.clear()
                # Every round runs every variant, so a change in background load hits all.
                for _ in range(args.rounds):
                    for name, runner in variants.items():
                        rate = await timed(runner, target, size, server_cpu)
                        rates.setdefault(name, []).append(rate)
                for name, runner in variants.items():
                    cpu[name] = statistics.median(SERVER_CPU[runner])
        finally:
            await transport.close()

    what = "a minimal streaming server" if args.fast_server else "the emulator"
    table = c.Table(f"download of {size / 1e6:.0f} MB from {what} (another process)")
    for name, values in rates.items():
        table.info(
            f"{name}: MB/s median (min..max of {len(values)})",
            f"{statistics.median(values):.0f} ({min(values):.0f}..{max(values):.0f})",
        )
        table.info("  server CPU per run (median)", f"{cpu[name]:.2f} s")
    for chunk in chunks:
        kib = chunk // 1024
        ours = rates[f"download(), chunk {kib} KiB"]
        plain = rates[f"plain loop, chunk {kib} KiB"]
        durable = rates[f"plain loop + sha256 + fsync, chunk {kib} KiB"]
        # Ratios within each round (runs seconds apart), then their median: steadier than
        # a ratio of medians when other processes share the machine.
        ratio = statistics.median(a / b for a, b in zip(ours, plain, strict=True))
        equal_work = statistics.median(a / b for a, b in zip(ours, durable, strict=True))
        metric = f"download() / plain loop, chunk {kib} KiB (median of per-round ratios)"
        if chunk == DEFAULT_CHUNK_SIZE or len(chunks) == 1:
            table.check(metric, ratio, ".2f", ">=", 0.9)
        else:
            table.info(metric, f"{ratio:.2f}")
        table.info(f"download() / (plain + sha256 + fsync), chunk {kib} KiB", f"{equal_work:.2f}")
    table.check(f"peak RSS growth, download() of {size / 1e6:.0f} MB", growth / 1e6, ".1f", "<", 32)
    tables.append(table)
    table.print()
    return c.finish(tables)


if __name__ == "__main__":
    sys.exit(anyio.run(main))
