"""Ping.Data reads: usage, datasources, the source access policy (contract 4.5-4.7)."""

from __future__ import annotations

from sovfixer_async._config import check_short_name
from sovfixer_async._context import JobContext
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._urls import segment
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.enhance import delegate
from sovfixer_async._workflows.quota import fetch_limits
from sovfixer_async.models import (
    DatasourceConfig,
    SourceAccessPolicy,
    UsageResponse,
    structure,
)
from sovfixer_async.models._coerce import show

#: Longest ``start``/``end`` accepted by ``usage`` (an ISO-8601 time is ~32 characters).
MAX_TIME_TEXT = 64
#: Longest datasource code accepted (the known ones have 2 to 4 letters).
MAX_CODE = 32


def _subject(username: str | None, org_short_name: str | None) -> None:
    if username is not None:
        check_short_name(username, "username")
    if org_short_name is not None:
        check_short_name(org_short_name, "org_short_name")
    if username is not None and org_short_name is not None:
        raise InvalidInputError("give username or org_short_name, not both", field="org_short_name")


def _time_text(value: str | None, field: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TIME_TEXT:
        raise InvalidInputError(
            f"expected a -30d style offset or an ISO-8601 time, got {show(value)}", field=field
        )


async def usage(
    context: JobContext,
    *,
    start: str | None,
    end: str | None,
    username: str | None,
    org_short_name: str | None,
    delegate_to: str | None,
) -> UsageResponse:
    """Ping.Data credit usage (``GET /api/v1/usage``)."""
    _time_text(start, "start")
    _time_text(end, "end")
    _subject(username, org_short_name)
    response = await context.transport.request(
        "GET",
        "data",
        "/api/v1/usage",
        params={
            "start": start,
            "end": end,
            "username": username,
            "org_short_name": org_short_name,
            "delegate_to": delegate(context, delegate_to),
        },
        what="usage",
    )
    return structure(response.json(), UsageResponse)


async def list_datasources(
    context: JobContext, catalog: Catalog, *, delegate_to: str | None
) -> dict[str, DatasourceConfig]:
    """Datasource configurations by code: the client's cached list, or, acting for an
    organisation, that organisation's (``GET /api/v1/datasources?delegate_to=``)."""
    acting_for = delegate(context, delegate_to)
    if acting_for is None:
        return await catalog.datasources()
    response = await context.transport.request(
        "GET",
        "data",
        "/api/v1/datasources",
        params={"delegate_to": acting_for},
        what="list datasources",
    )
    configs = response.json().get("configs") or {}
    if not isinstance(configs, dict):
        configs = {}
    return {str(code): structure(config, DatasourceConfig) for code, config in configs.items()}


async def get_datasource(
    context: JobContext, code: str, *, delegate_to: str | None
) -> DatasourceConfig:
    """One datasource's configuration (``GET /api/v1/datasources/{code}``)."""
    if not isinstance(code, str) or not code.strip().isalnum() or len(code) > MAX_CODE:
        raise InvalidInputError(
            f"expected a datasource code such as GG, got {show(code)}", field="code"
        )
    response = await context.transport.request(
        "GET",
        "data",
        f"/api/v1/datasources/{segment(code.strip().upper(), 'code')}",
        params={"delegate_to": delegate(context, delegate_to)},
        what=f"get datasource {code.strip().upper()}",
    )
    return structure(response.json().get("config"), DatasourceConfig)


async def limits(
    context: JobContext,
    *,
    username: str | None,
    org_short_name: str | None,
    delegate_to: str | None,
) -> SourceAccessPolicy:
    """The source access policy of the caller, a user or an organisation (contract 4.7)."""
    _subject(username, org_short_name)
    return await fetch_limits(
        context.transport,
        username=username,
        org_short_name=org_short_name,
        delegate_to=delegate(context, delegate_to),
    )
