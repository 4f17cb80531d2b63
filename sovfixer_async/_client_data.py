"""The Ping.Data calls of :class:`~sovfixer_async.Client`, and its raw request.

A part composed into ``Client`` (issue 10: the client is split by API so that each part
stays small); every method delegates to a workflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, overload

from sovfixer_async import _bulk
from sovfixer_async._context import JobContext
from sovfixer_async._errors import SOVFixerError
from sovfixer_async._locations import LocationsInput
from sovfixer_async._raw import RawResponse, raw_request
from sovfixer_async._transport import Api
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows import data_info
from sovfixer_async._workflows import enhance as _enhance
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.quota import PolicyGuard
from sovfixer_async.models import (
    DatasourceConfig,
    EnhanceResponse,
    SourceAccessPolicy,
    UsageResponse,
)


class DataCalls:
    """Ping.Data: enrichment, usage, datasources and the source access policy."""

    _context: JobContext
    _catalog: Catalog
    _guard: PolicyGuard

    async def list_datasources(
        self, *, delegate_to: str | None = None
    ) -> dict[str, DatasourceConfig]:
        """Ping.Data datasource configurations by code (cached per client; acting for an
        organisation with ``delegate_to``, that organisation's, not cached)."""
        return await data_info.list_datasources(
            self._context, self._catalog, delegate_to=delegate_to
        )

    async def get_datasource(
        self, code: str, *, delegate_to: str | None = None
    ) -> DatasourceConfig:
        """One datasource's configuration (``GET /api/v1/datasources/{code}``)."""
        return await data_info.get_datasource(self._context, code, delegate_to=delegate_to)

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
        delegate_to: str | None = None,
        check_quota: bool = True,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> _bulk.BulkEnhanceRun:
        """Enhance any number of locations: validated, batched, submitted, then a run handle.

        ``locations``: a CSV (with an ``id`` column) or JSONL path, CSV bytes, or (async)
        iterable of mappings. ``timeout`` is the server-side fetch timeout of the contract,
        not a wait deadline. Every location is checked before the first batch is sent, and
        (unless ``check_quota=False``) the run against the source access policy: a source
        outside a restricted allowlist, or more locations than remain of a source's daily
        or monthly quota, is an ``InvalidInputError`` before anything is sent.
        ``delegate_to`` acts for an organisation (default ``ClientConfig.delegate_to``);
        ``extra_fields`` go to the top level of every batch body as they are.
        """
        return await _enhance.bulk_enhance(
            self._context,
            self._catalog,
            self._guard,
            locations,
            sources=sources,
            batch_size=batch_size,
            include_raw_response=include_raw_response,
            check_cache=check_cache,
            timeout=timeout,
            callback_url=callback_url,
            concurrency=concurrency,
            delegate_to=delegate_to,
            check_quota=check_quota,
            extra_fields=extra_fields,
        )

    async def enhance(
        self,
        /,
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
        """Enhance one location synchronously (``GET /api/v1/enhance``).

        ``fields`` are further location fields (``city``, ``const__num_stories``...);
        ``timeout`` is the server's fetch timeout; the quota is checked as in
        ``bulk_enhance``. Several locations: :meth:`enhance_many`.
        """
        location = {"address": address, "latitude": latitude, "longitude": longitude}
        return await _enhance.enhance(
            self._context,
            self._catalog,
            self._guard,
            sources=sources,
            location={**location, "country": country, **fields},
            timeout=timeout,
            include_raw_response=include_raw_response,
            check_cache=check_cache,
            delegate_to=delegate_to,
            check_quota=check_quota,
        )

    @overload
    async def enhance_many(
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
    async def enhance_many(
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

    async def enhance_many(
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
        """Enhance several locations at once: one ``GET /api/v1/enhance`` each, at most
        ``concurrency`` in flight; one result per location, in input order.

        Each location is an address or a mapping of location fields (``address``,
        ``latitude``/``longitude``, ``country``...). All are checked, and the quota for
        all of them, before the first is sent. The first error raises (the others are
        cancelled) unless ``return_exceptions=True`` puts each error in its place.
        At most 10,000 locations: more belong in ``bulk_enhance``.
        """
        return await _enhance.enhance_many(
            self._context,
            self._catalog,
            self._guard,
            locations,
            sources=sources,
            timeout=timeout,
            include_raw_response=include_raw_response,
            check_cache=check_cache,
            delegate_to=delegate_to,
            check_quota=check_quota,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
        )

    async def usage(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        username: str | None = None,
        org_short_name: str | None = None,
        delegate_to: str | None = None,
    ) -> UsageResponse:
        """Ping.Data credit usage (``start``/``end``: ``-30d``-style offsets or ISO times).

        ``username`` or ``org_short_name`` (not both; staff only for others)."""
        return await data_info.usage(
            self._context,
            start=start,
            end=end,
            username=username,
            org_short_name=org_short_name,
            delegate_to=delegate_to,
        )

    async def limits(
        self,
        username: str | None = None,
        org_short_name: str | None = None,
        *,
        delegate_to: str | None = None,
    ) -> SourceAccessPolicy:
        """The source access policy (``GET /api/v1/limits``): the allowlist, and per capped
        source its daily/monthly limits, usage and what remains."""
        return await data_info.limits(
            self._context,
            username=username,
            org_short_name=org_short_name,
            delegate_to=delegate_to,
        )

    # -- the raw escape hatch ----------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        api: Api = "extraction",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        idempotent: bool | None = None,
    ) -> RawResponse:
        """Any API request, with the client's auth, limiter, retries, body cap and errors.

        ``path`` starts with ``/api/`` (no scheme, host, ``..``, ``//``, query or fragment,
        percent-encoded or not); ``params`` is the query, ``json`` or ``data`` (a form) the
        body. A GET is repeated freely; any other method is treated as a job-creating POST
        (an unknown outcome raises ``AmbiguousSubmissionError``, never repeated) unless
        ``idempotent=True``. A non-2xx answer raises the typed ``APIStatusError``.
        """
        return await raw_request(
            self._context.transport,
            method,
            path,
            api=api,
            params=params,
            json=json,
            data=data,
            idempotent=idempotent,
        )
