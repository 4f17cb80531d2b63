"""First-time parse of a workbook (or ACORD PDF) into a new SOV."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from sovfixer_async._context import JobContext
from sovfixer_async._errors import AmbiguousSubmissionError, InvalidInputError
from sovfixer_async._events import JobSubmitted
from sovfixer_async._jobs import ParseJob
from sovfixer_async._recovery import mark_ambiguous
from sovfixer_async._refs import client_ref_or_new
from sovfixer_async._transport import FilePart, Multipart, Safety
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows.callbacks import callback
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async.models import CreatedResponse, ParseRequest, unstructure
from sovfixer_async.models._checks import require_str_list

PARSE_EXTENSIONS = (".xls", ".xlsx", ".xlsm", ".xlsb", ".pdf")
_CONTENT_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    ".pdf": "application/pdf",
}


async def parse_sov(
    context: JobContext,
    catalog: Catalog,
    file: str | PathLike[str] | bytes,
    *,
    filename: str | None,
    document_type: str,
    output_formats: Sequence[str] | None,
    integrations: Sequence[str] | None,
    extra_data: Mapping[str, Any] | None,
    client_ref: str | None,
    callback_url: str | WebhookReceiver | None,
    update_callback_url: str | None,
    workflow: str | None,
) -> ParseJob:
    """Check the file and the options, then upload it; returns the parse job."""
    content: bytes | Path
    if isinstance(file, bytes | bytearray):
        if not filename:
            raise InvalidInputError("give filename=... when file is bytes", field="filename")
        content, name = bytes(file), filename
    else:
        path = Path(file)
        if not path.is_file():
            raise InvalidInputError(f"file not found: {path}", field="file")
        content, name = path, filename or path.name
    suffix = Path(name).suffix.lower()
    if suffix not in PARSE_EXTENSIONS:
        raise InvalidInputError(
            f"unsupported file type {suffix or '(none)'!r} of {name!r}; expected one of "
            + ", ".join(PARSE_EXTENSIONS),
            field="file",
        )
    formats = None
    if output_formats is not None:
        formats = await catalog.check_formats(
            require_str_list(output_formats, "output_formats"), "output_formats"
        )
    client_ref = client_ref_or_new(client_ref)
    callback_to_send, bind = callback(callback_url)
    request = ParseRequest(
        document_type=document_type,
        callback_url=callback_to_send,
        update_callback_url=update_callback_url,
        client_ref=client_ref,
        extra_data={k: str(v) for k, v in (extra_data or {}).items()},
        output_formats=formats,
        integrations=list(integrations) if integrations is not None else None,
        workflow=workflow,
    )
    try:
        response = await context.transport.request(
            "POST",
            "extraction",
            "/api/v1/sov",
            multipart=Multipart(
                fields=unstructure(request),
                files=[FilePart("file", name, content, _CONTENT_TYPES[suffix])],
            ),
            safety=Safety.SUBMIT,
            what=f"parse of {name}",
        )
        sovid = response.parse(CreatedResponse).id  # an unreadable answer is ambiguous too
    except AmbiguousSubmissionError as exc:
        mark_ambiguous(exc, ParseJob.kind, client_ref)
        raise
    job = ParseJob(context, sovid, client_ref=client_ref)
    context.emit(JobSubmitted(job.kind, sovid, job.token))
    if bind is not None:
        bind(job)
    return job
