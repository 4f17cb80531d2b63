"""The blocking twins of the Ping.Extraction parity calls (issue 14), mixed into
:class:`sovfixer_async.sync.Client`: each blocks on the async method of the same name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from anyio.from_thread import BlockingPortal

import sovfixer_async as _async
from sovfixer_async.models import Building, BuildingAdded, ServerInfo, ShareableUrl
from sovfixer_async.sync._feeds import HistoryFeed
from sovfixer_async.sync._handles import BulkEnhanceBatch, OutputJob, ParseJob, UpdateJob


class ExtractionTwins:
    """Blocking Ping.Extraction calls; the client supplies ``_inner`` and ``_portal``."""

    def _inner(self) -> _async.Client:
        raise NotImplementedError

    def _portal(self) -> BlockingPortal:
        raise NotImplementedError

    def server_info(self) -> ServerInfo:
        """``GET /api/v1/serverinfo``."""
        return self._portal().call(self._inner().server_info)

    def add_building(self, sovid: str, building: Mapping[str, Any]) -> BuildingAdded:
        """Add one building to a parsed SOV."""
        inner = self._inner()

        async def run() -> BuildingAdded:
            return await inner.add_building(sovid, building)

        return self._portal().call(run)

    def get_building(self, item_key: str) -> Building:
        """One building by its item key."""
        return self._portal().call(self._inner().get_building, item_key)

    def get_public_shareable_url(self, sovid: str) -> ShareableUrl:
        """A public Ping.Maps URL of the SOV."""
        return self._portal().call(self._inner().get_public_shareable_url, sovid)

    def create_submission(
        self,
        document_type: str = "SOV",
        *,
        client_ref: str | None = None,
        extra_data: Mapping[str, Any] | None = None,
        filename: str | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> UpdateJob:
        """A new, empty submission: ``job.add_locations(rows)``, then ``job.start()``."""
        inner = self._inner()
        portal = self._portal()

        async def run() -> _async.UpdateJob:
            return await inner.create_submission(
                document_type,
                client_ref=client_ref,
                extra_data=extra_data,
                filename=filename,
                extra_fields=extra_fields,
            )

        return UpdateJob(portal, portal.call(run))

    def history(
        self,
        *,
        start: datetime | str | None = None,
        cursor_id: str | None = None,
        page_size: int = 50,
        follow: bool = False,
        interval: float = 30.0,
    ) -> HistoryFeed:
        """The history feed as a plain iterator with ``.cursor`` (see the async ``history``)."""
        inner = self._inner()
        portal = self._portal()
        feed = portal.call(
            lambda: inner.history(
                start=start,
                cursor_id=cursor_id,
                page_size=page_size,
                follow=follow,
                interval=interval,
            )
        )
        return HistoryFeed(portal, feed)

    def update_job(self, sudid: str) -> UpdateJob:
        """The handle of an update known by its id (no request is sent)."""
        return UpdateJob(self._portal(), self._inner().update_job(sudid))

    def parse_job(self, sovid: str) -> ParseJob:
        """The handle of a parse job known by its SOV id (no request is sent)."""
        return ParseJob(self._portal(), self._inner().parse_job(sovid))

    def output_job(self, request_id: str) -> OutputJob:
        """The handle of an output request known by its request id (no request is sent)."""
        return OutputJob(self._portal(), self._inner().output_job(request_id))

    def bulk_job(self, job_id: str) -> BulkEnhanceBatch:
        """The handle of one bulk-enhance batch known by its job id (no request is sent)."""
        return BulkEnhanceBatch(self._portal(), self._inner().bulk_job(job_id))
