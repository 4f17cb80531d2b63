"""Progress events: what happened to which job, delivered to callbacks and async iterators.

Events are plain frozen records. The :class:`EventBus` hands each one to every callback
(synchronously, exceptions logged and swallowed so a bad callback cannot break a job) and
to every ``async for event in client.events()`` listener through a bounded buffer; a slow
listener loses the oldest events rather than slowing jobs down.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
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


Event = (
    JobSubmitted
    | JobStatusChanged
    | JobProgress
    | JobCompleted
    | JobFailedEvent
    | DownloadProgress
    | DownloadFinished
)
Callback = Callable[[Event], Any]


class _Listener:
    def __init__(self, maxlen: int):
        self.buffer: deque[Event] = deque(maxlen=maxlen)
        self.ready = anyio.Event()


class EventBus:
    """Fan-out of events to callbacks and async listeners."""

    def __init__(self, callbacks: list[Callback] | None = None, buffer: int = 10_000):
        self._callbacks = list(callbacks or [])
        self._listeners: list[_Listener] = []
        self._buffer = buffer

    def subscribe(self, callback: Callback) -> None:
        self._callbacks.append(callback)

    @property
    def active(self) -> bool:
        """False when nobody listens, so hot paths can skip building events."""
        return bool(self._callbacks or self._listeners)

    def emit(self, event: Event) -> None:
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception:
                logger.exception("event callback %r failed on %r", callback, event)
        for listener in self._listeners:
            listener.buffer.append(event)
            listener.ready.set()

    async def listen(self) -> AsyncIterator[Event]:
        """Yield events from now on, until the consumer stops iterating."""
        listener = _Listener(self._buffer)
        self._listeners.append(listener)
        try:
            while True:
                while listener.buffer:
                    yield listener.buffer.popleft()
                listener.ready = anyio.Event()
                await listener.ready.wait()
        finally:
            self._listeners.remove(listener)
