"""Shared pieces of the benchmarks: the emulator in another process, RSS sampling,
an event-loop lag probe, percentiles and the result table.

Every benchmark runs the emulator as a separate process (``python -m
sovfixer_async.emulator``), so the figures measure this process (the client) alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python benchmarks/bench_x.py` from anywhere
    sys.path.insert(0, str(REPO))

#: The seeded SOV every emulator starts with.
SEED_SOVID = "s-no-ping-hggcsk"
#: A one-row update that names an existing building (the job succeeds).
UPDATE_CSV = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n"
TOKEN = "bench-token"


# -- the emulator, in another process ------------------------------------------------------


@dataclass
class Emulator:
    """A running emulator process: its base URL and how to read its counters."""

    url: str
    process: subprocess.Popen[bytes]
    args: list[str]

    def stats(self) -> dict[str, Any]:
        """``GET /_emulator/stats``."""
        with urllib.request.urlopen(self.url + "/_emulator/stats", timeout=30) as r:
            data: dict[str, Any] = json.load(r)
            return data

    def reset_stats(self) -> None:
        """``POST /_emulator/stats/reset``."""
        req = urllib.request.Request(self.url + "/_emulator/stats/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30):
            pass

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator process has used so far (from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


@contextmanager
def emulator(
    job_seconds: float, *extra: str, seed: int = 1, startup_timeout: float = 30.0
) -> Iterator[Emulator]:
    """Start ``python -m sovfixer_async.emulator --port 0`` and stop it (SIGINT) on exit.

    ``seed`` seeds its dice (job durations are drawn in submission order from a stream of
    their own): two fresh emulators with one seed give the same durations in that order.
    """
    args = [
        sys.executable,
        "-m",
        "sovfixer_async.emulator",
        "--port",
        "0",
        "--job-seconds",
        str(job_seconds),
        "--seed",
        str(seed),
        *extra,
    ]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=errors, cwd=REPO, start_new_session=True
        )
        try:
            url = _read_url(process, startup_timeout)
            if url is None:
                process.kill()
                process.wait()
                errors.seek(0)
                raise RuntimeError(
                    "the emulator did not start:\n"
                    + errors.read().decode("utf-8", "replace")[-3000:]
                )
            yield Emulator(url, process, args)
        finally:
            _stop(process)


def _read_url(process: subprocess.Popen[bytes], timeout: float) -> str | None:
    assert process.stdout is not None
    found: list[str] = []
    reader = threading.Thread(
        target=lambda: found.append(process.stdout.readline().decode().strip()),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    reader.join(timeout)
    if not found or not found[0].startswith("http"):
        return None
    return found[0]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


# -- memory --------------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident set size now (``VmRSS`` of /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class RssSampler:
    """Samples this process's RSS in a thread every ``interval`` seconds; keeps the peak."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.start_rss = rss_bytes()
        self.peak = self.start_rss
        self.last = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.last = rss_bytes()
            self.peak = max(self.peak, self.last)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.last = rss_bytes()
        self.peak = max(self.peak, self.last)


# -- event-loop lag ------------------------------------------------------------------------


@dataclass
class LagProbe:
    """A task that sleeps ``period`` seconds again and again and records each overshoot.

    The overshoot is how late the event loop woke it: the time another callback held the
    loop. Use ``async with LagProbe() as probe:``; ``probe.mark()`` starts a new window.
    """

    period: float = 0.010
    samples: list[tuple[float, float]] = field(default_factory=list)  # (when, lag seconds)
    _scope: anyio.CancelScope | None = None
    _tg: Any = None

    async def _run(self) -> None:
        with anyio.CancelScope() as self._scope:
            while True:
                before = time.perf_counter()
                await anyio.sleep(self.period)
                after = time.perf_counter()
                self.samples.append((after, max(0.0, after - before - self.period)))

    async def __aenter__(self) -> LagProbe:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._run)
        await anyio.lowlevel.checkpoint()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._scope is not None:
            self._scope.cancel()
        await self._tg.__aexit__(None, None, None)

    def lags(self, since: float = 0.0, until: float = math.inf) -> list[float]:
        return [lag for when, lag in self.samples if since <= when <= until]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class GcPauses:
    """Times every garbage collection (``gc.callbacks``) while active, by generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        #: The same with when each ended (``time.perf_counter``): (generation, seconds, end).
        self.timed: list[tuple[int, float, float]] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            now = time.perf_counter()
            self.pauses.append((info["generation"], now - self._started))
            self.timed.append((info["generation"], now - self._started, now))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self, generation: int) -> str:
        """``count, total ms, max ms`` of one generation's collections."""
        times = [d for g, d in self.pauses if g == generation]
        if not times:
            return "0"
        return f"{len(times)}, {sum(times) * 1e3:.0f} ms total, max {max(times) * 1e3:.0f} ms"


# -- output --------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    measured: str
    target: str = ""
    ok: bool | None = None  # None: informational, no target


@dataclass
class Table:
    """Rows of metric / measured / target / pass-fail, printed as one aligned table."""

    title: str
    rows: list[Row] = field(default_factory=list)

    def info(self, metric: str, measured: str) -> None:
        self.rows.append(Row(metric, measured))

    def check(self, metric: str, value: float, fmt: str, op: str, limit: float) -> bool:
        """Add a row with a target ``value <op> limit`` (op: '<=', '<', '>=', '>')."""
        tests: dict[str, Callable[[float, float], bool]] = {
            "<=": lambda a, b: a <= b,
            "<": lambda a, b: a < b,
            ">=": lambda a, b: a >= b,
            ">": lambda a, b: a > b,
        }
        ok = not math.isnan(value) and tests[op](value, limit)
        self.rows.append(Row(metric, format(value, fmt), f"{op} {format(limit, 'g')}", ok))
        return ok

    @property
    def passed(self) -> bool:
        return all(r.ok is not False for r in self.rows)

    def render(self) -> str:
        headers = ("metric", "measured", "target", "result")
        cells = [
            (r.metric, r.measured, r.target, {True: "PASS", False: "FAIL", None: ""}[r.ok])
            for r in self.rows
        ]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        line = "  ".join("-" * w for w in widths)

        def fmt(values: Sequence[str]) -> str:
            return "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w) if i == 1 else v.ljust(w)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            ).rstrip()

        out = [f"== {self.title}", fmt(headers), line, *(fmt(c) for c in cells)]
        return "\n".join(out)

    def print(self) -> None:
        print(self.render(), flush=True)


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, Python."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB, "
        f"Python {platform.python_version()} on {platform.system()}"
    )


def load() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    return f"{os.getloadavg()[0]:.2f}"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the ``--quick`` flag every benchmark has."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller scale, under ~60 s")
    return p


def header(name: str, args: argparse.Namespace) -> None:
    opts = " ".join(f"{k}={v}" for k, v in sorted(vars(args).items()))
    print(f"# {name}  {time.strftime('%Y-%m-%d %H:%M:%S')}  ({opts})")
    print(f"# {machine()}; load average {load()}", flush=True)


def finish(tables: Sequence[Table]) -> int:
    """Exit status: 0 when every target passed, 1 otherwise."""
    failed = [r.metric for t in tables for r in t.rows if r.ok is False]
    if failed:
        print("\nFAILED targets: " + "; ".join(failed), flush=True)
        return 1
    print("\nall targets passed", flush=True)
    return 0


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def fmt_mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"
