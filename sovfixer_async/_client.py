"""The :class:`Client`: one flat class of thin methods, each delegating to a workflow."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path
from ssl import SSLContext
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import attrs

from sovfixer_async import _downloads
from sovfixer_async._client_data import DataCalls
from sovfixer_async._config import ClientConfig, PollPolicy, RetryPolicy
from sovfixer_async._context import JobContext
from sovfixer_async._errors import AmbiguousSubmissionError
from sovfixer_async._events import Callback, Event, EventBus
from sovfixer_async._jobs import JobHandle, OutputJob, ParseJob, Waitable, as_completed_in
from sovfixer_async._lifecycle import Lifecycle, Receivers
from sovfixer_async._locations import LocationsInput
from sovfixer_async._transport import TransportStats
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows import feeds, output, parse, reconcile, resume, update
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.quota import PolicyGuard
from sovfixer_async.models import (
    HistoryItem,
    HistoryRecord,
    OutputFormat,
    SOVData,
)

W = TypeVar("W", bound=Waitable)


class _Unset(enum.Enum):
    UNSET = enum.auto()


#: The default of every ``ClientConfig`` keyword: the config's own default (or ``config=``).
UNSET = _Unset.UNSET
_CONFIG_FIELDS = frozenset(field.name for field in attrs.fields(ClientConfig))


class Client(DataCalls):
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

    # -- Ping.Extraction workflows -----------------------------------------------------

    async def update_sov(
        self,
        sovid: str,
        locations: LocationsInput,
        *,
        output_formats: Sequence[str] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        update_type: str | None = None,
        callback_url: str | WebhookReceiver | None = None,
        client_ref: str | None = None,
        policy_terms: Any = None,
        integrations: Sequence[str] | None = None,
        outputter_name: str | None = None,
        batch_rows: int = 5000,
    ) -> UpdateJob:
        """Update an SOV's buildings: initiate_update, add_locations in batches, start.

        ``locations`` is a CSV path, CSV bytes, or (async) iterable of row mappings; every row
        must name its building by ``item_key`` or ``sheet_name`` + ``sheet_row_number``.
        All of it is validated before the update is created. Returns the running job.
        """
        return await update.update_sov(
            self._context,
            self._catalog,
            sovid,
            locations,
            output_formats=output_formats,
            extra_data=extra_data,
            update_type=update_type,
            callback_url=callback_url,
            client_ref=client_ref,
            policy_terms=policy_terms,
            integrations=integrations,
            outputter_name=outputter_name,
            batch_rows=batch_rows,
        )

    async def get_or_create_output(
        self,
        sovid_or_sudid: str,
        output_format: str,
        *,
        revision: int = -1,
        overwrite_existing: bool = False,
    ) -> OutputJob:
        """Ask for an output; a cached one gives a handle that is already done."""
        return await output.get_or_create_output(
            self._context,
            self._catalog,
            sovid_or_sudid,
            output_format,
            revision=revision,
            overwrite_existing=overwrite_existing,
        )

    async def parse_sov(
        self,
        file: str | PathLike[str] | bytes,
        *,
        filename: str | None = None,
        document_type: str = "SOV",
        output_formats: Sequence[str] | None = None,
        integrations: Sequence[str] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        client_ref: str | None = None,
        callback_url: str | WebhookReceiver | None = None,
        update_callback_url: str | None = None,
        workflow: str | None = None,
    ) -> ParseJob:
        """Upload a workbook (or ACORD PDF) to be parsed into a new SOV."""
        return await parse.parse_sov(
            self._context,
            self._catalog,
            file,
            filename=filename,
            document_type=document_type,
            output_formats=output_formats,
            integrations=integrations,
            extra_data=extra_data,
            client_ref=client_ref,
            callback_url=callback_url,
            update_callback_url=update_callback_url,
            workflow=workflow,
        )

    # -- history and activity ----------------------------------------------------------

    def history(
        self,
        *,
        start: datetime | str | None = None,
        cursor_id: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[HistoryRecord]:
        """Every completed or failed SOV/SUD after ``start`` (or ``cursor_id``), oldest first.

        Follows the cursor until a page comes back empty or the cursor stops advancing.
        """
        return feeds.history(self._context, start=start, cursor_id=cursor_id, page_size=page_size)

    async def history_item(self, record_id: str) -> HistoryItem:
        """One record of the history feed (its outputs, lineage, or error message)."""
        return await feeds.history_item(self._context, record_id)

    def activity(
        self,
        *,
        sovid: str | None = None,
        page_size: int = 50,
        fields: Sequence[str] | None = None,
        search: str | None = None,
        origin: str | None = None,
        status: str | None = None,
        cursor_id: str | None = None,
    ) -> AsyncIterator[SOVData]:
        """Recent SOV activity, newest pages first, following the cursor while more remain."""
        return feeds.activity(
            self._context,
            sovid=sovid,
            page_size=page_size,
            fields=fields,
            search=search,
            origin=origin,
            status=status,
            cursor_id=cursor_id,
        )

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
