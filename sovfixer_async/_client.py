"""The :class:`Client`: one flat class of thin methods, each delegating to a workflow."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Sequence
from os import PathLike
from pathlib import Path
from ssl import SSLContext
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import attrs

from sovfixer_async import _downloads
from sovfixer_async._client_data import DataCalls
from sovfixer_async._client_extraction import ExtractionCalls
from sovfixer_async._config import ClientConfig, PollPolicy, RetryPolicy
from sovfixer_async._context import JobContext
from sovfixer_async._errors import AmbiguousSubmissionError
from sovfixer_async._events import Callback, Event, EventBus
from sovfixer_async._jobs import JobHandle, Waitable, as_completed_in
from sovfixer_async._lifecycle import Lifecycle, Receivers
from sovfixer_async._transport import TransportStats
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows import reconcile, resume
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.quota import PolicyGuard
from sovfixer_async.models import (
    OutputFormat,
)

W = TypeVar("W", bound=Waitable)


class _Unset(enum.Enum):
    UNSET = enum.auto()


#: The default of every ``ClientConfig`` keyword: the config's own default (or ``config=``).
UNSET = _Unset.UNSET
_CONFIG_FIELDS = frozenset(field.name for field in attrs.fields(ClientConfig))


class Client(DataCalls, ExtractionCalls):
    """Asynchronous client of the SOVFixer (Ping.Extraction) and Ping.Data APIs.

    Use it as ``async with Client(...) as client:``. Keyword arguments are the fields of
    :class:`ClientConfig`; ``config=`` passes a whole one (keywords then override its
    fields). ``on_event`` receives every progress event.
    """

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        on_event: Callback | None = None,
        environment: str | _Unset | None = UNSET,
        api_url: str | _Unset = UNSET,
        data_api_url: str | _Unset = UNSET,
        token: str | _Unset | None = UNSET,
        data_token: str | _Unset | None = UNSET,
        max_connections: int | _Unset = UNSET,
        max_concurrent_requests: int | _Unset | None = UNSET,
        max_concurrent_downloads: int | _Unset = UNSET,
        connect_timeout: float | _Unset = UNSET,
        read_timeout: float | _Unset = UNSET,
        retry: RetryPolicy | _Unset = UNSET,
        poll: PollPolicy | _Unset = UNSET,
        user_agent: str | _Unset = UNSET,
        max_response_bytes: int | _Unset = UNSET,
        gzip_threshold: int | _Unset = UNSET,
        work_dir: Path | _Unset | None = UNSET,
        keep_work_files: bool | _Unset = UNSET,
        ini_path: Path | _Unset | None = UNSET,
        reconcile_grace: float | _Unset = UNSET,
        state_dir: Path | _Unset = UNSET,
        state_max_age: float | _Unset = UNSET,
        # -- issue 14: Ping.Data delegation and quota, networks --
        delegate_to: str | _Unset | None = UNSET,
        policy_max_age: float | _Unset = UNSET,
        trust_env: bool | _Unset = UNSET,
        proxy: str | _Unset | None = UNSET,
        ssl: SSLContext | str | PathLike[str] | _Unset | None = UNSET,
        trace_configs: Sequence[aiohttp.TraceConfig] | _Unset = UNSET,
        # -- issue 14, Ping.Extraction parity (parity-x) --
        delegate_to_team: str | int | _Unset | None = UNSET,
    ):
        given = {
            name: value
            for name, value in locals().items()
            if name in _CONFIG_FIELDS and value is not UNSET
        }
        config = ClientConfig(**given) if config is None else attrs.evolve(config, **given)
        self.config = config
        self._events = EventBus([on_event] if on_event else None)
        self._context = JobContext.build(config, self._events)
        self._events.bind(self._context.tasks.start_soon)
        self._transport = self._context.transport
        self._catalog = Catalog(self._transport)
        self._guard = PolicyGuard(self._transport, config.policy_max_age)
        self._receivers = Receivers()
        self._lifecycle = Lifecycle(self._context, self._receivers, config.keep_work_files)

    def __repr__(self) -> str:
        return f"<Client {self.config.api_url} {self.config.data_api_url}>"

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        await self._lifecycle.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._lifecycle.close()

    # -- observing ---------------------------------------------------------------------

    @property
    def stats(self) -> TransportStats:
        """Requests sent, retries and responses by status, since the client was made."""
        return self._transport.stats

    def events(self) -> AsyncIterator[Event]:
        """``async for event in client.events()``: every progress event from now on."""
        return self._events.listen()

    def subscribe(self, callback: Callback) -> None:
        """Call ``callback(event)`` for every progress event."""
        self._events.subscribe(callback)

    def as_completed(
        self, handles: Iterable[W], *, timeout: float | None = None
    ) -> AsyncIterator[W]:
        """Yield handles as their waits end (see :func:`sovfixer_async.as_completed`)."""
        return as_completed_in(self._context.tasks, handles, timeout)

    # -- server lists (cached per client) ----------------------------------------------

    async def list_output_formats(
        self,
        *,
        sovid: str | None = None,
        division_uuid: str | None = None,
        team_uuid: str | None = None,
    ) -> list[OutputFormat]:
        """The output formats the account may request (the unfiltered list is cached)."""
        return await self._catalog.output_formats(sovid, division_uuid, team_uuid)

    # -- files and handles -------------------------------------------------------------

    async def download(
        self,
        url: str,
        dest: str | PathLike[str],
        *,
        filename: str | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Stream any output URL to disk (atomic, resumable, verified); returns the path."""
        result = await _downloads.download(
            self._transport, url, dest, filename=filename, overwrite=overwrite, events=self._events
        )
        return result.path

    async def reconcile(self, error: AmbiguousSubmissionError) -> JobHandle[Any] | None:
        """The job an ambiguous parse or update submission made, or None if there is none.

        Looks the submission's ``client_ref`` up in the activity feed (exact match); an
        empty answer is only given after a second look-up ``reconcile_grace`` seconds
        later. Several jobs with that ``client_ref`` raise ``DuplicateClientRefError``.
        """
        return await reconcile.reconcile(self._context, error)

    def resume(self, token: str) -> resume.AnyHandle:
        """Rebuild a live handle from its ``token`` (from this or another process)."""
        return resume.resume(self._context, token)

    def webhook_receiver(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        path: str = "/sovfixer-callbacks",
    ) -> WebhookReceiver:
        """A callback receiver to pass as ``callback_url=``: callbacks end waits early.

        Use it as ``async with client.webhook_receiver(...) as hooks:``; ``public_url`` is the
        address the API servers can reach (default: the bound address). The client also
        stops it when it closes.
        """
        return self._receivers.add(
            WebhookReceiver(host=host, port=port, public_url=public_url, path=path)
        )
