"""The blocking :class:`Client`: the async client on its own event-loop thread.

Each method is built from the async method of the same name (same parameters, same
types: see :mod:`sovfixer_async.sync._twin`), so the facade follows the library as it
grows. Handles come back as their blocking twins; async iterators as plain iterators.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Literal, overload

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
from sovfixer_async.sync._loop import LoopOwner, stop_portal
from sovfixer_async.sync._twin import awaiting, blocking, calling


def _twin_or_none(portal: BlockingPortal, handle: _async.JobHandle[Any] | None) -> AnyHandle | None:
    return None if handle is None else twin(portal, handle)


def _entered(
    portal: BlockingPortal, receiver: WebhookReceiver
) -> AbstractContextManager[WebhookReceiver]:
    """``with client.webhook_receiver(...) as hooks:`` (started and stopped in the loop)."""
    return portal.wrap_async_context_manager(receiver)


class Client(LoopOwner[_async.Client], ExtractionTwins):
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

    _noun = "client"

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        on_event: Callable[[Event], Any] | None = None,
        **options: Any,
    ):
        stack = ExitStack()
        try:
            portal = stack.enter_context(start_blocking_portal(name="sovfixer-async-sync"))
            # Runs once the client has closed, before the loop thread is joined: calls still
            # in flight (another thread's wait) are cancelled, so closing never hangs on
            # them; their threads get concurrent.futures.CancelledError.
            stack.callback(stop_portal, portal)
            inner = portal.call(lambda: _async.Client(config=config, on_event=on_event, **options))
            stack.enter_context(portal.wrap_async_context_manager(inner))
        except BaseException:
            stack.close()
            raise
        super().__init__(stack, portal, inner)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<sync Client {self.config.api_url} {self.config.data_api_url} {state}>"

    def close(self) -> None:
        """Stop polling, close the connections and the loop thread (server jobs go on).

        Safe to call twice, or from any thread; later calls on this client raise.
        """
        super().close()

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
        client = self._inner_
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

    list_output_formats = blocking(_async.Client.list_output_formats)
    list_datasources = blocking(_async.Client.list_datasources)
    update_sov = awaiting(_async.Client.update_sov, UpdateJob)
    get_or_create_output = awaiting(_async.Client.get_or_create_output, OutputJob)
    parse_sov = awaiting(_async.Client.parse_sov, ParseJob)
    bulk_enhance = awaiting(_async.Client.bulk_enhance, BulkEnhanceRun)
    usage = blocking(_async.Client.usage)
    history_item = blocking(_async.Client.history_item)
    activity = calling(_async.Client.activity, iterate)
    download = blocking(_async.Client.download)

    enhance = blocking(_async.Client.enhance)

    # -- issue 14: Ping.Data parity and the raw escape hatch ----------------------------

    get_datasource = blocking(_async.Client.get_datasource)
    limits = blocking(_async.Client.limits)
    request = blocking(_async.Client.request)

    # ``enhance_many`` is written out: its async original is overloaded (the result type
    # follows ``return_exceptions``) and a ParamSpec captures one signature, not overloads.

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

    reconcile = awaiting(_async.Client.reconcile, _twin_or_none)
    resume = calling(_async.Client.resume, twin)
    webhook_receiver = calling(_async.Client.webhook_receiver, _entered)

    def as_completed(self, handles: Iterable[H], *, timeout: float | None = None) -> Iterator[H]:
        """Yield the handles (of this client) as they reach a terminal state."""
        items = list(handles)
        portal = self._portal()
        if any(h._portal is not portal for h in items):
            raise _async.InvalidInputError(
                "as_completed takes handles of this client", field="handles"
            )
        return as_completed(items, timeout=timeout)
