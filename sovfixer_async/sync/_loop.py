"""What every blocking object shares: an event loop in a thread of its own (anyio's
blocking portal), the async object living in it, and one idempotent ``close()``."""

from __future__ import annotations

import contextlib
import threading
import weakref
from contextlib import ExitStack
from types import TracebackType
from typing import Generic, Self, TypeVar

from anyio.from_thread import BlockingPortal

from sovfixer_async._errors import SOVFixerError

I = TypeVar("I")  # noqa: E741  (the inner, async object)


def stop_portal(portal: BlockingPortal) -> None:
    """Cancel the calls still in flight in ``portal`` (their threads get
    ``concurrent.futures.CancelledError``) and stop it; nothing once it has stopped."""
    with contextlib.suppress(RuntimeError):  # already stopped
        portal.call(portal.stop, True)


class LoopOwner(Generic[I]):
    """Owns ``stack`` (the portal, the inner object's lifetime) and closes it once.

    Subclasses build the stack (closing it if building fails) and hand it over; a dropped
    object still closes it when collected.
    """

    #: What ``"the ... is closed"`` errors name.
    _noun = "object"

    def __init__(self, stack: ExitStack, portal: BlockingPortal, inner: I):
        self._lock = threading.Lock()
        self._closed = False
        self._stack: ExitStack | None = stack
        self._inner_: I | None = inner
        self._portal_: BlockingPortal | None = portal
        self._finalizer = weakref.finalize(self, stack.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the async object and the loop thread.

        Safe to call twice, or from any thread; later calls on this object raise.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer.detach()
        self._closing()
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def _closing(self) -> None:
        """Runs in ``close()`` before the stack closes (new calls are refused already)."""

    @property
    def closed(self) -> bool:
        return self._closed

    def _inner(self) -> I:
        inner = self._inner_
        if inner is None or self._closed:
            raise SOVFixerError(f"the {self._noun} is closed")
        return inner

    def _portal(self) -> BlockingPortal:
        portal = self._portal_
        if portal is None or self._closed:
            raise SOVFixerError(f"the {self._noun} is closed")
        return portal
