"""Ping.Extraction calls outside the core workflows (contract 3.14): server info,
buildings, the public shareable URL, and empty submissions continued as updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sovfixer_async._context import JobContext
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._events import JobSubmitted
from sovfixer_async._refs import INITIATED, check_client_ref
from sovfixer_async._transport import Safety
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._urls import check_id, segment
from sovfixer_async._workflows import options
from sovfixer_async.models import (
    Building,
    BuildingAdded,
    DocumentType,
    ResponseShapeError,
    ServerInfo,
    ShareableUrl,
    SubmissionCreated,
    structure,
)
from sovfixer_async.models._checks import require_json_object, require_nonempty_str

#: Document types ``POST /api/v1/submission`` takes (the official SDK's docstring).
SUBMISSION_TYPES = ("SOV", "PREM_BDX", "CLAIM_BDX", "SOV_BDX")
SUBMISSION_FIELDS = ("document_type", "client_ref", "filename")


async def server_info(context: JobContext) -> ServerInfo:
    response = await context.transport.request(
        "GET", "extraction", "/api/v1/serverinfo", what="serverinfo"
    )
    return structure(response.json(), ServerInfo)


async def add_building(
    context: JobContext, sovid: str, building: Mapping[str, Any]
) -> BuildingAdded:
    """Add one building to a parsed SOV (``{"building_data": building}``)."""
    require_nonempty_str(sovid, "sovid")
    data = require_json_object(building, "building")
    response = await context.transport.request(
        "POST",
        "extraction",
        f"/api/v1/sov/{segment(sovid, 'sovid')}/add_building",
        json={"building_data": data},
        safety=Safety.SUBMIT,
        job_id=sovid,
        what=f"add_building to SOV {sovid}",
    )
    return structure(response.json(), BuildingAdded)


async def get_building(context: JobContext, item_key: str) -> Building:
    require_nonempty_str(item_key, "item_key")
    response = await context.transport.request(
        "GET",
        "extraction",
        f"/api/v1/building/{segment(item_key, 'item_key')}",
        what=f"building {item_key}",
    )
    return structure(response.json(), Building)


async def get_public_shareable_url(context: JobContext, sovid: str) -> ShareableUrl:
    require_nonempty_str(sovid, "sovid")
    response = await context.transport.request(
        "GET",
        "extraction",
        f"/api/v1/pli/policy/{segment(sovid, 'sovid')}/get_public_shareable_url",
        job_id=sovid,
        what=f"shareable url of SOV {sovid}",
    )
    shared = structure(response.json(), ShareableUrl)
    if not shared.url.startswith(("https://", "http://")):
        raise ResponseShapeError("ShareableUrl", ["ShareableUrl.url: not an http(s) URL"])
    return shared


async def create_submission(
    context: JobContext,
    document_type: str,
    *,
    client_ref: str | None,
    extra_data: Mapping[str, Any] | None,
    filename: str | None,
    extra_fields: Mapping[str, Any] | None,
) -> UpdateJob:
    """An empty submission: the update handle to ``add_locations`` to, then ``start``."""
    kind = require_nonempty_str(document_type, "document_type").strip().upper()
    if kind not in SUBMISSION_TYPES or kind not in DocumentType.__members__:
        raise InvalidInputError(
            f"unknown document_type {document_type!r}; expected one of "
            + ", ".join(SUBMISSION_TYPES),
            field="document_type",
        )
    form: list[tuple[str, str]] = [("document_type", kind)]
    if client_ref is not None:
        form.append(("client_ref", check_client_ref(client_ref, "client_ref")))
    for key, value in (extra_data or {}).items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError("keys must be non-empty strings", field="extra_data")
        form.append((f"extra_data_{key}", options.form_value(value, f"extra_data.{key}")))
    if filename is not None:
        form.append(("filename", require_nonempty_str(filename, "filename")))
    form.extend(options.extra(extra_fields, SUBMISSION_FIELDS, form=True).items())
    response = await context.transport.request(
        "POST",
        "extraction",
        "/api/v1/submission",
        form=form,
        safety=Safety.SUBMIT,
        what=f"{kind} submission",
    )
    created = structure(response.json(), SubmissionCreated)  # an int id is read as text
    try:
        job_id = check_id(created.id, "id")
    except InvalidInputError as exc:
        raise ResponseShapeError("SubmissionCreated", [f"SubmissionCreated.id: {exc}"]) from None
    job = UpdateJob(
        context,
        job_id,
        client_ref=client_ref,
        stage=INITIATED,
        delegate_to_team=context.config.delegate_to_team,
    )
    context.emit(JobSubmitted(job.kind, job_id, job.token))
    return job
