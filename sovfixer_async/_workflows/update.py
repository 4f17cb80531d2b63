"""SOV update: initiate_update, add_locations in batches, start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sovfixer_async._context import JobContext
from sovfixer_async._errors import AmbiguousSubmissionError
from sovfixer_async._events import JobSubmitted
from sovfixer_async._locations import LocationsInput, update_csv_batches
from sovfixer_async._recovery import carry, mark_ambiguous
from sovfixer_async._refs import INITIATED, client_ref_or_new
from sovfixer_async._transport import Safety
from sovfixer_async._update_job import START_FIELDS, UpdateJob
from sovfixer_async._urls import segment
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows import options
from sovfixer_async._workflows.callbacks import callback
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async.models import (
    CreatedResponse,
    InitiateUpdateRequest,
    UpdateStartRequest,
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
    metadata: Mapping[str, Any] | None = None,
    username: str | None = None,
    delegate_to_team: str | int | None = None,
    extra_fields: Mapping[str, Any] | None = None,
) -> UpdateJob:
    """Validate everything, then create the update, send its rows and start it.

    ``extra_fields`` go to ``start`` (the request that carries the update's options).
    """
    require_nonempty_str(sovid, "sovid")
    team = options.team(context.config, delegate_to_team)
    client_ref = client_ref_or_new(client_ref)
    callback_to_send, bind = callback(callback_url)
    initiate = InitiateUpdateRequest(
        update_type=update_type, callback_url=callback_to_send, client_ref=client_ref
    )
    initiate_body = unstructure(initiate)
    if username is not None:
        initiate_body["username"] = require_nonempty_str(username, "username")
    if team is not None:
        initiate_body["delegate_to_team"] = team
    extra = options.extra(extra_fields, START_FIELDS, form=False)
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
        metadata=metadata,
        integrations=list(integrations) if integrations is not None else None,
    )
    batches = await update_csv_batches(locations, batch_rows)

    try:
        response = await context.transport.request(
            "POST",
            "extraction",
            f"/api/v1/sov/{segment(sovid, 'sovid')}/initiate_update",
            json=initiate_body,
            safety=Safety.SUBMIT,
            job_id=sovid,
            what=f"initiate_update of SOV {sovid}",
        )
        sudid = response.parse(CreatedResponse).id  # an unreadable answer is ambiguous too
    except AmbiguousSubmissionError as exc:
        mark_ambiguous(exc, UpdateJob.kind, client_ref, sovid)
        raise
    job = UpdateJob(context, sudid, client_ref=client_ref, stage=INITIATED, delegate_to_team=team)
    # Emitted before anything else can fail or be cancelled: its token resumes the update.
    context.emit(JobSubmitted(job.kind, sudid, job.token))
    if bind is not None:
        bind(job)
    try:
        await job._send_batches(batches)
        await job._start(start, extra)
    except Exception as exc:
        carry(exc, job, _how_to_finish(job))
        raise
    return job


def _how_to_finish(job: UpdateJob) -> str:
    if job.stage == INITIATED:
        step = "`await error.handle.add_locations(locations)` then `await error.handle.start()`"
    else:
        step = "`await error.handle.start()`"
    return (
        f"update {job.id} exists on the server ({job.stage}) and has not started: finish it "
        f"with {step} (the same rows may be sent again), or later after "
        f"client.resume(token) with token {job.token}"
    )
