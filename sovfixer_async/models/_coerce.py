"""Tolerant scalar coercions for response fields, shared by the converter and fast paths.

Each takes one JSON value and returns the typed value, or raises ``TypeError`` /
``ValueError`` with a short message saying what was expected and what came. The common
case (the value already has the right type) is one ``type(...) is`` check. The unused
second parameter lets each be registered as a cattrs structure hook as is.
"""

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "format_datetime",
    "show",
    "to_bool",
    "to_datetime",
    "to_dict",
    "to_float",
    "to_int",
    "to_str",
]

_TRUE = frozenset({"true", "1", "yes", "y", "t", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "off"})


def show(value: Any) -> str:
    """A short repr of ``value`` for error messages (never the whole of a big body)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def to_str(value: Any, _type: Any = None) -> str:
    """A string; numbers become their decimal text (some servers send numeric ids)."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {_kind(value)} {show(value)}")


def to_int(value: Any, _type: Any = None) -> int:
    """An int from an int, an integral float, or a numeric string (``"7"``, ``"7.0"``)."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected an integer, got bool {value!r}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {show(value)}") from None
        if number.is_integer():
            return int(number)
        raise ValueError(f"expected an integer, got {show(value)}")
    raise TypeError(f"expected an integer, got {_kind(value)} {show(value)}")


def to_float(value: Any, _type: Any = None) -> float:
    """A float from an int, a float, or a numeric string."""
    if type(value) is float:
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got bool {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {show(value)}") from None
    raise TypeError(f"expected a number, got {_kind(value)} {show(value)}")


def to_bool(value: Any, _type: Any = None) -> bool:
    """A bool from a bool, 0/1, or the usual spellings (``"true"``, ``"False"``, ``"1"``)."""
    if value is True or value is False:
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected a boolean, got {show(value)}")
    raise TypeError(f"expected a boolean, got {_kind(value)} {show(value)}")


def to_dict(value: Any, _type: Any = None) -> dict[str, Any]:
    """A JSON object as a ``dict`` (the same object when it already is one)."""
    if type(value) is dict:
        return value
    if isinstance(value, dict):
        return dict(value)
    try:
        return dict(value.items())
    except AttributeError:
        raise TypeError(f"expected an object, got {_kind(value)} {show(value)}") from None


def to_datetime(value: Any, _type: Any = None) -> datetime:
    """A timezone-aware UTC datetime.

    Accepts ISO-8601 with or without fractional seconds, with ``Z`` or an offset (a naive
    time is taken as UTC), and epoch seconds as a number.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"expected an ISO-8601 timestamp, got {show(value)}") from None
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"expected a timestamp, got {show(value)}") from None
    else:
        raise TypeError(f"expected an ISO-8601 timestamp, got {_kind(value)} {show(value)}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is UTC:
        return parsed
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """ISO-8601 in UTC with ``Z``; microseconds kept when present, so round trips are exact."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat()
    return text + "Z"
