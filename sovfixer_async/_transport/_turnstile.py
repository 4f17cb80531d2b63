"""Let a herd of tasks through a few per event-loop turn instead of all in one.

Asyncio runs every callback that is ready in one turn of its loop before it looks at the
clock again. When 5,000 submissions are started at once, or 5,000 tasks wait on one event
(the first submission's fetch of the output formats) and it is set, each of them runs up to
its next suspension in that one turn: building its request, its JSON, its headers. At
~20 µs each that holds the loop for ~100 ms, and every other task of the program (and its
timers) waits as long. A :class:`Turnstile` lets at most ``per_turn`` tasks through per
turn; the others wait in arrival order and are let through ``per_turn`` at a time on the
following turns. A lone task passes at once (a counter and a ``call_soon``).

:class:`TrickleEvent` is a set-once event whose waiters are woken the same way.

Both need asyncio (aiohttp does too); cancellation of a waiting task is honoured.
"""

from __future__ import annotations

import asyncio
from collections import deque

#: Tasks let through per loop turn. At ~20 µs of work each before they next suspend
#: (a submission's request built and queued at the rate limit), ~2 ms per turn.
PER_TURN = 100


class Turnstile:
    """At most ``per_turn`` passes per loop turn; the rest wait, first come first through."""

    def __init__(self, per_turn: int = PER_TURN) -> None:
        if per_turn < 1:
            raise ValueError(f"per_turn must be at least 1, got {per_turn!r}")
        self.per_turn = per_turn
        #: Passes in the current turn (reset by :meth:`_tick` on the next one).
        self._passed = 0
        self._queue: deque[asyncio.Future[None]] = deque()
        self._tick_pending = False
        #: The loop the count and the queue belong to (a client may be reused on another).
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Whether waiters may pass (a :class:`TrickleEvent` keeps it shut until set).
        self._open = True

    @property
    def waiting(self) -> int:
        """Tasks waiting to pass (cancelled ones may be counted until the next turn)."""
        return len(self._queue)

    async def enter(self) -> None:
        """Pass now when this turn has room and nobody waits; else wait for a later turn."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop: what the old one counted is gone with it
            self._loop, self._passed, self._tick_pending = loop, 0, False
            self._queue.clear()
        if self._open and not self._queue and self._passed < self.per_turn:
            self._passed += 1
            self._schedule()
            return
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(future)
        self._schedule()
        try:
            await future
        except BaseException:
            if not future.done():
                future.cancel()  # skipped by _tick; the queue forgets it there
            raise

    def _schedule(self) -> None:
        loop = self._loop
        if self._tick_pending or not self._open or loop is None or loop.is_closed():
            return
        self._tick_pending = True
        loop.call_soon(self._tick)

    def _tick(self) -> None:
        """A new turn: the count starts again and the next waiters are let through (they
        run on the turn after this one, counted against it)."""
        self._tick_pending = False
        self._passed = 0
        queue = self._queue
        while queue and self._passed < self.per_turn:
            future = queue.popleft()
            if not future.done():
                future.set_result(None)
                self._passed += 1
        if queue or self._passed:
            self._schedule()

    def _shut(self) -> None:
        self._open = False

    def _release(self) -> None:
        self._open = True
        if self._queue:
            self._schedule()


class TrickleEvent:
    """A set-once event whose waiters are woken ``per_turn`` per loop turn, in order."""

    def __init__(self, per_turn: int = PER_TURN) -> None:
        self._gate = Turnstile(per_turn)
        self._gate._shut()

    def is_set(self) -> bool:
        return self._gate._open

    def set(self) -> None:
        if not self._gate._open:
            self._gate._release()

    async def wait(self) -> None:
        """Return once :meth:`set` was called (at once when it was, within a turn's room)."""
        await self._gate.enter()
