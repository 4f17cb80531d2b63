"""Blocking twins of the job handles: each call runs on its client's event-loop thread.

A twin holds the async handle and the client's :class:`~anyio.from_thread.BlockingPortal`.
Reading ``id``, ``kind``, ``token``, ``status``, ``state`` and ``done`` reads the async
handle's attributes (no I/O); ``wait``, ``refresh`` and ``download`` block the calling
thread until the call, run in the loop thread, returns or raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from anyio.from_thread import BlockingPortal

import sovfixer_async as _async
from sovfixer_async import BulkRunStatus, DownloadResult, InvalidInputError
from sovfixer_async._locations import LocationsInput
from sovfixer_async.models import (
    BulkEnhanceStatus,
    JobStatus,
    OutputStatus,
    ParseStatus,
    SourceResult,
    UpdateStatus,
)

S = TypeVar("S", bound=JobStatus)
T = TypeVar("T")

#: Items fetched per hop to the loop thread when a whole file is read (``results()``).
RESULTS_CHUNK = 512


def iterate(portal: BlockingPortal, source: AsyncIterator[T], chunk: int = 1) -> Iterator[T]:
    """A plain iterator over ``source``, pulled through ``portal``; closing it closes both.

    ``chunk`` > 1 pulls up to that many items per hop (for sources that never wait long).
    """

    async def take() -> list[T]:
        items: list[T] = []
        try:
            items.append(await anext(source))
            while len(items) < chunk:
                items.append(await anext(source))
        except StopAsyncIteration:
            if not items:
                raise
        return items

    try:
        while True:
            try:
                batch = portal.call(take)
            except StopAsyncIteration:
                return
            yield from batch
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            # A closed portal: its loop, and the generator with it, are gone.
            with contextlib.suppress(RuntimeError):
                portal.call(aclose)


class JobHandle(Generic[S]):
    """Blocking twin of :class:`sovfixer_async.JobHandle` (same attributes, blocking calls)."""

    __slots__ = ("_handle", "_portal")

    def __init__(self, portal: BlockingPortal, handle: _async.JobHandle[S]):
        self._portal = portal
        self._handle = handle

    def __repr__(self) -> str:
        return f"<sync {self._handle!r}>"

    @property
    def async_handle(self) -> _async.JobHandle[S]:
        """The async handle this twin drives (use it only inside the client's loop)."""
        return self._handle

    @property
    def id(self) -> str:
        return self._handle.id

    @property
    def kind(self) -> str:
        return self._handle.kind

    @property
    def token(self) -> str:
        """The resume token (``client.resume(token)`` here or in the async client)."""
        return self._handle.token

    @property
    def status(self) -> S | None:
        return self._handle.status

    @property
    def state(self) -> str | None:
        return self._handle.state

    @property
    def done(self) -> bool:
        return self._handle.done

    @property
    def files(self) -> list[DownloadResult]:
        """Size and sha256 of each file the last ``download`` wrote."""
        return list(self._handle.files)

    def wait(self, timeout: float | None = None, poll: _async.PollPolicy | None = None) -> S:
        """Block until the job is terminal; its status, or ``JobFailed``/``JobTimeout``.

        ``poll`` is this wait's own poll policy (the most eager of several waiters wins).
        """
        return self._portal.call(self._handle.wait, timeout, poll)

    def refresh(self) -> S:
        """Fetch the status once, now."""
        return self._portal.call(self._handle.refresh)

    def download(self, dest: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Wait for the job, then stream every output into the directory ``dest``."""

        async def run() -> list[Path]:
            return await self._handle.download(dest, overwrite=overwrite)

        return self._portal.call(run)


class UpdateJob(JobHandle[UpdateStatus]):
    """Blocking twin of :class:`sovfixer_async.UpdateJob`."""

    __slots__ = ()

    @property
    def stage(self) -> str | None:
        """How far the submission got: ``initiated``, ``locations_sent`` or ``started``."""
        return self._update.stage

    @property
    def client_ref(self) -> str | None:
        return self._update.client_ref

    @property
    def delegate_to_team(self) -> str | None:
        """The team its ``add_locations`` and ``start`` act for."""
        return self._update.delegate_to_team

    @property
    def _update(self) -> _async.UpdateJob:
        handle = self._handle
        assert isinstance(handle, _async.UpdateJob)
        return handle

    def add_locations(self, locations: LocationsInput, *, batch_rows: int = 5000) -> None:
        """Send rows to this update (before ``start``); see the async ``add_locations``."""

        async def run() -> None:
            await self._update.add_locations(locations, batch_rows=batch_rows)

        self._portal.call(run)

    def start(
        self,
        *,
        output_formats: Sequence[str] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        policy_terms: Any = None,
        integrations: Sequence[str] | None = None,
        outputter_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> UpdateJob:
        """Start the update; an "already started" answer counts as success."""

        async def run() -> None:
            await self._update.start(
                output_formats=output_formats,
                extra_data=extra_data,
                policy_terms=policy_terms,
                integrations=integrations,
                outputter_name=outputter_name,
                metadata=metadata,
                extra_fields=extra_fields,
            )

        self._portal.call(run)
        return self


class OutputJob(JobHandle[OutputStatus]):
    """Blocking twin of :class:`sovfixer_async.OutputJob`."""

    __slots__ = ()


class ParseJob(JobHandle[ParseStatus]):
    """Blocking twin of :class:`sovfixer_async.ParseJob`."""

    __slots__ = ()


class BulkEnhanceBatch(JobHandle[BulkEnhanceStatus]):
    """Blocking twin of one bulk-enhance batch (:class:`sovfixer_async.BulkEnhanceBatch`)."""

    __slots__ = ()


class BulkEnhanceRun:
    """Blocking twin of a whole bulk-enhance run (:class:`sovfixer_async.BulkEnhanceRun`)."""

    __slots__ = ("_portal", "_run")

    def __init__(self, portal: BlockingPortal, run: _async.BulkEnhanceRun):
        self._portal = portal
        self._run = run

    def __repr__(self) -> str:
        return f"<sync {self._run!r}>"

    @property
    def async_handle(self) -> _async.BulkEnhanceRun:
        """The async run this twin drives (use it only inside the client's loop)."""
        return self._run

    @property
    def id(self) -> str:
        return self._run.id

    @property
    def kind(self) -> str:
        return self._run.kind

    @property
    def token(self) -> str:
        return self._run.token

    @property
    def status(self) -> BulkRunStatus | None:
        return self._run.status

    @property
    def state(self) -> str | None:
        return self._run.state

    @property
    def done(self) -> bool:
        return self._run.done

    @property
    def batches(self) -> list[BulkEnhanceBatch]:
        return [BulkEnhanceBatch(self._portal, b) for b in self._run.batches]

    @property
    def merged(self) -> bool:
        """Every batch's results are merged on disk (``merged_path``, ``results()``)."""
        return self._run.merged

    @property
    def pending(self) -> tuple[int, ...]:
        """Numbers of the batches the server did not accept: ``submit_pending()`` sends them."""
        return self._run.pending

    @property
    def unknown(self) -> tuple[int, ...]:
        """Numbers of the batches whose submission was ambiguous (never resent silently)."""
        return self._run.unknown

    def submit_pending(self, *, unknown: bool = False, concurrency: int = 8) -> None:
        """Send the batches the server did not accept; see the async ``submit_pending``."""

        async def run() -> None:
            await self._run.submit_pending(unknown=unknown, concurrency=concurrency)

        self._portal.call(run)

    @property
    def merged_path(self) -> Path | None:
        """The merged JSONL (one line per location), once the run is done and merged."""
        return self._run.merged_path

    @property
    def files(self) -> list[DownloadResult]:
        return list(self._run.files)

    def wait(
        self, timeout: float | None = None, poll: _async.PollPolicy | None = None
    ) -> BulkRunStatus:
        """Block until every batch is done and the results are merged."""
        return self._portal.call(self._run.wait, timeout, poll)

    def refresh(self) -> BulkRunStatus:
        return self._portal.call(self._run.refresh)

    def download(self, dest: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Copy the merged JSONL, then each raw batch file, into the directory ``dest``."""

        async def run() -> list[Path]:
            return await self._run.download(dest, overwrite=overwrite)

        return self._portal.call(run)

    def results(self) -> Iterator[tuple[str, dict[str, SourceResult]]]:
        """``(location_id, {source: SourceResult})`` for every location (waits first)."""
        return iterate(self._portal, self._run.results(), chunk=RESULTS_CHUNK)


AnyHandle = JobHandle[Any] | BulkEnhanceRun

_TWINS: dict[type[Any], Callable[[BlockingPortal, Any], AnyHandle]] = {
    _async.UpdateJob: UpdateJob,
    _async.OutputJob: OutputJob,
    _async.ParseJob: ParseJob,
    _async.BulkEnhanceBatch: BulkEnhanceBatch,
    _async.BulkEnhanceRun: BulkEnhanceRun,
}


def twin(
    portal: BlockingPortal, handle: _async.JobHandle[Any] | _async.BulkEnhanceRun
) -> AnyHandle:
    """The blocking twin of an async handle (a plain :class:`JobHandle` for other kinds)."""
    for cls in type(handle).__mro__:
        make = _TWINS.get(cls)
        if make is not None:
            return make(portal, handle)
    if isinstance(handle, _async.JobHandle):
        return JobHandle(portal, handle)
    raise TypeError(f"not a job handle: {handle!r}")


H = TypeVar("H", bound=JobHandle[Any] | BulkEnhanceRun)


def as_completed(handles: Iterable[H], *, timeout: float | None = None) -> Iterator[H]:
    """Yield the given handles as they reach a terminal state (failed ones included).

    Every handle must come from the same blocking client. Leaving the loop early stops
    the watchers; the jobs go on.
    """
    items = list(handles)
    if not items:
        return iter(())
    portal = items[0]._portal
    if any(h._portal is not portal for h in items):
        raise InvalidInputError(
            "as_completed takes handles of one client (they share its event loop)",
            field="handles",
        )
    by_id = {id(h.async_handle): h for h in items}
    source = _async.as_completed([h.async_handle for h in items], timeout=timeout)
    return (by_id[id(done)] for done in iterate(portal, source))
