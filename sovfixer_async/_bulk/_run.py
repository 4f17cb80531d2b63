"""The handle of a whole bulk-enhance run: its batches, their waits, and the merged results.

``run.done`` means what it means on every handle: the server work is over (every accepted
batch terminal). ``run.merged`` is the local state: each batch's output fetched and the
results merged on disk, one JSONL line per location, failed ones included (a batch the
server never accepted, or whose submission is unknown, gives failed lines saying so).
Nothing holds more than one batch in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from sovfixer_async import _downloads
from sovfixer_async._bulk import _files
from sovfixer_async._bulk._manifest import ACCEPTED, PENDING, RunState
from sovfixer_async._bulk._slots import BatchSlot, manifest_of, token_fields
from sovfixer_async._bulk._status import BulkRunStatus
from sovfixer_async._config import PollPolicy
from sovfixer_async._context import JobContext
from sovfixer_async._downloads import DownloadResult
from sovfixer_async._errors import (
    DestinationExistsError,
    JobFailed,
    JobTimeout,
    MissingLocationsError,
    SOVFixerError,
)
from sovfixer_async._jobs import TOKEN_VERSION, BulkEnhanceBatch
from sovfixer_async.models import SourceResult


class BulkEnhanceRun:
    """Handle of a whole bulk-enhance run (kind ``bulk_run``), as ``bulk_enhance`` returns.

    ``batches`` are the batches the server accepted; ``pending`` and ``unknown`` list the
    numbers of the others (``submit_pending()`` sends the pending ones).
    """

    kind = "bulk_run"
    api = "data"

    def __init__(
        self,
        context: JobContext,
        run_id: str,
        slots: list[BatchSlot],
        work_dir: Path,
        state: RunState,
        sources: tuple[str, ...] = (),
    ):
        #: The client's collaborators (transport, events, config, poll scheduler...).
        self._rt = context
        self.id = run_id
        #: Every batch of the run, in order (``slots[n - 1]`` is batch ``n``).
        self.slots = slots
        self.work_dir = work_dir
        #: The run's state folder (manifest, location ids, bodies not yet accepted).
        self.state_folder = state
        self._sources = sources
        #: The merged JSONL, once the run is done and merged.
        self.merged_path: Path | None = None
        #: Size and sha256 of each file the last ``download`` wrote.
        self.files: list[DownloadResult] = []
        self._merge_lock = anyio.Lock()
        self._part_lock = anyio.Lock()
        self._submit_lock = anyio.Lock()
        #: Each batch's results as JSONL lines, written as soon as that batch is done.
        self._parts: dict[int, Path] = {}
        #: Set while (or once) a waiter fetches a batch's output and writes its part.
        self._settling: dict[int, anyio.Event] = {}
        #: Batches whose locations cannot be listed (found while settling).
        self._missing: dict[int, str] = {}
        #: How a wait of ``as_completed`` ended, not merged: the next ``wait()`` raises it.
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<BulkEnhanceRun {self.id} {len(self.slots)} batches {self.state}>"

    @property
    def batches(self) -> list[BulkEnhanceBatch]:
        """The batches the server accepted, in order."""
        return [s.handle for s in self.slots if s.state == ACCEPTED and s.handle is not None]

    @property
    def pending(self) -> tuple[int, ...]:
        """Numbers (from 1) of the batches not accepted: ``submit_pending()`` sends them."""
        return tuple(s.number for s in self.slots if s.state == PENDING)

    @property
    def unknown(self) -> tuple[int, ...]:
        """Numbers of the batches whose submission was ambiguous (never resent silently)."""
        return tuple(s.number for s in self.slots if s.state not in (ACCEPTED, PENDING))

    @property
    def token(self) -> str:
        data = {"v": TOKEN_VERSION, "kind": self.kind, "id": self.id, "api": self.api}
        data.update(token_fields(self.slots))
        return json.dumps(data, separators=(",", ":"))

    @property
    def status(self) -> BulkRunStatus | None:
        batches = self.batches
        if batches and all(b.status is None for b in batches):
            return None
        return BulkRunStatus(tuple(b.status for b in batches), self.pending, self.unknown)

    @property
    def state(self) -> str | None:
        status = self.status
        return status.state if status is not None else None

    @property
    def done(self) -> bool:
        """The server work is over: every batch is terminal (see ``merged`` for the files)."""
        return all(batch.done for batch in self.batches)

    @property
    def merged(self) -> bool:
        """Every batch's results are merged on disk (``merged_path``, ``results()``)."""
        return self.merged_path is not None

    def _keep_outcome(self, error: BaseException) -> None:
        self._error = error

    async def refresh(self) -> BulkRunStatus:
        """Fetch every accepted batch's status once."""
        async with anyio.create_task_group() as tg:
            for batch in self.batches:
                if not batch.done:
                    tg.start_soon(batch.refresh)
        return BulkRunStatus(tuple(b.status for b in self.batches), self.pending, self.unknown)

    async def submit_pending(self, *, unknown: bool = False, concurrency: int = 8) -> None:
        """Send the batches the server did not accept (their bodies are kept until it does).

        ``unknown=True`` also resends the batches whose submission was ambiguous: the
        server may then run (and bill) them twice. Works after ``client.resume(token)`` in
        another process on the same machine while the run's state folder exists.
        """
        from sovfixer_async._bulk._submit import send_slots  # (it builds runs: a cycle)

        async with self._submit_lock:
            wanted = [
                s
                for s in self.slots
                if s.state == PENDING or (unknown and s.state not in (ACCEPTED, PENDING))
            ]
            if not wanted:
                return
            gone = [s.label for s in wanted if not self.state_folder.body(s.number).is_file()]
            if gone:
                raise MissingLocationsError(self.id, gone)
            self.merged_path = None
            for slot in wanted:
                self._parts.pop(slot.number, None)
                self._settling.pop(slot.number, None)
                self._missing.pop(slot.number, None)
            await send_slots(self, wanted, concurrency, None)

    async def wait(
        self, timeout: float | None = None, poll: PollPolicy | None = None
    ) -> BulkRunStatus:
        """Wait for every accepted batch, fetching each one's output once done; then merge.

        ``poll`` replaces the client's poll policy for this wait's batches (as a single
        handle's ``wait(poll=...)`` does).

        Failed batches do not fail the run: their locations appear in ``results()`` with
        failed per-source results, as do those of pending and unknown batches (listed on
        the status). Only a run whose every batch failed raises ``JobFailed``; a run that
        cannot list some batches' locations raises ``MissingLocationsError``.
        """
        if self.merged_path is None:
            error, self._error = self._error, None
            if error is not None:
                raise error
        budget = self._rt.config.poll.deadline if timeout is None else timeout
        started = time.monotonic()
        problem: list[SOVFixerError] = []

        async def settle(slot: BatchSlot) -> None:
            try:
                if slot.handle is not None and slot.state == ACCEPTED:
                    with contextlib.suppress(JobFailed):  # a failed batch still has its lines
                        await slot.handle.wait(budget, poll=poll)
                await self._settle(slot)
            except SOVFixerError as exc:
                problem.append(exc)
                tg.cancel_scope.cancel()

        if self.merged_path is None:
            async with anyio.create_task_group() as tg:
                for slot in self.slots:
                    tg.start_soon(settle, slot)
            if problem:
                first = problem[0]
                if isinstance(first, JobTimeout):
                    raise JobTimeout(
                        self.kind, self.id, time.monotonic() - started, self.token, self.state
                    )
                first.add_note(f"bulk run {self.id}: resume it with client.resume(run.token)")
                raise first
            if self._missing:
                raise MissingLocationsError(self.id, list(self._missing.values()))
            async with self._merge_lock:
                if self.merged_path is None:
                    await self._merge()
        status = BulkRunStatus(tuple(b.status for b in self.batches), self.pending, self.unknown)
        batches = self.batches
        if batches and status.num_failed_batches == len(batches):
            failure = batches[0].status.failure if batches[0].status else None
            raise JobFailed(
                self.kind,
                self.id,
                failure[0] if failure else None,
                f"all {len(batches)} batches failed; first: "
                + ((failure[1] or "no message") if failure else "no message"),
                status,
            )
        return status

    async def _settle(self, slot: BatchSlot) -> None:
        """Write a batch's JSONL part (once, whoever asks): its output's results, or failed
        lines for every location the server did not return."""
        number = slot.number
        while (event := self._settling.get(number)) is not None:
            await event.wait()
            if number in self._parts or number in self._missing:
                return
        self._settling[number] = event = anyio.Event()
        try:
            await self._write_part(slot)
        finally:
            if number not in self._parts and number not in self._missing:
                self._settling.pop(number, None)  # the next waiter tries again
            event.set()

    async def _write_part(self, slot: BatchSlot) -> None:
        batch = slot.handle if slot.state == ACCEPTED else None
        files: list[Path] = []
        if batch is None:
            why = slot.detail or "no answer"
            message = (
                f"batch {slot.number} was not accepted ({why}): run.submit_pending() sends it"
                if slot.state == PENDING
                else f"the submission of batch {slot.number} is unknown ({why}): the server "
                "may have it; it was not resent"
            )
        else:
            failure = batch.status.failure if batch.status is not None else None
            message = None
            if failure is None:  # (the handle's download makes the folder)
                files = await batch.download(self.work_dir / "outputs", overwrite=True)
            else:
                message = f"batch {batch.id} failed ({failure[0]}): {failure[1] or 'no message'}"
        state = self.state_folder
        body = self.work_dir / _files.batch_name(slot.number)
        if not body.is_file():
            body = state.body(slot.number)
        part = self.work_dir / "parts" / f"part-{slot.number:05d}.jsonl"

        def write() -> int | None:
            listed = body.is_file()
            ids = None if listed or slot.count is None else state.read_ids(slot.number, slot.count)
            lines = _files.write_part(
                part, files, message, body=body, ids=ids, sources=self._sources
            )
            if listed or ids is not None:
                return lines
            requested = batch.status.request.num_requested if batch and batch.status else None
            if batch is None or not files or requested is None or lines < requested:
                return None  # the output alone cannot vouch for every location
            return lines

        try:
            async with self._part_lock:  # one batch in memory at a time (and one GIL)
                written = await anyio.to_thread.run_sync(write)
        except ValueError as exc:  # JSON the server sent, or a file on disk, is broken
            error = SOVFixerError(
                f"bulk run {self.id}: cannot read the results of {slot.label}: {exc}"
            )
            error.job_id = batch.id if batch is not None else self.id
            raise error from exc
        if written is None:
            self._missing[slot.number] = slot.label
        else:
            self._parts[slot.number] = part

    async def _merge(self) -> None:
        """Join the batches' parts, in batch order, into one JSONL file (off the loop); then
        forget the state folder unless a batch is still to be sent."""
        parts = [self._parts[s.number] for s in self.slots]
        merged = self.work_dir / _files.MERGED_NAME
        if len(parts) == 1:
            # a rename: no worker-thread hop (each costs a turn of a busy loop)
            os.replace(parts[0], merged)
        else:
            await anyio.to_thread.run_sync(_files.join_parts, parts, merged)
        self._parts.clear()
        self._settling.clear()
        self.merged_path = merged
        state = self.state_folder
        if self.pending:
            if state.owned():  # (the pending bodies live there: it exists)
                await anyio.to_thread.run_sync(
                    state.write_manifest, manifest_of(self.slots, self._sources)
                )
        else:
            await anyio.to_thread.run_sync(state.remove)

    async def results(self) -> AsyncIterator[tuple[str, dict[str, SourceResult]]]:
        """``(location_id, {source: SourceResult})`` for every submitted location, from disk.

        Waits for the run first. Lines are read in blocks in a worker thread, so memory stays
        flat and the event loop free, whatever the run's size.
        """
        if self.merged_path is None:
            await self.wait()
        merged = self.merged_path
        assert merged is not None
        handle = await anyio.to_thread.run_sync(
            lambda: open(merged, encoding="utf-8")  # noqa: SIM115
        )
        try:
            while True:
                lines = await anyio.to_thread.run_sync(handle.readlines, 1 << 20)
                if not lines:
                    return
                for line in lines:
                    item = json.loads(line)
                    yield (
                        item["id"],
                        {
                            source: SourceResult.from_dict(value)
                            for source, value in item["results"].items()
                        },
                    )
        finally:
            handle.close()

    async def download(self, dest: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Copy the merged JSONL (first), then each raw batch file, into directory ``dest``."""
        if self.merged_path is None:
            await self.wait()
        assert self.merged_path is not None
        folder = Path(dest)
        await anyio.to_thread.run_sync(_downloads.ensure_directory, folder)
        sources = [(self.merged_path, f"bulk-{self.id}.jsonl")]
        outputs_dir = self.work_dir / "outputs"
        for batch in self.batches:
            for name in _downloads.output_names(batch.status.outputs if batch.status else []):
                if (outputs_dir / name).exists():
                    sources.append((outputs_dir / name, name))
        targets = [folder / name for name in _downloads.unique_names([n for _, n in sources])]
        if not overwrite:
            for target in targets:
                if target.exists():
                    raise DestinationExistsError(str(target), job_id=self.id)
        results = []
        for (source, _), target in zip(sources, targets, strict=True):
            size, digest = await anyio.to_thread.run_sync(_downloads.copy_atomic, source, target)
            results.append(DownloadResult(target, source.as_uri(), size, digest, 1, False))
        self.files = results
        return targets
