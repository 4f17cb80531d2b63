"""Job handles: one small object per server job, polled on behalf of all its waiters.

Every handle has ``id``, ``kind``, ``token``, ``status``, ``done``, ``await wait()``,
``await refresh()`` and ``await download(dest)``. A handle costs a few hundred bytes while
nobody waits on it; waiting adds one entry in the client's poll scheduler, shared by all
the handle's waiters.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

import anyio

from sovfixer_async import _downloads
from sovfixer_async._config import PollPolicy
from sovfixer_async._context import JobContext, TaskRunner
from sovfixer_async._errors import InvalidInputError, JobFailed, JobTimeout
from sovfixer_async._events import (
    JobCompleted,
    JobFailedEvent,
    JobProgress,
    JobStatusChanged,
)
from sovfixer_async._polling import StatusQuery, Watch, fetch_status
from sovfixer_async._refs import check_client_ref, token_client_ref
from sovfixer_async._transport import Api
from sovfixer_async._urls import check_id, segment
from sovfixer_async.models import (
    BulkEnhanceStatus,
    JobStatus,
    OutputStatus,
    ParseStatus,
    structure,
)

if TYPE_CHECKING:
    from sovfixer_async._downloads import DownloadResult

S = TypeVar("S", bound=JobStatus)

#: The version of the tokens this SDK writes.
TOKEN_VERSION = 2


class JobHandle(Generic[S]):
    """Base of every job handle."""

    kind: ClassVar[str]
    api: ClassVar[Api]
    status_type: ClassVar[type[Any]]

    __slots__ = ("_error", "_progress", "_rt", "_submitted", "files", "id", "status")

    def __init__(self, context: JobContext, job_id: str, status: S | None = None):
        #: The client's collaborators (transport, events, config, poll scheduler...).
        self._rt = context
        self.id = job_id
        self.status: S | None = status
        #: Size and sha256 of each file the last ``download`` wrote.
        self.files: list[DownloadResult] = []
        self._submitted = time.monotonic()
        self._progress: float | None = None
        #: How a wait of ``as_completed`` ended, not done: the next ``wait()`` raises it.
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        state = self.status.state if self.status is not None else "unknown"
        return f"<{type(self).__name__} {self.kind} {self.id} {state}>"

    # -- identity ----------------------------------------------------------------------

    @classmethod
    def from_token(cls, context: JobContext, data: dict[str, Any]) -> Self:
        """The handle a parsed (checked) token names; kinds with more fields check them."""
        return cls(context, data["id"])

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

    def _parse(self, data: Any) -> S:
        status: S = structure(data, self.status_type)
        return status

    def _query(self) -> StatusQuery[S]:
        return StatusQuery(
            self.kind, self.id, self.api, self._status_path(), self._status_params(), self._parse
        )

    def _observe(self, status: S) -> None:
        """Keep the newest status and tell listeners what changed.

        A job seen terminal stays terminal: a later non-terminal answer (a stale replica,
        a late push) is ignored.
        """
        if self.done and not status.done:
            return
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

    def _keep_outcome(self, error: BaseException) -> None:
        self._error = error

    def _apply(self, status: S) -> bool:
        self._observe(status)
        return self.done

    def deliver(self, status: S) -> None:
        """Apply a status pushed by a callback; a terminal one completes the waits now."""
        self._observe(status)
        if self.done:
            self._rt.polls.settle(self)

    async def refresh(self) -> S:
        """Fetch the status once, now; errors are raised as they come.

        Returns the handle's status: a terminal one stays, whatever the server says later.
        """
        status, _ = await fetch_status(self._rt.transport, self._query())
        self._observe(status)
        assert self.status is not None
        return self.status

    def _outcome(self) -> S:
        status = self.status
        assert status is not None
        failure = status.failure
        if failure is not None:
            raise JobFailed(self.kind, self.id, failure[0], failure[1], status)
        return status

    async def wait(self, timeout: float | None = None, poll: PollPolicy | None = None) -> S:
        """Wait until the job is terminal; return its status or raise ``JobFailed``.

        ``timeout=None`` means the poll policy's deadline (default 3600 s), ``math.inf``
        waits forever. Past it, ``JobTimeout`` carries the resume token; the server job
        goes on. Cancelling one wait leaves other waiters (and the job) alone. A failed poll
        is a missed poll unless it says the job or the access is gone; such an error ends
        the wait. After ``as_completed`` yielded this handle, not done, the first
        ``wait()`` raises at once how that wait ended. ``poll`` is this wait's own poll
        policy (its deadline too); of several waiters the most eager policy wins.
        """
        if not self.done:
            error, self._error = self._error, None
            if error is not None:
                raise error
            policy = self._rt.config.poll if poll is None else poll
            if not isinstance(policy, PollPolicy):
                raise InvalidInputError("expected a PollPolicy", field="poll")
            budget = policy.deadline if timeout is None else timeout
            watch = Watch(self._query(), self._apply, policy, self._submitted)
            error = await self._rt.polls.wait(self, watch, budget)
            if not self.done:
                if error is not None:
                    raise error
                raise JobTimeout(self.kind, self.id, budget, self.token, self.state)
        return self._outcome()

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


class OutputJob(JobHandle[OutputStatus]):
    """A get_or_create_output request; already done when the server had it cached."""

    kind = "output"
    api = "extraction"
    status_type = OutputStatus
    __slots__ = ()

    def _status_path(self) -> str:
        return f"/api/v1/sov/get_or_create_output/{segment(self.id)}"


class ParseJob(JobHandle[ParseStatus]):
    """A first-time SOV parse (``POST /api/v1/sov``); the id is the new SOV id.

    ``client_ref`` is the reference its submission carried (``client.reconcile``).
    """

    kind = "parse"
    api = "extraction"
    status_type = ParseStatus
    __slots__ = ("client_ref",)

    def __init__(
        self,
        context: JobContext,
        job_id: str,
        status: ParseStatus | None = None,
        *,
        client_ref: str | None = None,
    ):
        super().__init__(context, job_id, status)
        self.client_ref = None if client_ref is None else check_client_ref(client_ref, "client_ref")

    @classmethod
    def from_token(cls, context: JobContext, data: dict[str, Any]) -> ParseJob:
        return cls(context, data["id"], client_ref=token_client_ref(data))

    def _token_fields(self) -> dict[str, Any]:
        return {} if self.client_ref is None else {"client_ref": self.client_ref}

    def _status_path(self) -> str:
        return f"/api/v1/sov/{segment(self.id)}"

    def _status_params(self) -> dict[str, str]:
        return {"include_progress": "true"}


class BulkEnhanceBatch(JobHandle[BulkEnhanceStatus]):
    """One Ping.Data bulk-enhance batch as the server knows it."""

    kind = "bulk_enhance"
    api = "data"
    status_type = BulkEnhanceStatus
    __slots__ = ()

    def _status_path(self) -> str:
        return f"/api/v1/bulk_enhance/{segment(self.id)}"


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


def observe(handle: JobHandle[S], status: S) -> None:
    """Give a new handle the status its submission answered (a cached output is done)."""
    handle._observe(status)


class Waitable(Protocol):
    """Anything ``as_completed`` can watch: job handles and bulk runs."""

    @property
    def id(self) -> str: ...

    async def wait(self, timeout: float | None = None) -> Any: ...


W = TypeVar("W", bound=Waitable)


def _tasks_of(handle: Waitable) -> TaskRunner:
    context = getattr(handle, "_rt", None)
    if not isinstance(context, JobContext):
        raise TypeError(f"as_completed takes handles of a sovfixer_async Client, not {handle!r}")
    return context.tasks


async def as_completed(handles: Iterable[W], *, timeout: float | None = None) -> AsyncIterator[W]:
    """Yield handles as their waits end: done, failed, timed out or in error.

    Each handle is yielded once, when its ``wait(timeout)`` ends, however it ended; awaiting
    its ``wait()`` then returns or raises at once (a timed-out one, not done, waits again).
    The watchers run in the client's task group and never raise into it; leaving the loop
    early is safe: they are cancelled then.
    """
    items = list(handles)
    if not items:
        return
    runners = [_tasks_of(handle) for handle in items]
    async for handle in _as_completed(items, runners, timeout):
        yield handle


async def _as_completed(
    items: list[W], runners: list[TaskRunner], timeout: float | None
) -> AsyncIterator[W]:
    send, receive = anyio.create_memory_object_stream[W](len(items))
    scopes = [anyio.CancelScope() for _ in items]

    async def watch(handle: W, scope: anyio.CancelScope) -> None:
        with scope:
            try:
                await handle.wait(timeout)
            except JobFailed:
                pass  # done: its wait() raises this again by itself
            except Exception as exc:  # kept for the handle's next wait(), never raised here
                keep = getattr(handle, "_keep_outcome", None)
                if keep is not None:
                    keep(exc)
            send.send_nowait(handle)

    for handle, scope, runner in zip(items, scopes, runners, strict=True):
        runner.start_soon(watch, handle, scope)
    try:
        with receive:
            for _ in items:
                yield await receive.receive()
    finally:
        for scope in scopes:
            scope.cancel()


async def as_completed_in(
    tasks: TaskRunner, handles: Iterable[W], timeout: float | None
) -> AsyncIterator[W]:
    """``as_completed`` with the watchers in the given task runner (a client's)."""
    items = list(handles)
    async for handle in _as_completed(items, [tasks] * len(items), timeout):
        yield handle
