"""Job handles: one small object per server job, polled on behalf of all its waiters.

Every handle has ``id``, ``kind``, ``token``, ``status``, ``done``, ``await wait()``,
``await refresh()`` and ``await download(dest)``. A handle costs a few hundred bytes while
nobody waits on it; waiting adds one entry in the client's poll scheduler, shared by all
the handle's waiters.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import anyio
from anyio.abc import TaskGroup
from attrs import define, field

from sovfixer_async import _downloads
from sovfixer_async._config import ClientConfig
from sovfixer_async._errors import InvalidInputError, JobFailed, JobTimeout, SOVFixerError
from sovfixer_async._events import (
    EventBus,
    JobCompleted,
    JobFailedEvent,
    JobProgress,
    JobStatusChanged,
)
from sovfixer_async._polling import Poller, PollScheduler
from sovfixer_async._transport import Api, Transport, parse_retry_after
from sovfixer_async._urls import check_id, segment
from sovfixer_async.models import (
    BulkEnhanceStatus,
    JobStatus,
    OutputStatus,
    ParseStatus,
    UpdateStatus,
    structure,
)

if TYPE_CHECKING:
    from sovfixer_async._downloads import DownloadResult

S = TypeVar("S", bound=JobStatus)

#: The version of the tokens this SDK writes.
TOKEN_VERSION = 2


@define
class Runtime:
    """What handles share with their client: transport, events, config, task group."""

    transport: Transport
    events: EventBus
    config: ClientConfig
    task_group: TaskGroup | None = None
    #: Parent of the bulk runs' work folders (a temporary folder is made when None).
    work_root: Path | None = None
    #: Folders this client made, removed when it closes unless the config keeps them.
    created_dirs: list[Path] = field(factory=list)
    #: Starts the due polls of every waiting handle (one task for the whole client).
    polls: PollScheduler = field(init=False)

    def __attrs_post_init__(self) -> None:
        limit = self.config.request_limit
        self.polls = PollScheduler(self.start_soon, max(1, limit - limit // 4))

    def start_soon(self, func: Any, *args: Any) -> None:
        if self.task_group is None:
            raise SOVFixerError(
                "the client is not open: use it inside 'async with Client(...) as client:'"
            )
        self.task_group.start_soon(func, *args)


class JobHandle(Generic[S]):
    """Base of every job handle."""

    kind: ClassVar[str]
    api: ClassVar[Api]
    status_type: ClassVar[type[Any]]

    __slots__ = ("_poller", "_progress", "_rt", "_submitted", "files", "id", "status")

    def __init__(self, runtime: Runtime, job_id: str, status: S | None = None):
        self._rt = runtime
        self.id = job_id
        self.status: S | None = status
        #: Size and sha256 of each file the last ``download`` wrote.
        self.files: list[DownloadResult] = []
        self._poller: Poller | None = None
        self._submitted = time.monotonic()
        self._progress: float | None = None

    def __repr__(self) -> str:
        state = self.status.state if self.status is not None else "unknown"
        return f"<{type(self).__name__} {self.kind} {self.id} {state}>"

    # -- identity ----------------------------------------------------------------------

    def _token_fields(self) -> dict[str, Any]:
        return {}

    @property
    def token(self) -> str:
        """A string that ``client.resume`` turns back into a live handle (no secrets)."""
        data = {"v": TOKEN_VERSION, "kind": self.kind, "id": self.id, "api": self.api}
        data.update(self._token_fields())
        return json.dumps(data, separators=(",", ":"))

    @property
    def done(self) -> bool:
        return self.status is not None and self.status.done

    @property
    def state(self) -> str | None:
        return self.status.state if self.status is not None else None

    # -- polling -----------------------------------------------------------------------

    def _status_path(self) -> str:
        raise NotImplementedError

    def _status_params(self) -> dict[str, str] | None:
        return None

    async def _fetch(self) -> tuple[S, float | None]:
        response = await self._rt.transport.request(
            "GET",
            self.api,
            self._status_path(),
            params=self._status_params(),
            job_id=self.id,
            what=f"status of {self.kind} job",
        )
        status: S = structure(response.json(), self.status_type)
        return status, parse_retry_after(response.headers.get("Retry-After"))

    def _observe(self, status: S) -> None:
        """Keep the newest status and tell listeners what changed."""
        previous = self.status.state if self.status is not None else None
        self.status = status
        events = self._rt.events
        if not events.active:
            return
        if status.state != previous:
            events.emit(JobStatusChanged(self.kind, self.id, status.state, previous))
            if status.done:
                failure = status.failure
                if failure is None:
                    events.emit(JobCompleted(self.kind, self.id))
                else:
                    events.emit(JobFailedEvent(self.kind, self.id, failure[0], failure[1]))
        if status.progress != self._progress:
            self._progress = status.progress
            events.emit(JobProgress(self.kind, self.id, status.progress))

    def deliver(self, status: S) -> None:
        """Apply a status pushed by a callback; a terminal one completes the waits now."""
        if self.done and not status.done:
            return  # a late, stale push never undoes a terminal state
        self._observe(status)
        poller = self._poller
        if status.done and poller is not None:
            self._rt.polls.finish(poller)

    async def _poll_once(self) -> tuple[bool, float | None, float | None]:
        status, retry_after = await self._fetch()
        self._observe(status)
        return status.done, retry_after, status.progress

    async def refresh(self) -> S:
        """Fetch the status once, now; errors are raised as they come."""
        status, _ = await self._fetch()
        self._observe(status)
        return status

    def _outcome(self) -> S:
        status = self.status
        assert status is not None
        failure = status.failure
        if failure is not None:
            raise JobFailed(self.kind, self.id, failure[0], failure[1], status)
        return status

    async def wait(self, timeout: float | None = None) -> S:
        """Wait until the job is terminal; return its status or raise ``JobFailed``.

        ``timeout=None`` means the poll policy's deadline (default 3600 s), ``math.inf``
        waits forever. Past it, ``JobTimeout`` carries the resume token; the server job
        goes on. Cancelling one wait leaves other waiters (and the job) alone.
        """
        if not self.done:
            await self._wait_polled(self._rt.config.poll.deadline if timeout is None else timeout)
        return self._outcome()

    async def _wait_polled(self, budget: float) -> None:
        poller = self._poller
        if poller is None or not poller.active:
            poller = self._poller = self._rt.polls.watch(
                self, self._rt.config.poll, self._submitted
            )
        poller.waiters += 1
        try:
            if budget == math.inf:
                await poller.finished.wait()
            else:
                with anyio.move_on_after(budget):
                    await poller.finished.wait()
        finally:
            poller.waiters -= 1
            if poller.waiters == 0 and poller.active:
                self._rt.polls.abandon(poller)
                if self._poller is poller:
                    self._poller = None
        if self.done:
            return
        if poller.error is not None:
            raise poller.error
        raise JobTimeout(self.kind, self.id, budget, self.token, self.state)

    # -- outputs -----------------------------------------------------------------------

    async def download(self, dest: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Stream every output file into the directory ``dest``; one path per output.

        Waits for the job first when it is not done. Size and sha256 of each file are on
        ``self.files`` (and on the ``DownloadFinished`` events).
        """
        status = await self.wait()
        results = await _downloads.download_all(
            self._rt.transport,
            status.outputs,
            dest,
            overwrite=overwrite,
            job_id=self.id,
            events=self._rt.events,
        )
        self.files = results
        return [r.path for r in results]


class UpdateJob(JobHandle[UpdateStatus]):
    """An SOV update (SUD): initiate_update, add_locations, start, then poll."""

    kind = "update"
    api = "extraction"
    status_type = UpdateStatus
    __slots__ = ()

    def _status_path(self) -> str:
        return f"/api/v1/sov/update/{segment(self.id)}"


class OutputJob(JobHandle[OutputStatus]):
    """A get_or_create_output request; already done when the server had it cached."""

    kind = "output"
    api = "extraction"
    status_type = OutputStatus
    __slots__ = ()

    def _status_path(self) -> str:
        return f"/api/v1/sov/get_or_create_output/{segment(self.id)}"


class ParseJob(JobHandle[ParseStatus]):
    """A first-time SOV parse (``POST /api/v1/sov``); the id is the new SOV id."""

    kind = "parse"
    api = "extraction"
    status_type = ParseStatus
    __slots__ = ()

    def _status_path(self) -> str:
        return f"/api/v1/sov/{segment(self.id)}"

    def _status_params(self) -> dict[str, str]:
        return {"include_progress": "true"}


class BulkEnhanceJob(JobHandle[BulkEnhanceStatus]):
    """One Ping.Data bulk-enhance batch as the server knows it."""

    kind = "bulk_enhance"
    api = "data"
    status_type = BulkEnhanceStatus
    __slots__ = ()

    def _status_path(self) -> str:
        return f"/api/v1/bulk_enhance/{segment(self.id)}"


HANDLE_TYPES: dict[str, type[JobHandle[Any]]] = {
    cls.kind: cls for cls in (UpdateJob, OutputJob, ParseJob, BulkEnhanceJob)
}


#: Token versions this SDK reads: 1 (0.1; its bulk-run ``work_dir`` is ignored) and 2.
TOKEN_VERSIONS = (1, 2)
#: A token longer than this is refused before it is decoded.
MAX_TOKEN_LENGTH = 4 * 1024 * 1024


def parse_token(token: str) -> dict[str, Any]:
    """Decode a resume token, or raise ``InvalidInputError`` saying what is wrong.

    A token is untrusted input (it may come back from a database or a queue): its
    version, kind and id are checked here; nothing in it is ever used as a local path.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidInputError(
            f"not a resume token (expected a string of at most {MAX_TOKEN_LENGTH} characters)",
            field="token",
        )
    try:
        data = json.loads(token)
    except (TypeError, ValueError, RecursionError):
        raise InvalidInputError(
            "not a resume token (expected the JSON string a handle's .token gives)",
            field="token",
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError("not a resume token (expected a JSON object)", field="token")
    version = data.get("v")
    if type(version) is not int or version not in TOKEN_VERSIONS:
        raise InvalidInputError(
            f"resume token version {version!r} is not supported "
            f"(expected one of {', '.join(map(str, TOKEN_VERSIONS))})",
            field="token",
        )
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise InvalidInputError("resume token has no job id", field="token")
    check_id(data["id"], "token.id")
    if not isinstance(data.get("kind"), str):
        raise InvalidInputError("resume token has no job kind", field="token")
    return data


class Waitable(Protocol):
    """Anything ``as_completed`` can watch: job handles and bulk runs."""

    _rt: Runtime

    async def wait(self, timeout: float | None = None) -> Any: ...


W = TypeVar("W", bound=Waitable)


async def as_completed(handles: Iterable[W], *, timeout: float | None = None) -> AsyncIterator[W]:
    """Yield handles as they reach a terminal state (failed ones included).

    The watchers run in the client's task group, so leaving the loop early is safe: they are
    cancelled then. A wait that fails otherwise (timeout, lost access) is raised.
    """
    items = list(handles)
    if not items:
        return
    send, receive = anyio.create_memory_object_stream[W | BaseException](len(items))
    scopes = [anyio.CancelScope() for _ in items]

    async def watch(handle: W, scope: anyio.CancelScope) -> None:
        with scope:
            try:
                await handle.wait(timeout)
            except JobFailed:
                pass
            except SOVFixerError as exc:
                send.send_nowait(exc)
                return
            send.send_nowait(handle)

    for handle, scope in zip(items, scopes, strict=True):
        handle._rt.start_soon(watch, handle, scope)
    try:
        with receive:
            for _ in items:
                item = await receive.receive()
                if isinstance(item, BaseException):
                    raise item
                yield item
    finally:
        for scope in scopes:
            scope.cancel()
