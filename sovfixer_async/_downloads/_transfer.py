"""The writer side of a download: its state, the part file fed from a worker thread, the
final verification and rename, and the typed errors.

The body is read on the event loop (by :class:`~._resume.Download`) and handed in
batches to a writer task that hashes and writes it, in a worker thread, into the part
file while the loop reads the next batch; memory stays flat whatever the file size.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Final

import aiohttp
import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import frozen

from sovfixer_async._downloads._files import LocalDownloadError, describe_os_error
from sovfixer_async._downloads._http import is_etag
from sovfixer_async._downloads._names import served_name
from sovfixer_async._downloads._part import PartFile, PartState
from sovfixer_async._downloads._target import Plan, check_target
from sovfixer_async._errors import (
    DestinationExistsError,
    DownloadError,
    DownloadIntegrityError,
    LocalFileError,
    SOVFixerError,
)
from sovfixer_async._events import DownloadFinished, DownloadProgress, EventBus
from sovfixer_async._transport import Transport

logger = logging.getLogger("sovfixer_async")

# Bytes gathered before one hop to the writer thread (one writev + hash per batch);
# with one batch queued, one being written and one being filled, a download holds about
# 3 batches + 2 chunks in memory whatever the file size.
BATCH_BYTES: Final = 1024 * 1024
_QUEUE_DEPTH: Final = 1
# Progress events are emitted at most once per this many bytes.
_PROGRESS_BYTES: Final = 1024 * 1024
_SHA256_ETAG = re.compile(r'^"([0-9a-fA-F]{64})"$')


@frozen
class _Restart:
    """Truncate the part and decode the new body with ``encoding``; ``state`` describes
    the new body when a later process could resume it."""

    encoding: str | None
    state: PartState | None


@frozen
class DownloadResult:
    """Where the file landed and what it is: size and sha256 of the bytes on disk."""

    path: Path
    url: str
    size: int
    sha256: str
    #: HTTP attempts made (a resume or a retry is one more).
    attempts: int
    #: True when at least one attempt continued with a ``Range`` request.
    resumed: bool


_Item = list[bytes] | _Restart


class Transfer:
    """State of one download across its attempts (offsets, validator, writer); the
    reading side (:meth:`fetch`) is :class:`~._resume.Download`'s."""

    def __init__(
        self,
        transport: Transport,
        url: str,
        plan: Plan,
        overwrite: bool,
        job_id: str | None,
        events: EventBus | None,
        max_stalled_attempts: int,
        chunk_size: int,
    ):
        self.transport = transport
        self.url = url
        self.plan = plan
        self.overwrite = overwrite
        self.job_id = job_id
        self.events = events if events is not None and events.active else None
        self.max_stalled = max_stalled_attempts
        self.chunk_size = chunk_size
        self.batch_bytes = max(BATCH_BYTES, chunk_size)
        self.path: Path | None = plan.path
        self.part: PartFile | None = None
        self.offset = 0  # bytes of the current representation handed to the writer
        self.best = 0  # furthest offset ever reached in this representation
        self.total: int | None = None
        self.etag: str | None = None
        self.validator: str | None = None  # strong ETag or Last-Modified, for If-Range
        self.encoding: str | None = None
        self.attempts = 0
        self.resumed = False
        self.writer_error: BaseException | None = None
        self.last_progress = 0
        send, receive = anyio.create_memory_object_stream[_Item](_QUEUE_DEPTH)
        self.send: MemoryObjectSendStream[_Item] = send
        self.receive: MemoryObjectReceiveStream[_Item] = receive

    def fail(self, detail: str, cls: type[DownloadError] = DownloadError) -> DownloadError:
        if self.total is not None:
            detail = f"{detail} ({self.offset} of {self.total} bytes received)"
        return cls(
            self.url, detail, bytes_received=self.offset, attempts=self.attempts, job_id=self.job_id
        )

    def local_fail(self, path: Path | None, exc: BaseException) -> LocalDownloadError:
        """A local file system failure: typed, naming the path."""
        shown = os.fspath(path if path is not None else self.plan.directory)
        return LocalDownloadError(
            shown,
            describe_os_error(exc),
            url=self.url,
            bytes_received=self.offset,
            attempts=self.attempts,
            job_id=self.job_id,
        )

    # -- writer task ----------------------------------------------------------------------

    async def write_loop(self) -> None:
        """Apply batches in a worker thread, in order; stores its error, never raises it."""
        try:
            async with self.receive:
                async for item in self.receive:
                    part = self.part
                    assert part is not None
                    if isinstance(item, _Restart):
                        await anyio.to_thread.run_sync(part.restart, item.encoding, item.state)
                        self.last_progress = 0
                        continue
                    await anyio.to_thread.run_sync(part.write, item)
                    if self.events is not None and part.size - self.last_progress >= (
                        _PROGRESS_BYTES
                    ):
                        self.last_progress = part.size
                        assert self.path is not None
                        self.events.emit(
                            DownloadProgress(
                                self.url, self.path, self.job_id, part.size, self.total
                            )
                        )
        except Exception as exc:  # a disk error: the reader sees a closed stream
            self.writer_error = exc

    async def put(self, item: _Item) -> None:
        try:
            await self.send.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise self.write_failure() from self.writer_error

    def write_failure(self) -> DownloadError:
        part_path = None if self.part is None else self.part.path
        if isinstance(self.writer_error, OSError | ValueError):
            return self.local_fail(part_path, self.writer_error)
        if isinstance(self.writer_error, LocalFileError):
            return LocalDownloadError(
                self.writer_error.path,
                self.writer_error.message,
                url=self.url,
                bytes_received=self.offset,
                attempts=self.attempts,
                job_id=self.job_id,
            )
        return self.fail(f"cannot write {part_path}: {self.writer_error}")

    # -- the part file ----------------------------------------------------------------------

    async def open_part(self, resp: aiohttp.ClientResponse | None) -> None:
        """Name the target (Content-Disposition or URL when none was given) and create its
        part file, adopting a stale one a killed process left (resumed from its state when
        it matches; the first response already under way makes it start over)."""
        plan = self.plan
        if self.path is None:
            assert resp is not None
            name = served_name(resp.headers.get("Content-Disposition"), self.url)
            self.path = plan.directory / name
        path = self.path

        def create() -> PartFile:
            try:
                check_target(plan, path, self.overwrite, self.url, self.job_id)
            except (OSError, ValueError) as exc:
                if isinstance(exc, SOVFixerError):  # DestinationExistsError is an OSError
                    raise
                raise self.local_fail(path, exc) from exc
            try:
                return PartFile.open(path, self.url)
            except (OSError, ValueError) as exc:
                raise self.local_fail(path.with_name(path.name + ".part"), exc) from exc

        part = self.part = await anyio.to_thread.run_sync(create)
        state = part.adopted
        if state is not None and resp is None:
            logger.info(
                "download of %s: resuming a part file left at %d bytes",
                self.url,
                part.size,
                extra={"job_id": self.job_id},
            )
            self.offset = self.best = part.size
            self.validator = state.validator
            self.etag = state.validator if is_etag(state.validator) else None
            self.total = state.total

    async def restart(self, state: PartState | None = None) -> None:
        self.offset = 0
        if self.part is not None:
            await self.put(_Restart(self.encoding, state))

    # -- the end ----------------------------------------------------------------------------

    async def fetch(self) -> None:
        """Attempts until the whole body has been handed to the writer."""
        raise NotImplementedError

    async def finish(self) -> DownloadResult:
        """Verify what the writer produced, fsync, and rename it into place."""
        part, path = self.part, self.path
        assert part is not None
        assert path is not None
        if self.writer_error is not None:
            raise self.write_failure() from self.writer_error
        sha256_etag = _sha256_of(self.etag) if self.encoding is None else None

        def finish_and_commit() -> str | None:
            """In one worker-thread hop (each costs a turn of a busy loop): fsync, verify,
            and move into place when sound; else what is wrong."""
            complete = part.finish()
            size, digest = part.size, part.hasher.hexdigest()
            if not complete:
                return "compressed body ended early"
            if self.total is not None and size != self.total:
                return f"wrote {size} bytes, server announced {self.total}"
            if sha256_etag is not None and sha256_etag != digest:
                return f"sha256 {digest} does not match the server's ETag {self.etag}"
            part.commit(path, self.overwrite)
            return None

        try:
            problem = await anyio.to_thread.run_sync(finish_and_commit)
        except FileExistsError:
            raise DestinationExistsError(str(path), job_id=self.job_id) from None
        except (OSError, ValueError) as exc:
            raise self.local_fail(path, exc) from exc
        if problem is not None:
            raise self.fail(problem, DownloadIntegrityError)
        size, digest = part.size, part.hasher.hexdigest()
        if self.events is not None:
            self.events.emit(DownloadFinished(self.url, path, self.job_id, size, digest))
        return DownloadResult(path, self.url, size, digest, self.attempts, self.resumed)

    async def run(self) -> DownloadResult:
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.write_loop)
                try:
                    async with self.send:
                        await self.fetch()
                except Exception as exc:  # raised after the group, so it is not wrapped
                    failure = exc
            if failure is not None:
                raise failure
            if self.part is None:  # 416 on the first attempt cannot happen; be explicit
                raise self.fail("no body received")
            return await self.finish()
        finally:
            # Synchronous, so no cancellation can interrupt it; the writer thread has
            # finished (thread calls are never abandoned), so nothing writes meanwhile.
            if self.part is not None and not self.part.committed:
                self.part.discard()


def _sha256_of(etag: str | None) -> str | None:
    """The sha256 hex digest a ``"<64 hex>"`` ETag announces, else None."""
    match = _SHA256_ETAG.match(etag or "")
    return match.group(1).lower() if match else None
