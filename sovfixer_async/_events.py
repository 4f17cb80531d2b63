"""Progress events: what happened to which job, delivered to callbacks and async iterators.

Events are plain frozen records. The :class:`EventBus` hands each one to every callback
(synchronously; a coroutine callback's awaitables are awaited in order in the client's task
group; exceptions logged and swallowed so a bad callback cannot break a job) and to every
``async for event in client.events()`` listener through a bounded buffer; a slow
listener loses the oldest events rather than slowing jobs down.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from attrs import frozen

logger = logging.getLogger("sovfixer_async")


@frozen
class JobSubmitted:
    kind: str
    job_id: str
    #: What ``client.resume`` needs to pick the job up again (e.g. after an interruption
    #: between an update's creation and its start).
    token: str | None = None


@frozen
class JobStatusChanged:
    kind: str
    job_id: str
    state: str
    previous: str | None


@frozen
class JobProgress:
    kind: str
    job_id: str
    #: 0.0 to 1.0 when the server reports it.
    progress: float | None


@frozen
class JobCompleted:
    kind: str
    job_id: str


@frozen
class JobFailedEvent:
    kind: str
    job_id: str
    result_status: str | None
    message: str | None


@frozen
class DownloadProgress:
    url: str
    path: Path
    job_id: str | None
    bytes_done: int
    #: None when the server sent no length.
    total: int | None


@frozen
class DownloadFinished:
    url: str
    path: Path
    job_id: str | None
    size: int
    sha256: str


@frozen
class EventsDropped:
    """A ``client.events()`` listener fell behind: ``count`` older events were dropped."""

    count: int


Event = (
    JobSubmitted
    | JobStatusChanged
    | JobProgress
    | JobCompleted
    | JobFailedEvent
    | DownloadProgress
    | DownloadFinished
    | EventsDropped
)
Callback = Callable[[Event], Any]


class _Listener:
    def __init__(self, maxlen: int):
        self.buffer: deque[Event] = deque(maxlen=maxlen)
        self.ready = anyio.Event()
        #: Events pushed out of the full buffer since the listener last caught up.
        self.dropped = 0

    def push(self, event: Event) -> None:
        if len(self.buffer) == self.buffer.maxlen:
            self.dropped += 1
        self.buffer.append(event)
        self.ready.set()


class _AsyncCallback:
    """The awaitables an async callback returned, awaited in order by one task at a time."""

    def __init__(self, callback: Callback, maxlen: int):
        self.callback = callback
        self.queue: deque[Awaitable[Any]] = deque()
        self.maxlen = maxlen
        self.running = False

    def add(self, awaitable: Awaitable[Any], spawn: Spawn | None) -> None:
        if spawn is None:
            _close(awaitable)
            logger.warning("async event callback %r not run: the client is not open", self.callback)
            return
        if len(self.queue) >= self.maxlen:
            _close(self.queue.popleft())
            logger.warning("async event callback %r is behind: an event was dropped", self.callback)
        self.queue.append(awaitable)
        if not self.running:
            self.running = True
            try:
                spawn(self.drain)
            except Exception:
                self.running = False
                while self.queue:
                    _close(self.queue.popleft())
                logger.exception("cannot run async event callback %r", self.callback)

    async def drain(self) -> None:
        try:
            while self.queue:
                awaitable = self.queue.popleft()
                try:
                    await awaitable
                except Exception:
                    logger.exception("async event callback %r failed", self.callback)
        finally:
            self.running = False
            while self.queue:  # the client closed under us: nothing left to run them
                _close(self.queue.popleft())


def _close(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()  # a coroutine never awaited: no "never awaited" warning


Spawn = Callable[[Callable[[], Awaitable[Any]]], None]


class EventBus:
    """Fan-out of events to callbacks and async listeners.

    A callback may be a coroutine function: what it returns is awaited in the client's task
    group, one event after the other per callback (at most ``buffer`` waiting).
    """

    def __init__(self, callbacks: list[Callback] | None = None, buffer: int = 10_000):
        self._callbacks = list(callbacks or [])
        self._listeners: list[_Listener] = []
        self._buffer = buffer
        self._async: dict[int, _AsyncCallback] = {}
        self._spawn: Spawn | None = None

    def bind(self, spawn: Spawn | None) -> None:
        """Where async callbacks run: ``spawn(func)`` starts ``func()`` (None: nowhere)."""
        self._spawn = spawn

    def subscribe(self, callback: Callback) -> None:
        self._callbacks.append(callback)

    @property
    def active(self) -> bool:
        """False when nobody listens, so hot paths can skip building events."""
        return bool(self._callbacks or self._listeners)

    def emit(self, event: Event) -> None:
        for callback in self._callbacks:
            try:
                result = callback(event)
            except Exception:
                logger.exception("event callback %r failed on %r", callback, event)
                continue
            if inspect.isawaitable(result):
                runner = self._async.get(id(callback))
                if runner is None:
                    runner = self._async[id(callback)] = _AsyncCallback(callback, self._buffer)
                runner.add(result, self._spawn)
        for listener in self._listeners:
            listener.push(event)

    async def listen(self) -> AsyncIterator[Event]:
        """Yield events from now on, until the consumer stops iterating."""
        listener = _Listener(self._buffer)
        self._listeners.append(listener)
        try:
            while True:
                while listener.buffer:
                    if listener.dropped:
                        dropped, listener.dropped = listener.dropped, 0
                        yield EventsDropped(dropped)
                    yield listener.buffer.popleft()
                listener.ready = anyio.Event()
                await listener.ready.wait()
        finally:
            self._listeners.remove(listener)
