"""Ping.Data enrichment: bulk enhance runs, one-location enhance, several locations at once.

Every call checks its input, then (unless ``check_quota=False``) the source access policy
(:mod:`~sovfixer_async._workflows.quota`), before its first request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import anyio

from sovfixer_async import _bulk
from sovfixer_async._config import check_short_name
from sovfixer_async._context import JobContext
from sovfixer_async._errors import InvalidInputError, SOVFixerError
from sovfixer_async._locations import LocationsInput
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.quota import PolicyGuard
from sovfixer_async.models import EnhanceResponse, structure
from sovfixer_async.models._checks import (
    require_json_object,
    require_str_list,
    validate_callback_url,
)
from sovfixer_async.models._location_fields import validate_location

#: Names ``extra_fields`` of ``bulk_enhance`` may not use: the body's own fields and the
#: method's parameters.
BULK_NAMES = frozenset(
    {
        "locations",
        "sources",
        "timeout",
        "include_raw_response",
        "check_cache",
        "nocache",
        "callback_url",
        "delegate_to",
        "batch_size",
        "concurrency",
        "check_quota",
        "extra_fields",
    }
)
#: Most locations one ``enhance_many`` call takes (more: use ``bulk_enhance``).
MAX_ENHANCE_MANY = 10_000


def delegate(context: JobContext, given: str | None) -> str | None:
    """The call's ``delegate_to``, else the client's default; checked."""
    value = given if given is not None else context.config.delegate_to
    return None if value is None else check_short_name(value, "delegate_to")


def extra_body_fields(extra_fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """``extra_fields`` as JSON-ready body fields; a name of ours is an input error."""
    if extra_fields is None:
        return {}
    fields = require_json_object(extra_fields, "extra_fields")
    taken = sorted(BULK_NAMES.intersection(fields))
    if taken:
        raise InvalidInputError(
            f"{', '.join(taken)} collide(s) with a named parameter: pass it as that "
            "parameter instead",
            field="extra_fields",
        )
    return fields


async def bulk_enhance(
    context: JobContext,
    catalog: Catalog,
    guard: PolicyGuard,
    locations: LocationsInput,
    *,
    sources: Sequence[str],
    batch_size: int,
    include_raw_response: bool,
    check_cache: bool,
    timeout: float | None,
    callback_url: str | WebhookReceiver | None,
    concurrency: int,
    delegate_to: str | None,
    check_quota: bool,
    extra_fields: Mapping[str, Any] | None,
) -> _bulk.BulkEnhanceRun:
    """Check the sources and every location, write the batches, check the quota, submit
    them: the run."""
    codes = [s.upper() for s in require_str_list(sources, "sources")]
    acting_for = delegate(context, delegate_to)
    extra = extra_body_fields(extra_fields)
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
        delegate_to=acting_for,
        extra=tuple(extra.items()),
    )

    async def check(needs: Mapping[str, int]) -> None:
        await guard.check(needs, delegate_to=acting_for)

    return await _bulk.start_run(
        context,
        locations,
        options,
        batch_size=batch_size,
        concurrency=concurrency,
        known_sources=known,
        receiver=callback_url if isinstance(callback_url, WebhookReceiver) else None,
        before_send=check if check_quota else None,
    )


def location_of(item: str | Mapping[str, Any], index: int, prefix: str) -> dict[str, Any]:
    """One single-enhance location (an address, or a mapping of location fields), checked."""
    fields: Mapping[str, Any] = {"address": item} if isinstance(item, str) else item
    if not isinstance(fields, Mapping):
        raise InvalidInputError("expected an address or a mapping", field=f"{prefix}[{index}]")
    if isinstance(fields.get("address"), list | tuple):  # pingintel-api's address=[...]
        raise InvalidInputError(
            "one address per location: pass a str (several addresses: enhance_many)",
            field=f"{prefix}[{index}].address",
        )
    checked = validate_location({"id": "location", **fields}, index, prefix=prefix)
    checked.pop("id")
    if "sources" in checked:
        raise InvalidInputError(
            "sources is a parameter of the call", field=f"{prefix}[{index}].sources"
        )
    return checked


def enhance_params(
    location: dict[str, Any],
    codes: list[str],
    *,
    timeout: float | None,
    include_raw_response: bool,
    check_cache: bool,
    delegate_to: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"sources": codes, **location}
    params["include_raw_response"] = include_raw_response
    if not check_cache:
        params["check_cache"] = False
    if timeout is not None:
        params["timeout"] = timeout
    if delegate_to is not None:
        params["delegate_to"] = delegate_to
    return params


async def _get_enhance(context: JobContext, params: dict[str, Any]) -> EnhanceResponse:
    response = await context.transport.request(
        "GET", "data", "/api/v1/enhance", params=params, what="enhance"
    )
    return structure(response.json(), EnhanceResponse)


async def enhance_many(
    context: JobContext,
    catalog: Catalog,
    guard: PolicyGuard,
    items: Iterable[str | Mapping[str, Any]],
    *,
    sources: Sequence[str],
    timeout: float | None,
    include_raw_response: bool,
    check_cache: bool,
    delegate_to: str | None,
    check_quota: bool,
    concurrency: int,
    return_exceptions: bool,
    prefix: str = "locations",
) -> list[EnhanceResponse | SOVFixerError]:
    """``GET /api/v1/enhance`` per location, at most ``concurrency`` at once; results in
    input order. Every location is checked, and the quota, before the first is sent."""
    codes = [s.upper() for s in require_str_list(sources, "sources")]
    acting_for = delegate(context, delegate_to)
    if isinstance(items, str | bytes | Mapping):
        raise InvalidInputError("expected a list of addresses or mappings", field=prefix)
    if concurrency < 1:
        raise InvalidInputError("must be >= 1", field="concurrency")
    locations: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if index >= MAX_ENHANCE_MANY:
            raise InvalidInputError(
                f"more than {MAX_ENHANCE_MANY} locations: use bulk_enhance", field=prefix
            )
        locations.append(location_of(item, index, prefix))
    await catalog.check_sources(codes, "sources")
    if check_quota and locations:
        await guard.check(Counter(dict.fromkeys(codes, len(locations))), delegate_to=acting_for)
    results: list[EnhanceResponse | SOVFixerError | None] = [None] * len(locations)
    limiter = anyio.CapacityLimiter(concurrency)
    failures: list[SOVFixerError] = []

    async def one(index: int) -> None:
        async with limiter:
            params = enhance_params(
                locations[index],
                codes,
                timeout=timeout,
                include_raw_response=include_raw_response,
                check_cache=check_cache,
                delegate_to=acting_for,
            )
            try:
                results[index] = await _get_enhance(context, params)
            except SOVFixerError as exc:
                results[index] = exc
                if not return_exceptions:  # the first error ends the call, as it is
                    failures.append(exc)
                    tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        for index in range(len(locations)):
            tg.start_soon(one, index)
    if failures:
        raise failures[0]
    return [r for r in results if r is not None]


async def enhance(
    context: JobContext,
    catalog: Catalog,
    guard: PolicyGuard,
    *,
    sources: Sequence[str],
    location: Mapping[str, Any],
    timeout: float | None,
    include_raw_response: bool,
    check_cache: bool,
    delegate_to: str | None,
    check_quota: bool,
) -> EnhanceResponse:
    """Enhance one location synchronously (``GET /api/v1/enhance``)."""
    (result,) = await enhance_many(
        context,
        catalog,
        guard,
        [location],
        sources=sources,
        timeout=timeout,
        include_raw_response=include_raw_response,
        check_cache=check_cache,
        delegate_to=delegate_to,
        check_quota=check_quota,
        concurrency=1,
        return_exceptions=False,
        prefix="location",
    )
    assert isinstance(result, EnhanceResponse)
    return result
