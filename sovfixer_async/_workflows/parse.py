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
from sovfixer_async._workflows import options
from sovfixer_async._workflows.callbacks import callback
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async.models import CreatedResponse, ParseRequest, unstructure
from sovfixer_async.models._checks import require_bool, require_nonempty_str, require_str_list

PARSE_EXTENSIONS = (".xls", ".xlsx", ".xlsm", ".xlsb", ".pdf")
_CONTENT_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    ".pdf": "application/pdf",
}


#: Most files one parse job takes (the API sends them as repeated ``file`` parts).
MAX_PARSE_FILES = 50
#: Form fields ``parse_sov`` sends itself: ``extra_fields`` may not name them.
PARSE_FIELDS = (
    "file",
    "document_type",
    "callback_url",
    "update_callback_url",
    "client_ref",
    "output_formats",
    "integrations",
    "workflow",
    "company",
    "team",
    "allow_ping_data_api",
    "delegate_to_team",
)

ParseFile = str | PathLike[str] | bytes
ParseInput = ParseFile | Sequence[ParseFile]


def _one_part(file: object, filename: str | None, field: str) -> FilePart:
    content: bytes | Path
    if isinstance(file, bytes | bytearray):
        if not filename:
            raise InvalidInputError("give filename=... when file is bytes", field="filename")
        content, name = bytes(file), filename
    elif isinstance(file, str | PathLike):
        path = Path(file)
        if not path.is_file():
            raise InvalidInputError(f"file not found: {path}", field=field)
        content, name = path, filename or path.name
    else:
        raise InvalidInputError(f"expected a path or bytes, got {type(file).__name__}", field=field)
    suffix = Path(name).suffix.lower()
    if suffix not in PARSE_EXTENSIONS:
        raise InvalidInputError(
            f"unsupported file type {suffix or '(none)'!r} of {name!r}; expected one of "
            + ", ".join(PARSE_EXTENSIONS),
            field=field,
        )
    return FilePart("file", name, content, _CONTENT_TYPES[suffix])


def file_parts(file: ParseInput, filename: str | Sequence[str] | None) -> list[FilePart]:
    """One ``file`` part per file; several files take one filename each (or none)."""
    if isinstance(file, str | bytes | bytearray | PathLike):
        if filename is not None and not isinstance(filename, str):
            raise InvalidInputError("one file takes one filename (a str)", field="filename")
        return [_one_part(file, filename, "file")]
    if not isinstance(file, Sequence) or not file:
        raise InvalidInputError("expected a path, bytes, or a non-empty list of them", field="file")
    if len(file) > MAX_PARSE_FILES:
        raise InvalidInputError(
            f"at most {MAX_PARSE_FILES} files per parse, got {len(file)}", field="file"
        )
    if filename is None:
        names: Sequence[str | None] = [None] * len(file)
    elif isinstance(filename, str) or len(filename) != len(file):
        raise InvalidInputError(
            "several files take a list of filenames of the same length", field="filename"
        )
    else:
        names = filename
    return [_one_part(f, n, f"file[{i}]") for i, (f, n) in enumerate(zip(file, names, strict=True))]


async def parse_sov(
    context: JobContext,
    catalog: Catalog,
    file: ParseInput,
    *,
    filename: str | Sequence[str] | None,
    document_type: str,
    output_formats: Sequence[str] | None,
    integrations: Sequence[str] | None,
    extra_data: Mapping[str, Any] | None,
    client_ref: str | None,
    callback_url: str | WebhookReceiver | None,
    update_callback_url: str | None,
    workflow: str | None,
    company: str | None = None,
    team: str | None = None,
    allow_ping_data_api: bool | None = None,
    delegate_to_team: str | int | None = None,
    extra_fields: Mapping[str, Any] | None = None,
) -> ParseJob:
    """Check the files and the options, then upload them; returns the parse job."""
    parts = file_parts(file, filename)
    more: list[tuple[str, str]] = []
    for name, value in (("company", company), ("team", team)):
        if value is not None:
            more.append((name, require_nonempty_str(value, name)))
    if allow_ping_data_api is not None:
        more.append(
            ("allow_ping_data_api", str(require_bool(allow_ping_data_api, "allow_ping_data_api")))
        )
    delegate = options.team(context.config, delegate_to_team)
    if delegate is not None:
        more.append(("delegate_to_team", delegate))
    extra = options.extra(extra_fields, PARSE_FIELDS, form=True)
    more.extend(extra.items())
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
            multipart=Multipart(fields=[*unstructure(request), *more], files=parts),
            safety=Safety.SUBMIT,
            what="parse of " + ", ".join(part.filename for part in parts),
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
