"""The blocking :class:`Ledger`: the async ledger on its own event-loop thread.

Its calls (plan, status, held, resolve, prune, results) run in the ledger's loop thread.
``work(client, dest)`` runs in the *client's* loop thread instead: the worker drives the
client's aiohttp session, which belongs to that loop. The async ledger keeps nothing tied
to a loop (each transaction runs in a worker thread of whichever loop asks), so one
ledger serves both loops, and any number of clients, at once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from typing import Concatenate, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

import sovfixer_async as _async
from sovfixer_async import ledger as _ledger
from sovfixer_async._errors import InvalidInputError, SOVFixerError
from sovfixer_async.ledger import LedgerURL
from sovfixer_async.sync._client import Client
from sovfixer_async.sync._handles import RESULTS_CHUNK, iterate
from sovfixer_async.sync._loop import LoopOwner, stop_portal
from sovfixer_async.sync._twin import blocking, calling

log = logging.getLogger("sovfixer_async.ledger")

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds ``close()`` waits for a running ``work()`` to hand its items back and stop.
STOP_WAIT = 60.0


class _Run:
    """One ``work()`` call running in a client's loop: stopped by cancelling its scope."""

    def __init__(self, portal: BlockingPortal):
        self.portal = portal
        self.future: concurrent.futures.Future[None] | None = None
        self._lock = threading.Lock()
        self._scope: anyio.CancelScope | None = None
        self._stopping = False

    async def body(self, work: Callable[[], Awaitable[None]]) -> None:
        with anyio.CancelScope() as scope:
            with self._lock:
                self._scope = scope
                if self._stopping:
                    scope.cancel()
            await work()

    def stop(self) -> None:
        """Cancel the worker (it hands its items back); ``work()`` then returns."""
        with self._lock:
            self._stopping = True
            scope = self._scope
        if scope is not None:
            with contextlib.suppress(RuntimeError):  # the client's loop has stopped
                self.portal.call(scope.cancel)

    def wait(self, timeout: float) -> None:
        if self.future is not None:
            done, _ = concurrent.futures.wait([self.future], timeout)
            if not done:
                log.warning("a ledger worker did not stop within %.0f s", timeout)


def _close_elsewhere(inner: _ledger.Ledger) -> None:
    """Close the async ledger once its loop has stopped (no call of the ledger's can still
    be running, nor start): in a short-lived loop thread of its own."""
    with start_blocking_portal(name="sovfixer-async-ledger-close") as portal:
        portal.call(inner.close)


def _chunked(portal: BlockingPortal, source: AsyncIterator[T]) -> Iterator[T]:
    """A plain iterator pulling up to ``RESULTS_CHUNK`` items per hop to the loop thread."""
    return iterate(portal, source, chunk=RESULTS_CHUNK)


def _opening(method: Callable[P, Awaitable[_ledger.Ledger]]) -> Callable[P, Ledger]:
    """``Ledger.open(...)`` with the parameters of the async ``Ledger.open``."""

    @functools.wraps(method)
    def opener(*args: P.args, **kwargs: P.kwargs) -> Ledger:
        return Ledger(lambda: method(*args, **kwargs))

    return opener


def _working(
    method: Callable[Concatenate[_ledger.Ledger, _async.Client, P], Awaitable[None]],
) -> Callable[Concatenate[Ledger, Client, P], None]:
    """``ledger.work(client, ...)`` with the parameters of the async ``Ledger.work``."""

    @functools.wraps(method)
    def work(self: Ledger, client: Client, /, *args: P.args, **kwargs: P.kwargs) -> None:
        inner = self._inner()
        self._work(client, lambda async_client: method(inner, async_client, *args, **kwargs))

    return work


class Ledger(LoopOwner[_ledger.Ledger]):
    """Blocking twin of :class:`sovfixer_async.ledger.Ledger`.

    ::

        with sync.Ledger.open("sqlite:///jobs.db") as ledger, sync.Client() as client:
            ledger.plan_parse("book.xlsx")
            ledger.work(client, "out", exit_when_done=True)

    ``Ledger.open(url)`` connects (``sqlite:///path`` or ``postgresql://...``) and runs the
    ledger in a loop thread of its own; its methods are the async ledger's, blocking, and
    ``results()`` is a plain iterator (read batch by batch). ``work(client, dest, ...)``
    takes a blocking :class:`~sovfixer_async.sync.Client` and runs the worker in that
    client's loop thread until done (``exit_when_done``), the ledger is closed (then it
    returns), or the calling thread is interrupted (the worker hands its items back
    first). Any thread may call it, or ``close()``. The URL's password is never shown.
    """

    _noun = "ledger"

    #: ``sync.Ledger.open(url, *, pool_size=4)``: connect, create or migrate the schema.
    open = staticmethod(_opening(_ledger.Ledger.open))

    def __init__(self, opening: Callable[[], Awaitable[_ledger.Ledger]]):
        """Use :meth:`open`."""
        if not callable(opening):
            raise TypeError("use sovfixer_async.sync.Ledger.open(url)")
        self._runs: set[_Run] = set()
        stack = ExitStack()
        try:
            portal = stack.enter_context(start_blocking_portal(name="sovfixer-async-ledger"))
            inner = portal.call(opening)
            # On close (last pushed, first run): calls in flight are cancelled and the loop
            # stops; then the database closes; then the loop thread is joined.
            stack.callback(_close_elsewhere, inner)
            stack.callback(stop_portal, portal)
        except BaseException:
            stack.close()
            raise
        super().__init__(stack, portal, inner)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<sync Ledger {self.url} {state}>"

    @property
    def url(self) -> LedgerURL:
        """The ledger's URL (its ``str()`` hides the password)."""
        inner = self._inner_
        assert inner is not None
        return inner.url

    @property
    def async_ledger(self) -> _ledger.Ledger:
        """The async ledger behind this one (thread-safe: it holds no loop-bound state)."""
        return self._inner()

    def close(self) -> None:
        """Stop every ``work()`` running on this ledger (their items are handed back and
        the calls return), then close the database and the loop thread.

        Safe to call twice, or from any thread (not from a client's ``on_event``).
        """
        super().close()

    def _closing(self) -> None:
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.stop()
        for run in runs:
            run.wait(STOP_WAIT)

    # -- planning and operators: the async methods, blocking ----------------------------

    plan_parse = blocking(_ledger.Ledger.plan_parse)
    plan_update = blocking(_ledger.Ledger.plan_update)
    plan_output = blocking(_ledger.Ledger.plan_output)
    plan_enhance = blocking(_ledger.Ledger.plan_enhance)
    status = blocking(_ledger.Ledger.status)
    held = blocking(_ledger.Ledger.held)
    resolve = blocking(_ledger.Ledger.resolve)
    prune = blocking(_ledger.Ledger.prune)
    #: ``for location_id, by_source in ledger.results(run_id)``: batch by batch, never
    #: the whole run in memory.
    results = calling(_ledger.Ledger.results, _chunked)

    # -- working -----------------------------------------------------------------------

    work = _working(_ledger.Ledger.work)

    def _work(self, client: Client, start: Callable[[_async.Client], Awaitable[None]]) -> None:
        if not isinstance(client, Client):
            raise InvalidInputError(
                "work() takes a sovfixer_async.sync.Client (the async ledger takes an async one)",
                field="client",
            )
        portal = client.portal  # raises if the client is closed
        async_client = client.async_client
        run = _Run(portal)
        with self._lock:
            if self._closed:
                raise SOVFixerError("the ledger is closed")
            run.future = portal.start_task_soon(run.body, lambda: start(async_client))
            self._runs.add(run)
        try:
            run.future.result()
        except BaseException:
            # This thread was interrupted (KeyboardInterrupt...), or the worker ended with
            # an error: either way, it has stopped (and handed its items back) on return.
            run.stop()
            run.wait(STOP_WAIT)
            raise
        finally:
            with self._lock:
                self._runs.discard(run)
