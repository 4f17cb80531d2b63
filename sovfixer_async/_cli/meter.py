"""Counters of one family of jobs, and what a progress line shows of them.

A :class:`Family` counts jobs (or, for bulk runs, locations) and measures, like tqdm or
rich do, the share done, the rate and the time left. The rate is measured from the first
sample on (work already done when a resumed job is first seen is not counted as speed),
smoothed, and the time left is the remaining work at that rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from attrs import define, field


class RunStatus(Protocol):
    @property
    def num_completed(self) -> int: ...
    @property
    def num_requested(self) -> int: ...


class Run(Protocol):
    """What a family reads from a bulk run."""

    @property
    def status(self) -> RunStatus | None: ...


def human_bytes(size: float) -> str:
    """``1536`` -> ``1.5 kB`` (decimal units, like most download tools)."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def clock(seconds: float) -> str:
    """``75`` -> ``1:15``, ``4000`` -> ``1:06:40`` (tqdm's style)."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def human_rate(rate: float, unit: str) -> str:
    """``0.5`` -> ``0.50 jobs/s``; ``1234`` -> ``1.2k loc/s``."""
    if rate >= 1000:
        return f"{rate / 1000:.1f}k {unit}/s"
    if rate >= 10:
        return f"{rate:.0f} {unit}/s"
    return f"{rate:.2f} {unit}/s"


@define
class Meter:
    """Rate and time left of a quantity that grows towards a total."""

    now: Callable[[], float] = time.monotonic
    #: (time, done) of the first sample: the baseline of the rate.
    first: tuple[float, float] | None = None
    #: Smoothed rate (units per second), None until two samples apart in time.
    rate: float | None = None
    last: tuple[float, float] | None = None
    #: Weight of the newest rate in the smoothed one (tqdm's default is 0.3).
    smoothing: float = 0.3
    #: Samples closer than this are merged (a redraw every 0.1 s would be noise).
    window: float = 0.25

    def sample(self, done: float) -> None:
        t = self.now()
        if self.first is None:
            self.first = self.last = (t, done)
            return
        assert self.last is not None
        last_t, last_done = self.last
        if t - last_t < self.window:
            return
        instant = max(0.0, done - last_done) / (t - last_t)
        overall = max(0.0, done - self.first[1]) / (t - self.first[0])
        if not self.rate:  # nothing moved yet: the average so far is all there is
            self.rate = overall
        else:  # exponential smoothing, pulled towards the run's average (no wild swings)
            smoothed = self.smoothing * instant + (1 - self.smoothing) * self.rate
            self.rate = (smoothed + overall) / 2
        self.last = (t, done)

    def eta(self, done: float, total: float) -> float | None:
        """Seconds left at the current rate; None while unknown."""
        if total <= 0 or done >= total:
            return 0.0 if total > 0 else None
        if not self.rate:
            return None
        return (total - done) / self.rate


@define
class Family:
    """Counters of one kind of job (for a bulk run, also its locations)."""

    name: str
    #: Jobs expected; grows when more are submitted than announced.
    total: int = 0
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    files: int = 0
    bytes_done: int = 0
    inflight: dict[str, int] = field(factory=dict)
    #: Progress (0-1) of the running jobs that report it, for the bar.
    running: dict[str, float] = field(factory=dict)
    #: Bulk runs whose location counters are shown.
    runs: list[Run] = field(factory=list)
    #: Locations expected before the runs report their own counts.
    locations: int = 0
    meter: Meter = field(factory=Meter)

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    @property
    def bytes(self) -> int:
        return self.bytes_done + sum(self.inflight.values())

    @property
    def bulk(self) -> bool:
        return bool(self.runs or self.locations)

    def location_counts(self) -> tuple[int, int]:
        """(locations done, locations requested) of the attached bulk runs."""
        done = requested = 0
        for run in self.runs:
            status = run.status
            if status is not None:
                done += status.num_completed
                requested += status.num_requested
        return done, max(requested, self.locations)

    def work(self) -> tuple[float, float]:
        """(units done, units in all): locations of bulk runs, else jobs (partly done ones
        count by their reported progress)."""
        if self.bulk:
            done, requested = self.location_counts()
            return float(done), float(requested)
        total = max(self.total, self.submitted, self.finished)
        return min(float(total), self.finished + sum(self.running.values())), float(total)

    def share(self) -> float:
        done, total = self.work()
        return min(1.0, done / total) if total else 0.0

    def describe(self) -> str:
        """``4/6 done, 1 failed, 3 files, 48.2 kB`` (plus locations for bulk runs)."""
        total = max(self.total, self.submitted, self.finished)
        if self.bulk:
            done, requested = self.location_counts()
            parts = [f"{done:,}/{requested:,} locations", f"batches {self.finished}/{total}"]
            parts += [f"{self.failed} failed", human_bytes(self.bytes)]
        else:
            parts = [f"{self.finished}/{total} done", f"{self.failed} failed"]
            parts.append(f"{self.files} files, {human_bytes(self.bytes)}")
        return ", ".join(parts)

    def speed(self) -> str:
        """``40%, 1.20 jobs/s, ETA 0:05`` (rate and ETA once they are known)."""
        done, total = self.work()
        self.meter.sample(done)
        parts = [f"{self.share():4.0%}"]
        rate = self.meter.rate
        if rate and done < total:  # nothing moved yet: no rate, no guess
            parts.append(human_rate(rate, "loc" if self.bulk else "jobs"))
            eta = self.meter.eta(done, total)
            if eta is not None:
                parts.append(f"ETA {clock(eta)}")
        elif total and done >= total:
            first = self.meter.first
            took = self.meter.now() - first[0] if first is not None else 0.0
            parts.append(f"in {clock(took)}")
        return ", ".join(parts)

    def bar(self, width: int = 16, fill: str = "#", empty: str = "-") -> str:
        filled = round(self.share() * width)
        return "[" + fill * filled + empty * (width - filled) + "]"
