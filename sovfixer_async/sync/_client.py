"""The blocking :class:`Client`: the async client on its own event-loop thread.

Each method is built from the async method of the same name (same parameters, same
types: see :func:`_blocking`), so the facade follows the library as it grows. Handles come
back as their blocking twins; async iterators as plain iterators.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

from anyio.from_thread import BlockingPortal, start_blocking_portal

import sovfixer_async as _async
from sovfixer_async import ClientConfig, Event, SOVFixerError, TransportStats, WebhookReceiver
from sovfixer_async.models import EnhanceResponse
from sovfixer_async.sync._extraction import ExtractionTwins
from sovfixer_async.sync._handles import (
    AnyHandle,
    BulkEnhanceRun,
    H,
    OutputJob,
    ParseJob,
    UpdateJob,
    as_completed,
    iterate,
    twin,
)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
A = TypeVar("A")


def _blocking(
    method: Callable[Concatenate[_async.Client, P], Awaitable[R]],
) -> Callable[Concatenate[Client, P], R]:
    """``client.name(...)`` that blocks on the async method of the same name."""

    @functools.wraps(method)
    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        inner = self._inner()

        async def run() -> R:
            return await method(inner, *args, **kwargs)

        return self._portal().call(run)

    return call


def _submitting(
    method: Callable[Concatenate[_async.Client, P], Awaitable[A]],
    make: Callable[[BlockingPortal, A], T],
) -> Callable[Concatenate[Client, P], T]:
    """Like :func:`_blocking`, the async handle returned made its blocking twin by ``make``."""

    @functools.wraps(method)
    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        inner = self._inner()

        async def run() -> A:
            return await method(inner, *args, **kwargs)

        portal = self._portal()
        return make(portal, portal.call(run))

    return call


def _iterating(
    method: Callable[Concatenate[_async.Client, P], AsyncIterator[T]],
) -> Callable[Concatenate[Client, P], Iterator[T]]:
    """A plain iterator over the async generator method of the same name."""

    @functools.wraps(method)
    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        inner = self._inner()
        portal = self._portal()
        return iterate(portal, portal.call(lambda: method(inner, *args, **kwargs)))

    return call


def _stop(portal: BlockingPortal) -> None:
    with contextlib.suppress(RuntimeError):  # already stopped
        portal.call(portal.stop, True)


class Client(ExtractionTwins):
    """Blocking client of the SOVFixer (Ping.Extraction) and Ping.Data APIs.

    ``with sovfixer_async.sync.Client(...) as client:`` (or ``client.close()`` when done).
    It takes the async :class:`sovfixer_async.Client`'s arguments and has its methods, each
    blocking until done; handles are blocking twins (``wait``, ``refresh``, ``download``),
    ``history``, ``activity``, ``events`` and ``run.results()`` plain iterators. The client
    runs one event loop in a thread of its own (anyio's blocking portal): one client may be
    shared by many threads, and its jobs are polled together however many threads wait.
    ``on_event`` callbacks run in that loop thread: keep them quick, and do not call the
    client from them.
    """

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        on_event: Callable[[Event], Any] | None = None,
        **options: Any,
    ):
        self._lock = threading.Lock()
        self._closed = False
        stack = ExitStack()
        try:
            portal = stack.enter_context(start_blocking_portal(name="sovfixer-async-sync"))
            # Runs once the client has closed, before the loop thread is joined: calls still
            # in flight (another thread's wait) are cancelled, so closing never hangs on
            # them; their threads get concurrent.futures.CancelledError.
            stack.callback(_stop, portal)
            inner = portal.call(lambda: _async.Client(config=config, on_event=on_event, **options))
            stack.enter_context(portal.wrap_async_context_manager(inner))
        except BaseException:
            stack.close()
            raise
        self._stack: ExitStack | None = stack
        self._client: _async.Client | None = inner
        self._portal_: BlockingPortal | None = portal
        # A client dropped without close() still stops its loop thread when collected.
        self._finalizer = weakref.finalize(self, stack.close)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<sync Client {self.config.api_url} {self.config.data_api_url} {state}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop polling, close the connections and the loop thread (server jobs go on).

        Safe to call twice, or from any thread; later calls on this client raise.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer.detach()
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- plumbing ----------------------------------------------------------------------

    def _inner(self) -> _async.Client:
        client = self._client
        if client is None or self._closed:
            raise SOVFixerError("the client is closed")
        return client

    def _portal(self) -> BlockingPortal:
        portal = self._portal_
        if portal is None or self._closed:
            raise SOVFixerError("the client is closed")
        return portal

    @property
    def async_client(self) -> _async.Client:
        """The async client behind this one (use it only inside its loop: ``portal``)."""
        return self._inner()

    @property
    def portal(self) -> BlockingPortal:
        """The blocking portal of the client's loop thread (to run your own coroutines)."""
        return self._portal()

    @property
    def config(self) -> ClientConfig:
        client = self._client
        assert client is not None
        return client.config

    @property
    def stats(self) -> TransportStats:
        """Requests sent, retries and responses by status, since the client was made."""
        return self._inner().stats

    def subscribe(self, callback: Callable[[Event], Any]) -> None:
        """Call ``callback(event)`` (in the loop thread) for every progress event."""
        self._portal().call(self._inner().subscribe, callback)

    def events(self) -> Iterator[Event]:
        """Progress events, from the first ``next()`` on (blocks between events).

        ``break`` (or ``close()``) stops listening. To see every event from the start, pass
        ``on_event=`` to the client (it is called in the loop thread).
        """
        return iterate(self._portal(), self._portal().call(self._inner().events))

    # -- calls -------------------------------------------------------------------------

    list_output_formats = _blocking(_async.Client.list_output_formats)
    list_datasources = _blocking(_async.Client.list_datasources)
    update_sov = _submitting(_async.Client.update_sov, UpdateJob)
    get_or_create_output = _submitting(_async.Client.get_or_create_output, OutputJob)
    parse_sov = _submitting(_async.Client.parse_sov, ParseJob)
    bulk_enhance = _submitting(_async.Client.bulk_enhance, BulkEnhanceRun)
    usage = _blocking(_async.Client.usage)
    history_item = _blocking(_async.Client.history_item)
    activity = _iterating(_async.Client.activity)
    download = _blocking(_async.Client.download)

    def enhance(
        self,
        *,
        sources: Sequence[str],
        address: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        country: str | None = None,
        timeout: float | None = None,
        include_raw_response: bool = False,
        check_cache: bool = True,
        delegate_to: str | None = None,
        check_quota: bool = True,
        **fields: Any,
    ) -> EnhanceResponse:
        """Enhance one location synchronously (``GET /api/v1/enhance``)."""
        inner = self._inner()

        async def run() -> EnhanceResponse:
            return await inner.enhance(
                sources=sources,
                address=address,
                latitude=latitude,
                longitude=longitude,
                country=country,
                timeout=timeout,
                include_raw_response=include_raw_response,
                check_cache=check_cache,
                delegate_to=delegate_to,
                check_quota=check_quota,
                **fields,
            )

        return self._portal().call(run)

    # -- issue 14: Ping.Data parity and the raw escape hatch ----------------------------

    get_datasource = _blocking(_async.Client.get_datasource)
    limits = _blocking(_async.Client.limits)
    request = _blocking(_async.Client.request)

    @overload
    def enhance_many(
        self,
        locations: Iterable[str | Mapping[str, Any]],
        *,
        sources: Sequence[str],
        timeout: float | None = ...,
        include_raw_response: bool = ...,
        check_cache: bool = ...,
        delegate_to: str | None = ...,
        check_quota: bool = ...,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
    ) -> list[EnhanceResponse]: ...

    @overload
    def enhance_many(
        self,
        locations: Iterable[str | Mapping[str, Any]],
        *,
        sources: Sequence[str],
        timeout: float | None = ...,
        include_raw_response: bool = ...,
        check_cache: bool = ...,
        delegate_to: str | None = ...,
        check_quota: bool = ...,
        concurrency: int = ...,
        return_exceptions: Literal[True],
    ) -> list[EnhanceResponse | SOVFixerError]: ...

    def enhance_many(
        self,
        locations: Iterable[str | Mapping[str, Any]],
        *,
        sources: Sequence[str],
        timeout: float | None = None,
        include_raw_response: bool = False,
        check_cache: bool = True,
        delegate_to: str | None = None,
        check_quota: bool = True,
        concurrency: int = 8,
        return_exceptions: bool = False,
    ) -> list[EnhanceResponse] | list[EnhanceResponse | SOVFixerError]:
        """Enhance several locations at once (concurrent requests); one result each, in
        order (see the async ``Client.enhance_many``)."""
        inner = self._inner()
        items = list(locations)  # read here, in the caller's thread

        async def each() -> list[EnhanceResponse | SOVFixerError]:
            return await inner.enhance_many(
                items,
                sources=sources,
                timeout=timeout,
                include_raw_response=include_raw_response,
                check_cache=check_cache,
                delegate_to=delegate_to,
                check_quota=check_quota,
                concurrency=concurrency,
                return_exceptions=True,
            )

        async def all_or_error() -> list[EnhanceResponse]:
            return await inner.enhance_many(
                items,
                sources=sources,
                timeout=timeout,
                include_raw_response=include_raw_response,
                check_cache=check_cache,
                delegate_to=delegate_to,
                check_quota=check_quota,
                concurrency=concurrency,
            )

        if return_exceptions:
            return self._portal().call(each)
        return self._portal().call(all_or_error)

    def reconcile(self, error: _async.AmbiguousSubmissionError) -> AnyHandle | None:
        """The job an ambiguous parse or update submission made, or None if there is none."""
        inner = self._inner()
        portal = self._portal()
        found = portal.call(inner.reconcile, error)
        return None if found is None else twin(portal, found)

    def resume(self, token: str) -> AnyHandle:
        """Rebuild a handle from its resume token (no request is sent)."""
        inner = self._inner()
        portal = self._portal()
        return twin(portal, portal.call(inner.resume, token))

    def as_completed(self, handles: Iterable[H], *, timeout: float | None = None) -> Iterator[H]:
        """Yield the handles (of this client) as they reach a terminal state."""
        items = list(handles)
        portal = self._portal()
        if any(h._portal is not portal for h in items):
            raise _async.InvalidInputError(
                "as_completed takes handles of this client", field="handles"
            )
        return as_completed(items, timeout=timeout)

    def webhook_receiver(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        path: str = "/sovfixer-callbacks",
    ) -> AbstractContextManager[WebhookReceiver]:
        """``with client.webhook_receiver(...) as hooks:``, then pass ``callback_url=hooks``."""
        inner = self._inner()
        portal = self._portal()
        receiver = portal.call(
            lambda: inner.webhook_receiver(host=host, port=port, public_url=public_url, path=path)
        )
        return portal.wrap_async_context_manager(receiver)
