"""The :class:`Client`: one transport, one method per workflow, and ``resume``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import attrs

from sovfixer_async import _bulk, _downloads
from sovfixer_async._config import ClientConfig
from sovfixer_async._errors import InvalidInputError, SOVFixerError
from sovfixer_async._events import Callback, Event, EventBus, JobSubmitted
from sovfixer_async._jobs import (
    HANDLE_TYPES,
    JobHandle,
    OutputJob,
    ParseJob,
    Runtime,
    UpdateJob,
    as_completed,
    parse_token,
)
from sovfixer_async._locations import LocationsInput, update_csv_batches
from sovfixer_async._transport import FilePart, Multipart, Safety, Transport, TransportStats
from sovfixer_async._urls import segment
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async.models import (
    ActivityPage,
    CreatedResponse,
    DatasourceConfig,
    EnhanceResponse,
    HistoryItem,
    HistoryPage,
    HistoryRecord,
    InitiateUpdateRequest,
    OutputFormat,
    OutputRequest,
    OutputStatus,
    ParseRequest,
    SOVData,
    UpdateStartRequest,
    UsageResponse,
    structure,
    unstructure,
)
from sovfixer_async.models._checks import (
    require_nonempty_str,
    require_str_list,
    validate_callback_url,
)
from sovfixer_async.models._location_fields import validate_location

logger = logging.getLogger("sovfixer_async")

PARSE_EXTENSIONS = (".xls", ".xlsx", ".xlsm", ".xlsb", ".pdf")
_CONTENT_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    ".pdf": "application/pdf",
}

AnyHandle = JobHandle[Any] | _bulk.BulkRun


class Client:
    """Asynchronous client of the SOVFixer (Ping.Extraction) and Ping.Data APIs.

    Use it as ``async with Client(...) as client:``. Keyword arguments are the fields of
    :class:`ClientConfig` (``api_url``, ``data_api_url``, ``token``, ``data_token``,
    ``environment``, ``max_connections``, ``retry``, ``poll``...); ``config=`` passes a whole
    one (keywords then override its fields). ``on_event`` receives every progress event.
    """

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        on_event: Callback | None = None,
        **options: Any,
    ):
        if config is None:
            config = ClientConfig(**options)
        elif options:
            config = attrs.evolve(config, **options)
        self.config = config
        self._transport = Transport(config)
        self._events = EventBus([on_event] if on_event else None)
        self._rt = Runtime(self._transport, self._events, config, work_root=config.work_dir)
        self._formats: list[OutputFormat] | None = None
        self._datasources: dict[str, DatasourceConfig] | None = None
        # One fetch fills each cache, however many submissions ask for it at once.
        # Set while one fetch fills the formats cache; other callers wait on it together
        # (a lock handed them through one at a time, one loop turn each: a convoy).
        self._formats_filling: anyio.Event | None = None
        self._datasources_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"<Client {self.config.api_url} {self.config.data_api_url}>"

    async def __aenter__(self) -> Client:
        await self._transport.open()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._rt.task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, self._rt.task_group = self._rt.task_group, None
        try:
            if task_group is not None:
                task_group.cancel_scope.cancel()  # polls stop; server jobs go on
                await task_group.__aexit__(None, None, None)
        finally:
            self._rt.polls.close()
            await self._transport.close()
            if not self.config.keep_work_files:
                dirs, self._rt.created_dirs = self._rt.created_dirs, []
                await anyio.to_thread.run_sync(_bulk.remove_dirs, dirs)

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

    as_completed = staticmethod(as_completed)

    # -- server lists (cached per client) ----------------------------------------------

    async def list_output_formats(
        self,
        *,
        sovid: str | None = None,
        division_uuid: str | None = None,
        team_uuid: str | None = None,
    ) -> list[OutputFormat]:
        """The output formats the account may request (the unfiltered list is cached)."""
        unfiltered = sovid is None and division_uuid is None and team_uuid is None
        if not unfiltered:
            return await self._fetch_formats(sovid, division_uuid, team_uuid)
        while self._formats is None:
            filling = self._formats_filling
            if filling is not None:
                await filling.wait()  # then look again: that fetch may have failed
                continue
            self._formats_filling = filling = anyio.Event()
            try:
                self._formats = await self._fetch_formats(None, None, None)
            finally:
                self._formats_filling = None
                filling.set()
        return list(self._formats)

    async def _fetch_formats(
        self, sovid: str | None, division_uuid: str | None, team_uuid: str | None
    ) -> list[OutputFormat]:
        response = await self._transport.request(
            "GET",
            "extraction",
            "/api/v1/output_formats",
            params={"sovid": sovid, "division_uuid": division_uuid, "team_uuid": team_uuid},
            what="list output formats",
        )
        data = response.json() or {}
        return [structure(f, OutputFormat) for f in data.get("output_formats") or []]

    async def list_datasources(self) -> dict[str, DatasourceConfig]:
        """Ping.Data datasource configurations by code (cached per client)."""
        if self._datasources is None:  # the lock only while the cache is empty (no convoy)
            async with self._datasources_lock:
                if self._datasources is None:
                    response = await self._transport.request(
                        "GET", "data", "/api/v1/datasources", what="list datasources"
                    )
                    configs = (response.json() or {}).get("configs") or {}
                    self._datasources = {
                        code: structure(config, DatasourceConfig)
                        for code, config in configs.items()
                    }
        return dict(self._datasources)

    async def _check_formats(self, formats: Sequence[str], field: str) -> list[str]:
        """Canonical (server-spelled) formats, or an input error listing the allowed ones."""
        allowed = {
            f.output_format.upper(): f.output_format for f in await self.list_output_formats()
        }
        out = []
        for i, name in enumerate(formats):
            canonical = allowed.get(name.upper())
            if canonical is None:
                raise InvalidInputError(
                    f"unknown output format {name!r}; this account can request: "
                    + ", ".join(sorted(allowed.values())),
                    field=f"{field}[{i}]" if len(formats) > 1 else field,
                )
            out.append(canonical)
        return out

    async def _check_sources(self, sources: Iterable[str], field: str) -> None:
        known = await self.list_datasources()
        unknown = sorted({s for s in sources if s.upper() not in known})
        if unknown:
            raise InvalidInputError(
                f"unknown datasource code(s) {', '.join(unknown)}; known codes: "
                + ", ".join(sorted(known)),
                field=field,
            )

    # -- SOV update --------------------------------------------------------------------

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
        require_nonempty_str(sovid, "sovid")
        callback, bind = _callback(callback_url)
        initiate = InitiateUpdateRequest(
            update_type=update_type, callback_url=callback, client_ref=client_ref
        )
        formats = None
        if output_formats is not None:
            formats = await self._check_formats(
                require_str_list(output_formats, "output_formats"), "output_formats"
            )
        start = UpdateStartRequest(
            extra_data=dict(extra_data or {}),
            policy_terms=policy_terms,
            outputter_name=outputter_name,
            output_formats=formats,
            metadata=None,
            integrations=list(integrations) if integrations is not None else None,
        )
        batches = await update_csv_batches(locations, batch_rows)

        initiate_body = unstructure(initiate)
        response = await self._transport.request(
            "POST",
            "extraction",
            f"/api/v1/sov/{segment(sovid, 'sovid')}/initiate_update",
            json=initiate_body or None,
            safety=Safety.SUBMIT,
            job_id=sovid,
            what=f"initiate_update of SOV {sovid}",
        )
        sudid = structure(response.json(), CreatedResponse).id
        job = UpdateJob(self._rt, sudid)
        self._emit(JobSubmitted(job.kind, sudid, job.token))
        for number, batch in enumerate(batches, start=1):
            await self._transport.request(
                "POST",
                "extraction",
                f"/api/v1/sov/update/{segment(sudid)}/add_locations",
                multipart=Multipart(
                    files=[FilePart("file", f"locations-{number:04d}.csv", batch, "text/csv")]
                ),
                safety=Safety.SUBMIT,
                job_id=sudid,
                what=f"add_locations batch {number}/{len(batches)}",
            )
        await self._transport.request(
            "POST",
            "extraction",
            f"/api/v1/sov/update/{segment(sudid)}/start",
            json=unstructure(start),
            safety=Safety.START,
            job_id=sudid,
            what="start of update",
        )
        if bind is not None:
            bind(job)
        return job

    # -- outputs -----------------------------------------------------------------------

    async def get_or_create_output(
        self,
        sovid_or_sudid: str,
        output_format: str,
        *,
        revision: int = -1,
        overwrite_existing: bool = False,
    ) -> OutputJob:
        """Ask for an output; a cached one gives a handle that is already done."""
        require_nonempty_str(sovid_or_sudid, "sovid_or_sudid")
        request = OutputRequest(
            output_format=output_format, revision=revision, overwrite_existing=overwrite_existing
        )
        (canonical,) = await self._check_formats([request.output_format], "output_format")
        body: dict[str, Any] = {"output_format": canonical, "revision": request.revision}
        if request.overwrite_existing:
            body["overwrite_existing"] = True
        response = await self._transport.request(
            "POST",
            "extraction",
            f"/api/v1/sov/{segment(sovid_or_sudid, 'sovid_or_sudid')}/get_or_create_output",
            json=body,
            safety=Safety.SUBMIT,
            job_id=sovid_or_sudid,
            what=f"get_or_create_output {canonical} of {sovid_or_sudid}",
        )
        status = structure(response.json(), OutputStatus)
        request_id = status.request.id
        if not request_id:
            if not status.done:
                raise SOVFixerError(
                    f"get_or_create_output of {sovid_or_sudid}: the server gave no request id "
                    "to poll"
                )
            request_id = f"{sovid_or_sudid}:{canonical}"
        handle = OutputJob(self._rt, request_id)
        self._emit(JobSubmitted(handle.kind, request_id, handle.token))
        handle._observe(status)
        return handle

    # -- parse -------------------------------------------------------------------------

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
        content: bytes | Path
        if isinstance(file, bytes | bytearray):
            if not filename:
                raise InvalidInputError("give filename=... when file is bytes", field="filename")
            content, name = bytes(file), filename
        else:
            path = Path(file)
            if not path.is_file():
                raise InvalidInputError(f"file not found: {path}", field="file")
            content, name = path, filename or path.name
        suffix = Path(name).suffix.lower()
        if suffix not in PARSE_EXTENSIONS:
            raise InvalidInputError(
                f"unsupported file type {suffix or '(none)'!r} of {name!r}; expected one of "
                + ", ".join(PARSE_EXTENSIONS),
                field="file",
            )
        formats = None
        if output_formats is not None:
            formats = await self._check_formats(
                require_str_list(output_formats, "output_formats"), "output_formats"
            )
        callback, bind = _callback(callback_url)
        request = ParseRequest(
            document_type=document_type,
            callback_url=callback,
            update_callback_url=update_callback_url,
            client_ref=client_ref,
            extra_data={k: str(v) for k, v in (extra_data or {}).items()},
            output_formats=formats,
            integrations=list(integrations) if integrations is not None else None,
            workflow=workflow,
        )
        response = await self._transport.request(
            "POST",
            "extraction",
            "/api/v1/sov",
            multipart=Multipart(
                fields=unstructure(request),
                files=[FilePart("file", name, content, _CONTENT_TYPES[suffix])],
            ),
            safety=Safety.SUBMIT,
            what=f"parse of {name}",
        )
        sovid = structure(response.json(), CreatedResponse).id
        job = ParseJob(self._rt, sovid)
        self._emit(JobSubmitted(job.kind, sovid, job.token))
        if bind is not None:
            bind(job)
        return job

    # -- Ping.Data ---------------------------------------------------------------------

    async def bulk_enhance(
        self,
        locations: LocationsInput,
        *,
        sources: Sequence[str],
        batch_size: int = 1000,
        include_raw_response: bool = False,
        check_cache: bool = True,
        timeout: float | None = None,
        callback_url: str | WebhookReceiver | None = None,
        concurrency: int = 8,
    ) -> _bulk.BulkRun:
        """Enhance any number of locations: validated, batched, submitted, then a run handle.

        ``locations``: a CSV (with an ``id`` column) or JSONL path, CSV bytes, or (async)
        iterable of mappings. ``timeout`` is the server-side fetch timeout of the contract,
        not a wait deadline. Every location is checked before the first batch is sent.
        """
        codes = [s.upper() for s in require_str_list(sources, "sources")]
        await self._check_sources(codes, "sources")
        known = frozenset(await self.list_datasources())
        options = _bulk.BulkOptions(
            sources=tuple(codes),
            include_raw_response=include_raw_response,
            check_cache=check_cache,
            timeout=timeout,
            callback_url=validate_callback_url(callback_url, "callback_url")
            if isinstance(callback_url, str)
            else None,
        )
        return await _bulk.start_run(
            self._rt,
            locations,
            options,
            batch_size=batch_size,
            concurrency=concurrency,
            known_sources=known,
            receiver=callback_url if isinstance(callback_url, WebhookReceiver) else None,
        )

    async def enhance(
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
        **fields: Any,
    ) -> EnhanceResponse:
        """Enhance one location synchronously (``GET /api/v1/enhance``)."""
        codes = [s.upper() for s in require_str_list(sources, "sources")]
        await self._check_sources(codes, "sources")
        location = validate_location(
            {
                "id": "location",
                "address": address,
                "latitude": latitude,
                "longitude": longitude,
                "country": country,
                **fields,
            },
            0,
            prefix="location",
        )
        location.pop("id")
        params: dict[str, Any] = {
            "sources": codes,
            **location,
            "include_raw_response": include_raw_response,
        }
        if not check_cache:
            params["check_cache"] = False
        if timeout is not None:
            params["timeout"] = timeout
        response = await self._transport.request(
            "GET", "data", "/api/v1/enhance", params=params, what="enhance"
        )
        return structure(response.json(), EnhanceResponse)

    async def usage(
        self, *, start: str | None = None, end: str | None = None, username: str | None = None
    ) -> UsageResponse:
        """Ping.Data credit usage (``start``/``end``: ``-30d``-style offsets or ISO times)."""
        response = await self._transport.request(
            "GET",
            "data",
            "/api/v1/usage",
            params={"start": start, "end": end, "username": username},
            what="usage",
        )
        return structure(response.json(), UsageResponse)

    # -- history and activity ----------------------------------------------------------

    async def history(
        self,
        *,
        start: datetime | str | None = None,
        cursor_id: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[HistoryRecord]:
        """Every completed or failed SOV/SUD after ``start`` (or ``cursor_id``), oldest first.

        Follows the cursor until a page comes back empty.
        """
        if isinstance(start, datetime):
            start = start.strftime("%Y%m%d%H%M%S")
        while True:
            response = await self._transport.request(
                "GET",
                "extraction",
                "/api/v1/sov/history",
                params={"cursor_id": cursor_id, "start": start, "page_size": page_size},
                what="history",
            )
            page = structure(response.json(), HistoryPage)
            if not page.results:
                return
            for record in page.results:
                yield record
            cursor_id = page.cursor_id or page.results[-1].id

    async def history_item(self, record_id: str) -> HistoryItem:
        """One record of the history feed (its outputs, lineage, or error message)."""
        require_nonempty_str(record_id, "record_id")
        response = await self._transport.request(
            "GET",
            "extraction",
            f"/api/v1/sov/history/{segment(record_id, 'record_id')}",
            job_id=record_id,
            what="history item",
        )
        return structure(response.json(), HistoryItem)

    async def activity(
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
        while True:
            response = await self._transport.request(
                "GET",
                "extraction",
                "/api/v1/sov/activity",
                params={
                    "id": sovid,
                    "page_size": page_size,
                    "fields": list(fields) if fields else None,
                    "search": search,
                    "origin": origin,
                    "status": status,
                    "cursor_id": cursor_id,
                },
                what="activity",
            )
            page = structure(response.json(), ActivityPage)
            for item in page.results:
                yield item
            if not page.has_remaining or not page.cursor_id or page.cursor_id == cursor_id:
                return
            cursor_id = page.cursor_id

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

    def resume(self, token: str) -> AnyHandle:
        """Rebuild a live handle from its ``token`` (from this or another process)."""
        data = parse_token(token)
        kind = data.get("kind")
        if kind == _bulk.BulkRun.kind:
            return _bulk.resume_run(self._rt, data)
        handle_type = HANDLE_TYPES.get(str(kind))
        if handle_type is None:
            raise InvalidInputError(
                f"resume token names an unknown job kind {kind!r}; expected one of "
                + ", ".join([*HANDLE_TYPES, _bulk.BulkRun.kind]),
                field="token",
            )
        return handle_type(self._rt, data["id"])

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
        address the API servers can reach (default: the bound address).
        """
        return WebhookReceiver(host=host, port=port, public_url=public_url, path=path)

    def _emit(self, event: Event) -> None:
        if self._events.active:
            self._events.emit(event)


def _callback(
    callback_url: str | WebhookReceiver | None,
) -> tuple[str | None, Callable[[JobHandle[Any]], None] | None]:
    """The URL to send, and how to bind the new handle when it is a receiver of ours."""
    if isinstance(callback_url, WebhookReceiver):
        receiver = callback_url
        nonce, url = receiver.new_url()
        return url, lambda handle: receiver.bind(nonce, handle)
    return callback_url, None
