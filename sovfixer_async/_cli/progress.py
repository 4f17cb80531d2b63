"""What the CLI tells the user: live progress on a terminal, plain lines, or JSON lines.

A :class:`Reporter` receives the client's progress events (as its ``on_event`` callback),
keeps one :class:`Family` of counters per kind of job, and writes:

- ``live``: a compact block of one line per family, redrawn in place (ANSI) on a terminal;
  other lines (failures, results) scroll above it;
- ``plain``: one line per thing that happened, for logs and pipes;
- ``json``: one JSON object per line, each with an ``event`` key, for scripts;
- ``quiet``: results and errors only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol, TextIO

import anyio
from attrs import define, field

from sovfixer_async import (
    BulkEnhanceRun,
    DownloadFinished,
    DownloadProgress,
    Event,
    JobCompleted,
    JobFailedEvent,
    JobProgress,
    JobStatusChanged,
    JobSubmitted,
)
from sovfixer_async._cli.meter import Family, human_bytes

__all__ = ["Family", "Handle", "Mode", "Reporter", "choose_mode", "human_bytes"]

Mode = Literal["live", "plain", "json", "quiet"]

#: Job kinds (events, handles) to the family they are counted in.
FAMILY_OF_KIND = {
    "update": "update",
    "output": "output",
    "parse": "parse",
    "bulk_enhance": "enhance",
    "bulk_run": "enhance",
}


class Handle(Protocol):
    """What the reporter reads from a job handle or bulk run."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def done(self) -> bool: ...


def choose_mode(*, json_output: bool, quiet: bool, stream: TextIO) -> Mode:
    """JSON when asked, quiet when asked, live on a terminal, plain lines otherwise."""
    if json_output:
        return "json"
    if quiet:
        return "quiet"
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty() and os.environ.get("TERM") != "dumb":
        return "live"
    return "plain"


@define(eq=False)
class Reporter:
    """Receives events, counts them per family, and writes progress and results."""

    mode: Mode
    #: Per-job lines (submitted/completed/saved) in plain mode; else one line per change.
    per_job: bool = True
    out: TextIO = field(factory=lambda: sys.stdout)
    err: TextIO = field(factory=lambda: sys.stderr)
    #: ``client.stats.requests`` of the current client, for the live footer.
    requests: Callable[[], int] | None = None
    families: dict[str, Family] = field(factory=dict)
    #: Handles the command holds that may still be running (their tokens print on Ctrl-C).
    handles: dict[str, Handle] = field(factory=dict)
    #: Jobs the server created that no handle covers yet: id -> kind.
    orphans: dict[str, str] = field(factory=dict)
    #: Resume tokens of those jobs (from their ``JobSubmitted`` events), by id.
    orphan_tokens: dict[str, str] = field(factory=dict)
    #: Ids of tracked jobs whose outcome the command has delivered (saved, or failed).
    delivered: set[str] = field(factory=set)
    kinds: dict[str, str] = field(factory=dict)
    #: Called once when stdout is closed under us (``--json | head``): stops the command.
    on_closed: Callable[[], None] | None = None
    #: True once stdout was found closed; nothing more is written there.
    closed: bool = False
    started: float = field(factory=time.monotonic)
    _drawn: int = 0
    _live: bool = False

    # -- families ------------------------------------------------------------------------

    def family(self, name: str, *, total: int = 0, locations: int = 0) -> Family:
        """The counters of ``name`` (made on first use); ``total`` jobs are expected."""
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = Family(name)
        fam.total = max(fam.total, total)
        fam.locations = max(fam.locations, locations)
        return fam

    def _family_of(self, kind: str) -> Family:
        return self.family(FAMILY_OF_KIND.get(kind, kind))

    # -- handles -------------------------------------------------------------------------

    def track(self, handle: Handle) -> None:
        """A handle the command now holds: announce it and remember it for Ctrl-C.

        A handle no ``JobSubmitted`` announced (``resume``) is counted as submitted here,
        so its family's totals are right and its downloads land in its own row.
        """
        self.handles[handle.id] = handle
        self._adopt(handle.id, handle.kind)
        if isinstance(handle, BulkEnhanceRun):
            self.family("enhance", total=len(handle.batches)).runs.append(handle)
            for batch in handle.batches:
                self._adopt(batch.id, batch.kind)
        fields: dict[str, Any] = {"kind": handle.kind, "id": handle.id, "token": handle.token}
        text = None
        if self.per_job:
            text = f"submitted {handle.kind} {handle.id}"
            if handle.done:
                text += " (already done: cached)"
        self.emit("submitted", text, done=handle.done, **fields)

    def _adopt(self, job_id: str, kind: str) -> None:
        self.orphans.pop(job_id, None)
        self.orphan_tokens.pop(job_id, None)
        if job_id not in self.kinds:  # not announced by an event: resumed
            self.kinds[job_id] = kind
            if kind != "bulk_run":
                self._family_of(kind).submitted += 1

    def unfinished(self) -> list[Handle]:
        """Tracked handles whose outcome the user has not got yet (running, or not saved)."""
        return [h for h in self.handles.values() if h.id not in self.delivered]

    # -- events --------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The client's ``on_event`` callback."""
        if isinstance(event, JobSubmitted):
            self.kinds[event.job_id] = event.kind
            if event.job_id not in self.handles:
                self.orphans[event.job_id] = event.kind
                if event.token is not None:
                    self.orphan_tokens[event.job_id] = event.token
            self._family_of(event.kind).submitted += 1
            if self.mode == "json" and event.kind == "bulk_enhance":
                self.emit("batch_submitted", None, kind=event.kind, id=event.job_id)
        elif isinstance(event, JobCompleted):
            fam = self._family_of(event.kind)
            fam.completed += 1
            fam.running.pop(event.job_id, None)
            if self.mode == "json":
                self.emit("completed", None, kind=event.kind, id=event.job_id)
            elif self.per_job and event.job_id in self.handles:
                self.emit("completed", f"completed {event.kind} {event.job_id}")
            elif event.kind == "bulk_enhance" or not self.per_job:
                self._family_line(fam)
        elif isinstance(event, JobFailedEvent):
            fam = self._family_of(event.kind)
            fam.failed += 1
            fam.running.pop(event.job_id, None)
            code = f" ({event.result_status})" if event.result_status else ""
            self.emit(
                "failed",
                f"failed {event.kind} {event.job_id}{code}: {event.message or 'no message'}",
                kind=event.kind,
                id=event.job_id,
                result_status=event.result_status,
                message=event.message,
            )
            if not self.per_job:
                self._family_line(fam)
        elif isinstance(event, JobStatusChanged):
            if self.mode == "json":
                self.emit(
                    "state",
                    None,
                    kind=event.kind,
                    id=event.job_id,
                    state=event.state,
                    previous=event.previous,
                )
        elif isinstance(event, JobProgress):
            if event.progress is not None:
                self._family_of(event.kind).running[event.job_id] = event.progress
            if self.mode == "json" and event.kind != "bulk_enhance":
                self.emit(
                    "progress", None, kind=event.kind, id=event.job_id, progress=event.progress
                )
        elif isinstance(event, DownloadProgress):
            fam = self._family_of(self.kinds.get(event.job_id or "", "download"))
            fam.inflight[event.url] = event.bytes_done
        elif isinstance(event, DownloadFinished):
            kind = self.kinds.get(event.job_id or "", "download")
            fam = self._family_of(kind)
            fam.inflight.pop(event.url, None)
            fam.bytes_done += event.size
            if kind == "bulk_enhance":
                return  # a batch file in the run's work folder, merged later
            fam.files += 1
            self.emit(
                "downloaded",
                f"saved {event.path} ({human_bytes(event.size)})" if self.per_job else None,
                kind=kind,
                id=event.job_id,
                path=str(event.path),
                size=event.size,
                sha256=event.sha256,
            )

    def _family_line(self, fam: Family) -> None:
        if self.mode == "plain":
            self._line(
                self.out,
                f"[{self.elapsed():6.1f}s] {fam.name:<8} {fam.describe()}, {fam.speed()}",
            )

    # -- writing -------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def emit(self, event: str, text: str | None, *, result: bool = False, **fields: Any) -> None:
        """One JSON object (json mode) or one text line (``None``: nothing outside json).

        ``result`` lines are printed in quiet mode too.
        """
        if self.mode == "json":
            self._line(self.out, json.dumps({"event": event, **fields}, default=str))
        elif text is not None and (self.mode != "quiet" or result):
            self._line(self.out, text)

    def result(self, event: str, text: str | None, **fields: Any) -> None:
        """A command's answer: shown in every mode."""
        self.emit(event, text, result=True, **fields)

    def warn(self, text: str) -> None:
        """One line on stderr (above the live block on a terminal)."""
        self._line(self.err, text)

    def _line(self, stream: TextIO, text: str) -> None:
        if self.closed and stream is self.out:
            return
        try:
            if self._live:
                self._clear()
            stream.write(text + "\n")
            stream.flush()
            if self._live:
                self._draw()
        except BrokenPipeError:
            if stream is not self.out:
                raise
            self._stdout_closed()

    def _stdout_closed(self) -> None:
        """The reader of stdout is gone (``| head``): write no more there, stop the command.

        stdout's descriptor is pointed at the null device, so the interpreter's own flush
        at exit does not complain either.
        """
        if self.closed:
            return
        self.closed = True
        self._live = False
        try:
            fd = self.out.fileno()
        except (OSError, ValueError, AttributeError):
            fd = None
        if fd is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        if self.on_closed is not None:
            self.on_closed()

    # -- the live block ------------------------------------------------------------------

    def _block(self) -> list[str]:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        encoding = (getattr(self.out, "encoding", None) or "").lower().replace("-", "")
        fill, empty = ("█", "░") if encoding == "utf8" else ("#", "-")
        lines = [
            f"{fam.name:<8} {fam.speed():<30} {fam.bar(fill=fill, empty=empty)} {fam.describe()}"[
                :width
            ]
            for fam in self.families.values()
            if fam.submitted or fam.total or fam.runs or fam.files or fam.inflight
        ]
        footer = f"{self.elapsed():.1f} s"
        if self.requests is not None:
            footer += f", {self.requests():,} requests"
        lines.append(footer[:width])
        return lines

    def _clear(self) -> None:
        if self._drawn and not self.closed:
            self._drawn, drawn = 0, self._drawn
            try:
                self.out.write(f"\x1b[{drawn}F\x1b[J")
            except BrokenPipeError:
                self._stdout_closed()

    def _draw(self) -> None:
        if self.closed:
            return
        lines = self._block()
        try:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
        except BrokenPipeError:
            self._stdout_closed()
            return
        self._drawn = len(lines)

    @asynccontextmanager
    async def display(self, interval: float = 0.1) -> AsyncIterator[None]:
        """Redraw the live block every ``interval`` seconds while the body runs."""
        if self.mode != "live":
            yield
            return

        async def redraw() -> None:
            while True:
                self._clear()
                self._draw()
                await anyio.sleep(interval)

        self._live = True
        ok = False
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(redraw)
                try:
                    yield
                    ok = True
                finally:
                    tg.cancel_scope.cancel()
        finally:
            self._clear()
            if ok:
                self._draw()  # the final state stays on screen; an error line replaces it
            self._live = False
            self._drawn = 0
