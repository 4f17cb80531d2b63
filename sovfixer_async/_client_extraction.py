"""The Ping.Extraction (SOVFixer) methods of :class:`~sovfixer_async.Client`.

A mixin of thin methods, each delegating to a workflow, kept apart from ``_client.py`` so
that neither module grows past its size budget. ``delegate_to_team=`` is on every call the
official SDK sends it with; when a call leaves it None, ``ClientConfig.delegate_to_team``
is used. ``extra_fields`` are sent as they are with a submission (a name the call sends
itself is an ``InvalidInputError``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sovfixer_async._config import ClientConfig
from sovfixer_async._context import JobContext
from sovfixer_async._jobs import BulkEnhanceBatch, OutputJob, ParseJob
from sovfixer_async._locations import LocationsInput
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._urls import check_id
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows import feeds, misc, output, parse, update
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.feeds import HistoryFeed
from sovfixer_async._workflows.parse import ParseInput
from sovfixer_async.models import (
    Building,
    BuildingAdded,
    HistoryItem,
    ServerInfo,
    ShareableUrl,
    SOVData,
)

Team = str | int | None


class ExtractionCalls:
    """Ping.Extraction calls (mixed into :class:`~sovfixer_async.Client`)."""

    config: ClientConfig
    _context: JobContext
    _catalog: Catalog

    # -- workflows ---------------------------------------------------------------------

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
        metadata: Mapping[str, Any] | None = None,
        username: str | None = None,
        delegate_to_team: Team = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> UpdateJob:
        """Update an SOV's buildings: initiate_update, add_locations in batches, start.

        ``locations`` is a CSV path, CSV bytes, a list of CSV/JSONL paths (one update from
        several files; a bad row's error names file and line), or an (async) iterable of
        row mappings; every row must name its building by ``item_key`` or ``sheet_name`` +
        ``sheet_row_number``. All of it is validated before the update is created.
        ``metadata`` goes with ``start``, ``username`` with ``initiate_update``,
        ``extra_fields`` with ``start``. Returns the running job.
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
            metadata=metadata,
            username=username,
            delegate_to_team=delegate_to_team,
            extra_fields=extra_fields,
        )

    async def get_or_create_output(
        self,
        sovid_or_sudid: str,
        output_format: str,
        *,
        revision: int = -1,
        overwrite_existing: bool = False,
        delegate_to_team: Team = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> OutputJob:
        """Ask for an output; a cached one gives a handle that is already done."""
        return await output.get_or_create_output(
            self._context,
            self._catalog,
            sovid_or_sudid,
            output_format,
            revision=revision,
            overwrite_existing=overwrite_existing,
            delegate_to_team=delegate_to_team,
            extra_fields=extra_fields,
        )

    async def parse_sov(
        self,
        file: ParseInput,
        *,
        filename: str | Sequence[str] | None = None,
        document_type: str = "SOV",
        output_formats: Sequence[str] | None = None,
        integrations: Sequence[str] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        client_ref: str | None = None,
        callback_url: str | WebhookReceiver | None = None,
        update_callback_url: str | None = None,
        workflow: str | None = None,
        company: str | None = None,
        team: str | None = None,
        allow_ping_data_api: bool | None = None,
        delegate_to_team: Team = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> ParseJob:
        """Upload a workbook (or ACORD PDF), or several as one job, to be parsed into a new SOV.

        ``file`` is a path or bytes, or a list of them (sent as repeated ``file`` parts);
        bytes need ``filename`` (a list of names for a list of files).
        """
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
            company=company,
            team=team,
            allow_ping_data_api=allow_ping_data_api,
            delegate_to_team=delegate_to_team,
            extra_fields=extra_fields,
        )

    async def create_submission(
        self,
        document_type: str = "SOV",
        *,
        client_ref: str | None = None,
        extra_data: Mapping[str, Any] | None = None,
        filename: str | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> UpdateJob:
        """A new, empty submission: ``await job.add_locations(rows)``, then ``job.start()``.

        ``document_type``: SOV, PREM_BDX, CLAIM_BDX or SOV_BDX. Rows of a submission may
        add buildings. The handle's token resumes it like any update.
        """
        return await misc.create_submission(
            self._context,
            document_type,
            client_ref=client_ref,
            extra_data=extra_data,
            filename=filename,
            extra_fields=extra_fields,
        )

    # -- single calls ------------------------------------------------------------------

    async def server_info(self) -> ServerInfo:
        """``GET /api/v1/serverinfo`` (what the server says about itself)."""
        return await misc.server_info(self._context)

    async def add_building(self, sovid: str, building: Mapping[str, Any]) -> BuildingAdded:
        """Add one building (a JSON object of its attributes) to a parsed SOV."""
        return await misc.add_building(self._context, sovid, building)

    async def get_building(self, item_key: str) -> Building:
        """One building by its item key (e.g. ``i-s-e-xxxxxxx!SOV!1``)."""
        return await misc.get_building(self._context, item_key)

    async def get_public_shareable_url(self, sovid: str) -> ShareableUrl:
        """A public Ping.Maps URL of the SOV (``.url``)."""
        return await misc.get_public_shareable_url(self._context, sovid)

    # -- history and activity ----------------------------------------------------------

    def history(
        self,
        *,
        start: datetime | str | None = None,
        cursor_id: str | None = None,
        page_size: int = 50,
        follow: bool = False,
        interval: float = 30.0,
    ) -> HistoryFeed:
        """Every completed or failed SOV/SUD after ``start`` (or ``cursor_id``), oldest first.

        Without ``follow`` it ends at an empty page or when the cursor stops advancing.
        With ``follow=True`` it polls every ``interval`` seconds for new records and never
        ends by itself. The returned feed's ``.cursor`` is the id of the last record handed
        out: store it and pass it back as ``cursor_id=`` to carry on after it.
        """
        return HistoryFeed(
            self._context,
            start=start,
            cursor_id=cursor_id,
            page_size=page_size,
            follow=follow,
            interval=interval,
        )

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
        prev_cursor_id: str | None = None,
        company__short_name: str | Sequence[str] | None = None,
        division__short_name: str | Sequence[str] | None = None,
        pingid: str | None = None,
        completed_time__gt: datetime | str | None = None,
        completed_time__gte: datetime | str | None = None,
        completed_time__lt: datetime | str | None = None,
        completed_time__lte: datetime | str | None = None,
    ) -> AsyncIterator[SOVData]:
        """Recent SOV activity, newest first, page after page (the reference's filters).

        ``sovid`` is the API's ``id`` filter; times are datetimes (naive = UTC) or
        ``YYYYMMDDHHMMSS``. Paging ends on an empty page, a page without a cursor, or
        ``has_remaining`` false; ``prev_cursor_id`` (without ``cursor_id``) pages backwards.
        """
        params = feeds.activity_params(
            sovid=sovid,
            page_size=page_size,
            fields=fields,
            search=search,
            origin=origin,
            status=status,
            company__short_name=company__short_name,
            division__short_name=division__short_name,
            pingid=pingid,
            completed_time={
                "gt": completed_time__gt,
                "gte": completed_time__gte,
                "lt": completed_time__lt,
                "lte": completed_time__lte,
            },
        )
        return feeds.activity_pages(
            self._context, params, cursor_id=cursor_id, prev_cursor_id=prev_cursor_id
        )

    # -- handles from plain ids (no I/O) -------------------------------------------------

    def update_job(self, sudid: str) -> UpdateJob:
        """The handle of an update known by its id (as the official SDK's users store it).

        No request is sent; its ``stage`` is unknown (None): ``start()`` is safe to call
        on a started update (an "already started" answer counts as success).
        """
        return UpdateJob(
            self._context,
            check_id(sudid, "sudid"),
            delegate_to_team=self.config.delegate_to_team,
        )

    def parse_job(self, sovid: str) -> ParseJob:
        """The handle of a parse job (a new SOV) known by its SOV id; no I/O."""
        return ParseJob(self._context, check_id(sovid, "sovid"))

    def output_job(self, request_id: str) -> OutputJob:
        """The handle of a ``get_or_create_output`` request known by its request id; no I/O."""
        return OutputJob(self._context, check_id(request_id, "request_id"))

    def bulk_job(self, job_id: str) -> BulkEnhanceBatch:
        """The handle of one Ping.Data bulk-enhance batch known by its job id; no I/O."""
        return BulkEnhanceBatch(self._context, check_id(job_id, "job_id"))
