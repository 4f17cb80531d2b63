"""Ping.Data: bulk enhance runs, one-location enhance, credit usage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sovfixer_async import _bulk
from sovfixer_async._context import JobContext
from sovfixer_async._locations import LocationsInput
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async.models import EnhanceResponse, UsageResponse, structure
from sovfixer_async.models._checks import require_str_list, validate_callback_url
from sovfixer_async.models._location_fields import validate_location


async def bulk_enhance(
    context: JobContext,
    catalog: Catalog,
    locations: LocationsInput,
    *,
    sources: Sequence[str],
    batch_size: int,
    include_raw_response: bool,
    check_cache: bool,
    timeout: float | None,
    callback_url: str | WebhookReceiver | None,
    concurrency: int,
) -> _bulk.BulkEnhanceRun:
    """Check the sources and every location, write the batches, submit them: the run."""
    codes = [s.upper() for s in require_str_list(sources, "sources")]
    await catalog.check_sources(codes, "sources")
    known = frozenset(await catalog.datasources())
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
        context,
        locations,
        options,
        batch_size=batch_size,
        concurrency=concurrency,
        known_sources=known,
        receiver=callback_url if isinstance(callback_url, WebhookReceiver) else None,
    )


async def enhance(
    context: JobContext,
    catalog: Catalog,
    *,
    sources: Sequence[str],
    location: dict[str, Any],
    timeout: float | None,
    include_raw_response: bool,
    check_cache: bool,
) -> EnhanceResponse:
    """Enhance one location synchronously (``GET /api/v1/enhance``)."""
    codes = [s.upper() for s in require_str_list(sources, "sources")]
    await catalog.check_sources(codes, "sources")
    checked = validate_location({"id": "location", **location}, 0, prefix="location")
    checked.pop("id")
    params: dict[str, Any] = {
        "sources": codes,
        **checked,
        "include_raw_response": include_raw_response,
    }
    if not check_cache:
        params["check_cache"] = False
    if timeout is not None:
        params["timeout"] = timeout
    response = await context.transport.request(
        "GET", "data", "/api/v1/enhance", params=params, what="enhance"
    )
    return structure(response.json(), EnhanceResponse)


async def usage(
    context: JobContext, *, start: str | None, end: str | None, username: str | None
) -> UsageResponse:
    """Ping.Data credit usage."""
    response = await context.transport.request(
        "GET",
        "data",
        "/api/v1/usage",
        params={"start": start, "end": end, "username": username},
        what="usage",
    )
    return structure(response.json(), UsageResponse)
