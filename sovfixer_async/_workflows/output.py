"""Outputs: ``get_or_create_output``, done at once when the server had it cached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sovfixer_async._context import JobContext
from sovfixer_async._errors import SOVFixerError
from sovfixer_async._events import JobSubmitted
from sovfixer_async._jobs import OutputJob, observe
from sovfixer_async._transport import Safety
from sovfixer_async._urls import segment
from sovfixer_async._workflows import options
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async.models import OutputRequest, OutputStatus, structure
from sovfixer_async.models._checks import require_nonempty_str

#: Fields ``get_or_create_output`` sends itself: ``extra_fields`` may not name them.
OUTPUT_FIELDS = ("output_format", "revision", "overwrite_existing", "delegate_to_team")


async def get_or_create_output(
    context: JobContext,
    catalog: Catalog,
    sovid_or_sudid: str,
    output_format: str,
    *,
    revision: int,
    overwrite_existing: bool,
    delegate_to_team: str | int | None = None,
    extra_fields: Mapping[str, Any] | None = None,
) -> OutputJob:
    """Ask for an output; a cached one gives a handle that is already done."""
    require_nonempty_str(sovid_or_sudid, "sovid_or_sudid")
    team = options.team(context.config, delegate_to_team)
    extra = options.extra(extra_fields, OUTPUT_FIELDS, form=False)
    request = OutputRequest(
        output_format=output_format, revision=revision, overwrite_existing=overwrite_existing
    )
    (canonical,) = await catalog.check_formats([request.output_format], "output_format")
    body: dict[str, Any] = {"output_format": canonical, "revision": request.revision}
    if request.overwrite_existing:
        body["overwrite_existing"] = True
    if team is not None:
        body["delegate_to_team"] = team
    body.update(extra)
    response = await context.transport.request(
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
                f"get_or_create_output of {sovid_or_sudid}: the server gave no request id to poll"
            )
        request_id = f"{sovid_or_sudid}:{canonical}"
    handle = OutputJob(context, request_id)
    context.emit(JobSubmitted(handle.kind, request_id, handle.token))
    observe(handle, status)
    return handle
