"""Sending one item's job-creating request, per kind, and finding the job an earlier
attempt may have made.

Parse and update submissions carry the ``client_ref`` recorded (as intent) before the
POST, so an ambiguous answer or a lost worker is resolved by ``client.reconcile``. Output
requests are get-or-create: sent again, counted as possible duplicates. A bulk batch has
no ``client_ref``: an ambiguous one is held for an operator unless resubmission is opted in.
"""

from __future__ import annotations

import json
from typing import Any

from sovfixer_async._client import Client
from sovfixer_async._errors import AmbiguousSubmissionError, InvalidInputError
from sovfixer_async._jobs import BulkEnhanceBatch, JobHandle
from sovfixer_async._recovery import mark_ambiguous
from sovfixer_async._transport import EncodedJson, Safety
from sovfixer_async.ledger._plan import check_name
from sovfixer_async.ledger._store import Item
from sovfixer_async.ledger._types import ENHANCE, OUTPUT, PARSE, UPDATE
from sovfixer_async.models import CreatedResponse, ResponseShapeError

#: Locations one batch body read back from the ledger may hold.
MAX_BATCH_LOCATIONS = 100_000


def _opt_list(params: dict[str, Any], key: str) -> list[str] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"the ledger's {key} is not a list of names", field=key)
    return value


def _opt_map(params: dict[str, Any], key: str) -> dict[str, str] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidInputError(f"the ledger's {key} is not a map of strings", field=key)
    return {str(k): v for k, v in value.items()}


def _str(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"the ledger's {key} is missing", field=key)
    return value


def batch_body(item: Item) -> dict[str, Any]:
    """The batch body copied in at planning, checked: it is untrusted once read back."""
    try:
        body = json.loads(item.input or b"")
    except ValueError:
        raise InvalidInputError("the ledger's batch body is not JSON", field="input") from None
    locations = body.get("locations") if isinstance(body, dict) else None
    if (
        not isinstance(locations, list)
        or not 0 < len(locations) <= MAX_BATCH_LOCATIONS
        or not all(isinstance(loc, dict) and isinstance(loc.get("id"), str) for loc in locations)
    ):
        raise InvalidInputError("the ledger's batch body lists no locations", field="input")
    checked: dict[str, Any] = body
    return checked


async def send(client: Client, item: Item, client_ref: str | None) -> JobHandle[Any]:
    """The item's job-creating request(s); returns the new job's handle."""
    params = item.params
    if item.kind == PARSE:
        data = item.input
        if data is None:
            raise InvalidInputError("the ledger holds no file for this parse", field="input")
        document_type = params.get("document_type", "SOV")
        return await client.parse_sov(
            data,
            filename=check_name(item.input_name),
            document_type=document_type if isinstance(document_type, str) else "SOV",
            output_formats=_opt_list(params, "output_formats"),
            extra_data=_opt_map(params, "extra_data"),
            client_ref=client_ref,
        )
    if item.kind == UPDATE:
        update_type = params.get("update_type")
        return await client.update_sov(
            _str(params, "sovid"),
            item.input or b"",
            output_formats=_opt_list(params, "output_formats"),
            extra_data=_opt_map(params, "extra_data"),
            update_type=update_type if isinstance(update_type, str) else None,
            client_ref=client_ref,
        )
    if item.kind == OUTPUT:
        revision = params.get("revision", -1)
        return await client.get_or_create_output(
            _str(params, "sovid"),
            _str(params, "output_format"),
            revision=revision if type(revision) is int else -1,
            overwrite_existing=params.get("overwrite_existing") is True,
        )
    assert item.kind == ENHANCE
    batch_body(item)
    context = client._context
    try:
        response = await context.transport.request(
            "POST",
            "data",
            "/api/v1/bulk_enhance",
            json=EncodedJson.of(item.input or b"", context.config.gzip_threshold),
            safety=Safety.SUBMIT,
            what=f"bulk_enhance submission of ledger item {item.id}",
        )
        created = response.parse(CreatedResponse)
    except ResponseShapeError as exc:  # an unreadable answer to a POST: the job may exist
        raise AmbiguousSubmissionError(
            f"bulk_enhance submission of ledger item {item.id}", str(exc)
        ) from exc
    return BulkEnhanceBatch(context, created.id)


async def find(client: Client, item: Item) -> JobHandle[Any] | None:
    """The job a lost submission of ``item`` made (its ``client_ref``), or None.

    Only parse and update items can be looked up; ``DuplicateClientRefError`` when
    several jobs carry the reference.
    """
    assert item.kind in (PARSE, UPDATE)
    assert item.client_ref is not None
    error = AmbiguousSubmissionError(
        f"ledger item {item.id}", "a worker stopped while submitting it"
    )
    sovid = _str(item.params, "sovid") if item.kind == UPDATE else None
    mark_ambiguous(error, item.kind, item.client_ref, sovid)
    return await client.reconcile(error)
