"""Live handles rebuilt from resume tokens (no I/O)."""

from __future__ import annotations

from typing import Any

from sovfixer_async import _bulk
from sovfixer_async._context import JobContext
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._jobs import BulkEnhanceBatch, JobHandle, OutputJob, ParseJob, parse_token
from sovfixer_async._update_job import UpdateJob

AnyHandle = JobHandle[Any] | _bulk.BulkEnhanceRun

HANDLE_TYPES: dict[str, type[JobHandle[Any]]] = {
    cls.kind: cls for cls in (UpdateJob, OutputJob, ParseJob, BulkEnhanceBatch)
}


def resume(context: JobContext, token: str) -> AnyHandle:
    """The handle a token names; an ``InvalidInputError`` for a token it cannot trust."""
    data = parse_token(token)
    kind = data.get("kind")
    if kind == _bulk.BulkEnhanceRun.kind:
        return _bulk.resume_run(context, data)
    handle_type = HANDLE_TYPES.get(str(kind))
    if handle_type is None:
        raise InvalidInputError(
            f"resume token names an unknown job kind {kind!r}; expected one of "
            + ", ".join([*HANDLE_TYPES, _bulk.BulkEnhanceRun.kind]),
            field="token",
        )
    return handle_type.from_token(context, data)
