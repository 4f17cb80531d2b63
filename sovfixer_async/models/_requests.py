"""The request bodies users build: update start, output, initiate update, parse.

Each class checks its values strictly when built (every problem is an
:class:`~sovfixer_async._errors.InvalidInputError` naming the argument or key); the one
converter (:mod:`sovfixer_async.models._request_hooks`) turns them into JSON bodies and
form fields. Checks that need the server's own lists (output formats, datasource codes)
are done by the client.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._checks import (
    cell,
    kind,
    optional_codes,
    optional_str_list,
    require_bool,
    require_json_object,
    require_nonempty_str,
    validate_callback_url,
)
from sovfixer_async.models._coerce import format_datetime, show
from sovfixer_async.models._enums import DocumentType, UpdateType
from sovfixer_async.models._policy_terms import PolicyTerms, policy_terms

__all__ = [
    "InitiateUpdateRequest",
    "OutputRequest",
    "ParseRequest",
    "UpdateStartRequest",
    "bulk_enhance_body",
]


def _convert_callback_url(value: str | None) -> str | None:
    return None if value is None else validate_callback_url(value, "callback_url")


def _convert_update_callback_url(value: str | None) -> str | None:
    return None if value is None else validate_callback_url(value, "update_callback_url")


def _convert_client_ref(value: str | None) -> str | None:
    return None if value is None else require_nonempty_str(value, "client_ref")


def _convert_output_formats(value: Sequence[str] | None) -> list[str] | None:
    return optional_str_list(value, "output_formats")


def _convert_integrations(value: Sequence[str] | None) -> list[str] | None:
    return optional_codes(value, "integrations")


# -- update start (§3.6) ---------------------------------------------------------------


def _convert_extra_data(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else require_json_object(value, "extra_data")


def _convert_policy_terms(value: PolicyTerms | Mapping[str, Any] | None) -> PolicyTerms | None:
    return None if value is None else policy_terms(value, "policy_terms")


def _convert_outputter_name(value: str | None) -> str | None:
    return None if value is None else require_nonempty_str(value, "outputter_name")


def _convert_metadata(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else require_json_object(value, "metadata")


@attrs.frozen(kw_only=True)
class UpdateStartRequest:
    """``POST /api/v1/sov/update/{id}/start`` (§3.6); ``policy_terms`` may be a mapping.

    Its JSON body has ``extra_data`` always (``{}`` when none) and leaves None out.
    """

    extra_data: dict[str, Any] = attrs.field(factory=dict, converter=_convert_extra_data)
    policy_terms: PolicyTerms | None = attrs.field(default=None, converter=_convert_policy_terms)
    outputter_name: str | None = attrs.field(default=None, converter=_convert_outputter_name)
    output_formats: list[str] | None = attrs.field(default=None, converter=_convert_output_formats)
    metadata: dict[str, Any] | None = attrs.field(default=None, converter=_convert_metadata)
    integrations: list[str] | None = attrs.field(default=None, converter=_convert_integrations)


# -- outputs, initiate_update, parse ---------------------------------------------------


def _convert_output_format(value: str) -> str:
    return require_nonempty_str(value, "output_format")


def _convert_overwrite_existing(value: bool) -> bool:
    return require_bool(value, "overwrite_existing")


def _revision(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(
            f"expected a whole number (-1 for the latest), got {kind(value)} {show(value)}",
            field="revision",
        )
    if value < -1:
        raise InvalidInputError(
            f"must be -1 (latest), 0 (the original) or a revision number, got {value}",
            field="revision",
        )
    return value


@attrs.frozen(kw_only=True)
class OutputRequest:
    """``POST /api/v1/sov/{id}/get_or_create_output`` (§3.8).

    Its JSON body carries ``overwrite_existing`` only when true (as the official SDK does).
    """

    output_format: str = attrs.field(converter=_convert_output_format)
    revision: int = attrs.field(default=-1, converter=_revision)
    overwrite_existing: bool = attrs.field(default=False, converter=_convert_overwrite_existing)


E = TypeVar("E", UpdateType, DocumentType)


def _enum_member(enum_cls: type[E], value: E | str | None, field: str) -> E | None:
    """A member from itself or its value in any case; anything else lists the allowed."""
    if value is None:
        return None
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        try:
            return enum_cls(value.strip().upper())
        except ValueError:
            pass
    raise InvalidInputError(
        f"unknown value {show(value)}; allowed: " + ", ".join(m.value for m in enum_cls),
        field=field,
    )


def _convert_update_type(value: UpdateType | str | None) -> UpdateType | None:
    return _enum_member(UpdateType, value, "update_type")


def _convert_document_type(value: DocumentType | str | None) -> DocumentType | None:
    return _enum_member(DocumentType, value, "document_type")


@attrs.frozen(kw_only=True)
class InitiateUpdateRequest:
    """``POST /api/v1/sov/{sovid}/initiate_update`` (§3.4); all optional.

    Its JSON body is ``{}`` when nothing is set (send no body then).
    """

    update_type: UpdateType | None = attrs.field(default=None, converter=_convert_update_type)
    callback_url: str | None = attrs.field(default=None, converter=_convert_callback_url)
    client_ref: str | None = attrs.field(default=None, converter=_convert_client_ref)


def _convert_workflow(value: str | None) -> str | None:
    return None if value is None else require_nonempty_str(value, "workflow")


def _convert_form_extra_data(value: Mapping[str, Any] | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"expected a mapping, got {kind(value)} {show(value)}", field="extra_data"
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(
                f"keys must be non-empty strings, got {key!r}", field="extra_data"
            )
        if isinstance(item, datetime):
            out[key] = format_datetime(item)
        elif isinstance(item, date):
            out[key] = item.isoformat()
        else:
            out[key] = cell(item, f"extra_data.{key}")
    return out


@attrs.frozen(kw_only=True)
class ParseRequest:
    """The form fields of ``POST /api/v1/sov`` (§3.1), without the file parts.

    The converter gives its ordered form fields: lists as repeated keys,
    ``extra_data_<name>`` per entry.
    """

    document_type: DocumentType | None = attrs.field(
        default=DocumentType.SOV, converter=_convert_document_type
    )
    callback_url: str | None = attrs.field(default=None, converter=_convert_callback_url)
    update_callback_url: str | None = attrs.field(
        default=None, converter=_convert_update_callback_url
    )
    client_ref: str | None = attrs.field(default=None, converter=_convert_client_ref)
    extra_data: dict[str, str] = attrs.field(factory=dict, converter=_convert_form_extra_data)
    output_formats: list[str] | None = attrs.field(default=None, converter=_convert_output_formats)
    integrations: list[str] | None = attrs.field(default=None, converter=_convert_integrations)
    workflow: str | None = attrs.field(default=None, converter=_convert_workflow)


# -- bulk enhance (§4.1) ---------------------------------------------------------------


def bulk_enhance_body(
    locations: list[dict[str, Any]],
    sources: Sequence[str],
    *,
    include_raw_response: bool,
    check_cache: bool,
    timeout: float | None,
    callback_url: str | None,
    delegate_to: str | None = None,
    extra_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``POST /api/v1/bulk_enhance`` body from already validated parts (§4.1);
    ``extra_fields`` (checked not to collide with these) go to the top level."""
    body: dict[str, Any] = {
        **(extra_fields or {}),
        "locations": locations,
        "sources": list(sources),
        "include_raw_response": include_raw_response,
        "check_cache": check_cache,
    }
    if timeout is not None:
        body["timeout"] = timeout
    if callback_url is not None:
        body["callback_url"] = callback_url
    if delegate_to is not None:
        body["delegate_to"] = delegate_to
    return body
