"""Options every Ping.Extraction submission shares: delegation and extra request fields.

``delegate_to_team`` is the call's own value, else the client's default
(``ClientConfig.delegate_to_team``). ``extra_fields`` are sent as they are, next to the
named ones, as pingintel-api 1.4.12+ forwards its ``**kwargs``; a name that one of the call's
own parameters (or the SDK itself) already sends is refused before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sovfixer_async._config import ClientConfig, check_team
from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._coerce import show

#: Longest extra field name, and most extra fields, one call may add.
MAX_EXTRA_NAME = 100
MAX_EXTRA_FIELDS = 100


def team(config: ClientConfig, value: str | int | None) -> str | None:
    """The team a call acts for: its own ``delegate_to_team``, else the client's default."""
    if value is None:
        return config.delegate_to_team
    return check_team(value)


def extra(
    extra_fields: Mapping[str, Any] | None, taken: Iterable[str], *, form: bool
) -> dict[str, Any]:
    """``extra_fields`` checked: str names, not ``taken``; form values become strings.

    ``form`` bodies (multipart, form-urlencoded) take text, numbers and booleans; JSON
    bodies take any JSON value.
    """
    if extra_fields is None:
        return {}
    if not isinstance(extra_fields, Mapping):
        raise InvalidInputError(
            f"expected a mapping of field names to values, got {type(extra_fields).__name__}",
            field="extra_fields",
        )
    if len(extra_fields) > MAX_EXTRA_FIELDS:
        raise InvalidInputError(
            f"at most {MAX_EXTRA_FIELDS} extra fields, got {len(extra_fields)}",
            field="extra_fields",
        )
    reserved = set(taken)
    out: dict[str, Any] = {}
    for name, value in extra_fields.items():
        where = f"extra_fields[{name!r:.40}]"
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_EXTRA_NAME:
            raise InvalidInputError(
                f"field names must be non-empty strings of at most {MAX_EXTRA_NAME} characters",
                field="extra_fields",
            )
        if not name.isprintable():
            raise InvalidInputError("field names must be printable", field=where)
        if name in reserved or (form and name.startswith("extra_data_")):
            raise InvalidInputError(
                f"{name!r} is a parameter of this call (or sent by the SDK): pass it by its "
                "own keyword" + (" (extra_data= for extra_data_*)" if form else ""),
                field=where,
            )
        out[name] = form_value(value, where) if form else _json_value(value, where)
    return out


def _json_value(value: Any, where: str) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise InvalidInputError(
            f"not a JSON value: {type(value).__name__} {show(value)}", field=where
        ) from None
    return value


def form_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise InvalidInputError(
        f"a form field takes text, a number or a boolean, got {type(value).__name__} {show(value)}",
        field=where,
    )
