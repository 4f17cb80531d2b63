"""How the one converter writes request models: JSON bodies and form fields.

The request classes hold checked data only; these hooks, registered on the converter by
:func:`register_request_hooks`, decide what goes on the wire: None values are left out
(cattrs' ``omit_if_default``, every optional field defaulting to None), ``extra_data``
of an update start is always sent, ``revision`` always, ``overwrite_existing`` only when
true, and a parse request becomes its ordered multipart form fields.
"""

from typing import Any

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from sovfixer_async.models._policy_terms import LayerTerm, PerilTerm, PolicyTerms, ZoneTerm
from sovfixer_async.models._requests import (
    InitiateUpdateRequest,
    OutputRequest,
    ParseRequest,
    UpdateStartRequest,
)

__all__ = ["register_request_hooks"]

#: Fields sent even when they hold their default.
_ALWAYS_SENT: dict[type, tuple[str, ...]] = {
    UpdateStartRequest: ("extra_data",),
    OutputRequest: ("output_format", "revision"),
}

_JSON_REQUESTS = (
    LayerTerm,
    PerilTerm,
    ZoneTerm,
    PolicyTerms,
    UpdateStartRequest,
    OutputRequest,
    InitiateUpdateRequest,
)


def _parse_form_fields(request: ParseRequest) -> list[tuple[str, str]]:
    """Ordered form fields: lists as repeated keys, ``extra_data_<name>`` per entry."""
    fields: list[tuple[str, str]] = []
    if request.document_type is not None:
        fields.append(("document_type", request.document_type.value))
    for name in ("callback_url", "update_callback_url", "client_ref", "workflow"):
        value = getattr(request, name)
        if value is not None:
            fields.append((name, value))
    fields.extend((f"extra_data_{key}", value) for key, value in request.extra_data.items())
    for name in ("output_formats", "integrations"):
        values = getattr(request, name)
        if values is not None:
            fields.extend((name, value) for value in values)
    return fields


def register_request_hooks(converter: cattrs.Converter) -> None:
    """Register how ``converter.unstructure`` writes every request model."""
    for cls in _JSON_REQUESTS:
        overrides: dict[str, Any] = {
            name: override(omit_if_default=False) for name in _ALWAYS_SENT.get(cls, ())
        }
        converter.register_unstructure_hook(
            cls,
            make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True, **overrides),
        )
    converter.register_unstructure_hook(ParseRequest, _parse_form_fields)
