"""SOV update: initiate_update, add_locations in batches, start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sovfixer_async._context import JobContext
from sovfixer_async._events import JobSubmitted
from sovfixer_async._jobs import UpdateJob
from sovfixer_async._locations import LocationsInput, update_csv_batches
from sovfixer_async._transport import FilePart, Multipart, Safety
from sovfixer_async._urls import segment
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows.callbacks import callback
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async.models import (
    CreatedResponse,
    InitiateUpdateRequest,
    UpdateStartRequest,
    structure,
    unstructure,
)
from sovfixer_async.models._checks import require_nonempty_str, require_str_list


async def update_sov(
    context: JobContext,
    catalog: Catalog,
    sovid: str,
    locations: LocationsInput,
    *,
    output_formats: Sequence[str] | None,
    extra_data: Mapping[str, Any] | None,
    update_type: str | None,
    callback_url: str | WebhookReceiver | None,
    client_ref: str | None,
    policy_terms: Any,
    integrations: Sequence[str] | None,
    outputter_name: str | None,
    batch_rows: int,
) -> UpdateJob:
    """Validate everything, then create the update, send its rows and start it."""
    require_nonempty_str(sovid, "sovid")
    callback_to_send, bind = callback(callback_url)
    initiate = InitiateUpdateRequest(
        update_type=update_type, callback_url=callback_to_send, client_ref=client_ref
    )
    formats = None
    if output_formats is not None:
        formats = await catalog.check_formats(
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

    transport = context.transport
    initiate_body = unstructure(initiate)
    response = await transport.request(
        "POST",
        "extraction",
        f"/api/v1/sov/{segment(sovid, 'sovid')}/initiate_update",
        json=initiate_body or None,
        safety=Safety.SUBMIT,
        job_id=sovid,
        what=f"initiate_update of SOV {sovid}",
    )
    sudid = structure(response.json(), CreatedResponse).id
    job = UpdateJob(context, sudid)
    context.emit(JobSubmitted(job.kind, sudid, job.token))
    for number, batch in enumerate(batches, start=1):
        await transport.request(
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
    await transport.request(
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
