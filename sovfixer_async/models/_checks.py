"""Small checks shared by every request model: strings, lists, URLs, booleans, JSON values.

Every problem is an :class:`~sovfixer_async._errors.InvalidInputError` whose ``field``
names the argument or key. Internal to the SDK (not exported by ``sovfixer_async.models``).
"""

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._coerce import format_datetime, show

__all__ = [
    "cell",
    "kind",
    "require_bool",
    "require_json_object",
    "require_nonempty_str",
    "require_str_list",
    "suggest",
    "validate_callback_url",
]


def kind(value: Any) -> str:
    """The type name of a value for messages (``None`` for None)."""
    return "None" if value is None else type(value).__name__


def require_nonempty_str(value: Any, field: str) -> str:
    """``value`` itself when it is a string with something besides whitespace."""
    if not isinstance(value, str):
        raise InvalidInputError(f"expected a string, got {kind(value)} {show(value)}", field=field)
    if not value.strip():
        raise InvalidInputError("must not be empty", field=field)
    return value


def require_str_list(value: Any, field: str, nonempty: bool = True) -> list[str]:
    """A list of non-empty strings from a list or tuple (a bare string is an error)."""
    if isinstance(value, str | bytes | Mapping):
        raise InvalidInputError(
            f"expected a list of strings, got {kind(value)} {show(value)}"
            + (f" (write [{value!r}])" if isinstance(value, str) else ""),
            field=field,
        )
    if not isinstance(value, Iterable):
        raise InvalidInputError(
            f"expected a list of strings, got {kind(value)} {show(value)}", field=field
        )
    items = list(value)
    if nonempty and not items:
        raise InvalidInputError("must not be empty", field=field)
    for i, item in enumerate(items):
        require_nonempty_str(item, f"{field}[{i}]")
    return items


def validate_callback_url(url: Any, field: str) -> str:
    """An absolute http(s) URL with a host, as the server will POST to it."""
    text = require_nonempty_str(url, field)
    if any(ch.isspace() for ch in text):
        raise InvalidInputError(f"URL contains whitespace: {show(text)}", field=field)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidInputError(f"not a valid URL ({exc}): {show(text)}", field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"expected an absolute http:// or https:// URL, got {show(text)}", field=field
        )
    return text


def suggest(key: str, known: Iterable[str], aliases: Mapping[str, str] | None = None) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or nothing."""
    lowered = key.strip().lower()
    if aliases and lowered in aliases:
        return f" (did you mean {aliases[lowered]!r}?)"
    names = list(known)
    if lowered in names:
        return f" (did you mean {lowered!r}?)"
    match = difflib.get_close_matches(lowered, names, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def require_bool(value: Any, field: str) -> bool:
    if value is True or value is False:
        return value
    raise InvalidInputError(f"expected True or False, got {kind(value)} {show(value)}", field=field)


def require_json_object(value: Any, field: str) -> dict[str, Any]:
    """A copy of a mapping with non-empty string keys and JSON-able values.

    Dates and datetimes become ISO-8601 text; anything else JSON cannot carry is an error.
    """
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"expected a mapping, got {kind(value)} {show(value)}", field=field)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(f"keys must be non-empty strings, got {key!r}", field=field)
        out[key] = _json_value(item, f"{field}.{key}")
    return out


def _json_value(value: Any, field: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{value!r} cannot be sent as JSON", field=field)
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return require_json_object(value, field)
    if isinstance(value, list | tuple):
        return [_json_value(item, f"{field}[{i}]") for i, item in enumerate(value)]
    raise InvalidInputError(
        f"{type(value).__name__} cannot be sent as JSON: {show(value)}", field=field
    )


def cell(value: Any, field: str) -> str:
    """One CSV cell or form field as text: None/NaN -> "", integral floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if not math.isfinite(value):
            raise InvalidInputError(f"expected a finite number, got {value!r}", field=field)
        return str(int(value)) if value.is_integer() else repr(value)
    raise InvalidInputError(
        f"expected text, a number, a boolean or None, got {kind(value)} {show(value)}",
        field=field,
    )


def optional_str_list(value: Sequence[str] | None, field: str) -> list[str] | None:
    return None if value is None else require_str_list(value, field)


def optional_codes(value: Sequence[str] | None, field: str) -> list[str] | None:
    """Upper-cased codes (``integrations``); an empty list is allowed."""
    if value is None:
        return None
    return [code.strip().upper() for code in require_str_list(value, field, nonempty=False)]
