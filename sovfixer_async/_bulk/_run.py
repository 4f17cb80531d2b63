"""The handle of a whole bulk-enhance run: its batches, their waits, and the merged results.

``run.done`` means what it means on every handle: the server work is over (every batch
terminal). ``run.merged`` is the local state: each batch's output fetched and the results
merged on disk, one JSONL line per submitted location. Nothing holds more than one batch
in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
from attrs import frozen

from sovfixer_async import _downloads
from sovfixer_async._bulk import _files
from sovfixer_async._context import JobContext
from sovfixer_async._downloads import DownloadResult
from sovfixer_async._errors import DestinationExistsError, JobFailed, JobTimeout, SOVFixerError
from sovfixer_async._jobs import TOKEN_VERSION, BulkEnhanceBatch
from sovfixer_async.models import BulkEnhanceStatus, SourceResult


@frozen
class BulkRunStatus:
    """The sum of a run's batches; ``batches`` holds each one's last status (or None)."""

    batches: tuple[BulkEnhanceStatus | None, ...]

    def _sum(self, name: str) -> int:
        return sum(getattr(s.request, name) or 0 for s in self.batches if s is not None)

    @property
    def num_requested(self) -> int:
        return self._sum("num_requested")

    @property
    def num_completed(self) -> int:
        return self._sum("num_completed")

    @property
    def num_problems(self) -> int:
        return self._sum("num_problems")

    @property
    def num_failed_batches(self) -> int:
        return sum(1 for s in self.batches if s is not None and s.failure is not None)

    @property
    def done(self) -> bool:
        return all(s is not None and s.done for s in self.batches)

    @property
    def state(self) -> str:
        if not self.done:
            seen = {s.state for s in self.batches if s is not None}
            return "IN_PROGRESS" if seen - {"PENDING", "QUEUED"} else "PENDING"
        return "FAILED" if self.num_failed_batches == len(self.batches) else "COMPLETE"

    @property
    def progress(self) -> float | None:
        requested = self.num_requested
        return self.num_completed / requested if requested else None


class BulkEnhanceRun:
    """Handle of a whole bulk-enhance run (kind ``bulk_run``), as ``bulk_enhance`` returns."""

    kind = "bulk_run"
    api = "data"

    def __init__(
        self,
        context: JobContext,
        run_id: str,
        batches: Sequence[BulkEnhanceBatch],
        work_dir: Path,
    ):
        #: The client's collaborators (transport, events, config, poll scheduler...).
        self._rt = context
        self.id = run_id
        self.batches = list(batches)
        self.work_dir = work_dir
        #: The merged JSONL, once the run is done and merged.
        self.merged_path: Path | None = None
        #: Size and sha256 of each file the last ``download`` wrote.
        self.files: list[DownloadResult] = []
        self._merge_lock = anyio.Lock()
        self._part_lock = anyio.Lock()
        #: Each batch's results as JSONL lines, written as soon as that batch is done.
        self._parts: list[Path | None] = [None] * len(self.batches)
        #: Set while (or once) a waiter fetches a batch's output and writes its part.
        self._settling: list[anyio.Event | None] = [None] * len(self.batches)
        #: How a wait of ``as_completed`` ended, not merged: the next ``wait()`` raises it.
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<BulkEnhanceRun {self.id} {len(self.batches)} batches {self.state}>"

    @property
    def token(self) -> str:
        data = {
            "v": TOKEN_VERSION,
            "kind": self.kind,
            "id": self.id,
            "api": self.api,
            "batches": [b.id for b in self.batches],
        }
        return json.dumps(data, separators=(",", ":"))

    @property
    def status(self) -> BulkRunStatus | None:
        if all(b.status is None for b in self.batches):
            return None
        return BulkRunStatus(tuple(b.status for b in self.batches))

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
        """Fetch every batch's status once."""
        async with anyio.create_task_group() as tg:
            for batch in self.batches:
                if not batch.done:
                    tg.start_soon(batch.refresh)
        status = self.status
        assert status is not None
        return status

    async def wait(self, timeout: float | None = None) -> BulkRunStatus:
        """Wait for every batch, fetching each one's output as soon as it is done; then merge.

        Failed batches do not fail the run: their locations appear in ``results()`` with
        failed per-source results. Only a run whose every batch failed raises ``JobFailed``.
        """
        if self.merged_path is None:
            error, self._error = self._error, None
            if error is not None:
                raise error
        budget = self._rt.config.poll.deadline if timeout is None else timeout
        started = time.monotonic()
        problem: list[SOVFixerError] = []

        async def wait_batch(index: int, batch: BulkEnhanceBatch) -> None:
            try:
                with contextlib.suppress(JobFailed):  # a failed batch still has its lines
                    await batch.wait(budget)
                await self._settle(index, batch)
            except SOVFixerError as exc:
                problem.append(exc)
                tg.cancel_scope.cancel()

        if self.merged_path is None:
            async with anyio.create_task_group() as tg:
                for index, batch in enumerate(self.batches):
                    tg.start_soon(wait_batch, index, batch)
            if problem:
                first = problem[0]
                if isinstance(first, JobTimeout):
                    raise JobTimeout(
                        self.kind, self.id, time.monotonic() - started, self.token, self.state
                    )
                first.add_note(f"bulk run {self.id}: resume it with client.resume(run.token)")
                raise first
            async with self._merge_lock:
                if self.merged_path is None:
                    await self._merge()
        status = self.status
        assert status is not None
        if status.num_failed_batches == len(self.batches):
            failure = self.batches[0].status.failure if self.batches[0].status else None
            raise JobFailed(
                self.kind,
                self.id,
                failure[0] if failure else None,
                f"all {len(self.batches)} batches failed; first: "
                + ((failure[1] or "no message") if failure else "no message"),
                status,
            )
        return status

    async def _settle(self, index: int, batch: BulkEnhanceBatch) -> None:
        """Fetch a done batch's output and write its JSONL part (once, whoever asks)."""
        while (event := self._settling[index]) is not None:
            await event.wait()
            if self._parts[index] is not None:
                return
        self._settling[index] = event = anyio.Event()
        try:
            files: list[Path] = []
            failure = batch.status.failure if batch.status is not None else None
            message = None
            if failure is None:  # (the handle's download makes the folder)
                files = await batch.download(self.work_dir / "outputs", overwrite=True)
            else:
                message = f"batch {batch.id} failed ({failure[0]}): {failure[1] or 'no message'}"
            body = self.work_dir / _files.batch_name(index + 1)
            part = self.work_dir / "parts" / f"part-{index + 1:05d}.jsonl"
            try:
                async with self._part_lock:  # one batch in memory at a time (and one GIL)
                    await anyio.to_thread.run_sync(_files.write_part, body, files, message, part)
            except ValueError as exc:  # JSON the server sent, or a body on disk, is broken
                error = SOVFixerError(
                    f"bulk run {self.id}: cannot read the results of batch {batch.id}: {exc}"
                )
                error.job_id = batch.id
                raise error from exc
            self._parts[index] = part
        finally:
            if self._parts[index] is None:
                self._settling[index] = None  # the next waiter tries again
            event.set()

    async def _merge(self) -> None:
        """Join the batches' parts, in batch order, into one JSONL file (off the loop)."""
        parts = [part for part in self._parts if part is not None]
        assert len(parts) == len(self.batches)
        merged = self.work_dir / _files.MERGED_NAME
        if len(parts) == 1:
            # a rename: no worker-thread hop (each costs a turn of a busy loop)
            os.replace(parts[0], merged)
        else:
            await anyio.to_thread.run_sync(_files.join_parts, parts, merged)
        self.merged_path = merged

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
