"""Cleaning one bulk-enhance location (contract §6.1): the per-row hot path.

:func:`validate_location` is a plain loop over a precomputed table of cleaners; it runs
once per location of million-location runs. Every problem is an
:class:`~sovfixer_async._errors.InvalidInputError` naming ``locations[i].field``.
"""

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._checks import kind as _kind
from sovfixer_async.models._checks import suggest as _suggest
from sovfixer_async.models._coerce import show

__all__ = ["LOCATION_FIELDS", "validate_location"]


class _Bad(Exception):
    """A location value is wrong; the message says why (turned into InvalidInputError)."""


#: Returned by a cleaner for "no value" (None, "", NaN): the key is left out.
_DROP: Final = object()

_SPLIT_SOURCES = re.compile(r"[\s,;|]+")


def _clean_str(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.strip() else _DROP
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return _DROP
    raise _Bad(f"expected text, got {_kind(value)} {show(value)}")


def _clean_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise _Bad(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return _DROP
        if value.is_integer():
            return int(value)
        raise _Bad(f"expected a whole number, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return _DROP
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise _Bad(f"expected a whole number, got {show(value)}") from None
        if number.is_integer():
            return int(number)
        raise _Bad(f"expected a whole number, got {show(value)}")
    raise _Bad(f"expected a whole number, got {_kind(value)} {show(value)}")


def _clean_float(value: Any) -> Any:
    if type(value) is float:
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return _DROP
        raise _Bad(f"expected a finite number, got {value!r}")
    if isinstance(value, bool):
        raise _Bad(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        return _clean_float(float(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return _DROP
        try:
            number = float(text)
        except ValueError:
            raise _Bad(f"expected a number, got {show(value)}") from None
        if not math.isfinite(number):
            raise _Bad(f"expected a finite number, got {show(value)}")
        return number
    raise _Bad(f"expected a number, got {_kind(value)} {show(value)}")


def _ranged(low: float, high: float) -> Callable[[Any], Any]:
    def clean(value: Any) -> Any:
        number = _clean_float(value)
        if number is not _DROP and not low <= number <= high:
            raise _Bad(f"must be between {low:g} and {high:g}, got {number!r}")
        return number

    return clean


def _clean_bool(value: Any) -> Any:
    if value is True or value is False:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return _DROP
        if text in ("true", "1", "yes", "y", "t"):
            return True
        if text in ("false", "0", "no", "n", "f"):
            return False
    if isinstance(value, float) and math.isnan(value):
        return _DROP
    raise _Bad(f"expected true or false, got {_kind(value)} {show(value)}")


def _clean_id(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip():
            return value
        raise _Bad("must not be empty: every location needs an id")
    raise _Bad(f"expected a string id, got {_kind(value)} {show(value)}")


def _clean_sources(value: Any) -> Any:
    """A list of codes (upper-cased); CSV text such as ``"PG, PH"`` is split."""
    if isinstance(value, str):
        codes = [code for code in _SPLIT_SOURCES.split(value) if code]
        return [code.upper() for code in codes] if codes else _DROP
    if isinstance(value, list | tuple):
        if not value:
            raise _Bad("must not be empty (leave it out to use the request's sources)")
        out = []
        for i, code in enumerate(value):
            if not isinstance(code, str) or not code.strip():
                raise _Bad(f"item {i} must be a non-empty source code, got {show(code)}")
            out.append(code.strip().upper())
        return out
    raise _Bad(f"expected a list of source codes, got {_kind(value)} {show(value)}")


def _clean_object(value: Any) -> Any:
    """A JSON object; CSV cells may hold it as JSON text."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        if not value.strip():
            return _DROP
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    raise _Bad(f"expected an object, got {_kind(value)} {show(value)}")


_STRING_FIELDS = (
    "address",
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "postal_code",
    "country",
    "county",
    "bldg_name",
    "lightbox_assessment_id",
    "lightbox_building_id",
    "lightbox_parcel_id",
    "lightbox_parcel_wkt",
    "occupancy__type_desc",
    "occupancy__desc_ping",
    "occupancy__code_air",
    "occupancy__code_atc",
    "const__desc_ping",
    "const__code_rms",
    "const__code_air",
    "const__roof_covering",
    "const__wall_type",
)
_INT_FIELDS = (
    "const__bldg_year_built",
    "const__num_stories",
    "const__num_stories_below_gnd",
    "const__bldg_area",
)
_FLOAT_FIELDS = (
    "limits__building_limit",
    "limits__bpp_limit",
    "limits__bi_limit",
    "limits__signs_and_other_limit",
    "dtc_include_coastline_within_miles",
)

#: Location field -> cleaner (contract §6.1). The one table both paths use.
_LOCATION_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "id": _clean_id,
    "sources": _clean_sources,
    "datasource_config": _clean_object,
    **dict.fromkeys(_STRING_FIELDS, _clean_str),
    "latitude": _ranged(-90.0, 90.0),
    "longitude": _ranged(-180.0, 180.0),
    **dict.fromkeys(_INT_FIELDS, _clean_int),
    **dict.fromkeys(_FLOAT_FIELDS, _clean_float),
    "dtc_return_connected_coastlines": _clean_bool,
}

#: Every field a bulk-enhance location may carry.
LOCATION_FIELDS: frozenset[str] = frozenset(_LOCATION_CLEANERS)

_LOCATION_ALIASES = {
    "lat": "latitude",
    "lng": "longitude",
    "lon": "longitude",
    "long": "longitude",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "zip_code": "postal_code",
    "postcode": "postal_code",
    "address1": "address_line_1",
    "address2": "address_line_2",
    "street": "address_line_1",
    "source": "sources",
    "location_id": "id",
    "name": "bldg_name",
    "year_built": "const__bldg_year_built",
    "num_stories": "const__num_stories",
}


def _unknown_location_key(key: Any, index: int, prefix: str) -> InvalidInputError:
    if not isinstance(key, str):
        return InvalidInputError(
            f"field names must be strings, got {_kind(key)} {show(key)}", field=f"{prefix}[{index}]"
        )
    return InvalidInputError(
        f"unknown field {key!r}{_suggest(key, _LOCATION_CLEANERS, _LOCATION_ALIASES)}",
        field=f"{prefix}[{index}].{key}",
    )


def validate_location(
    data: Mapping[str, Any], index: int, *, prefix: str = "locations"
) -> dict[str, Any]:
    """A cleaned plain dict of one bulk-enhance location, or an InvalidInputError.

    ``id`` is required (a non-empty string); None, empty and NaN values are left out;
    numeric text (from CSV) becomes numbers; ``sources`` is upper-cased (CSV text is
    split on commas). Unknown keys are errors suggesting the closest known field.
    """
    cleaners = _LOCATION_CLEANERS
    out: dict[str, Any] = {}
    try:
        items = data.items()
    except AttributeError:
        raise InvalidInputError(
            f"expected a mapping, got {_kind(data)} {show(data)}", field=f"{prefix}[{index}]"
        ) from None
    for key, value in items:
        cleaner = cleaners.get(key)
        if cleaner is None:
            raise _unknown_location_key(key, index, prefix)
        if value is None:
            continue
        if cleaner is _clean_str and type(value) is str:
            if value and not value.isspace():
                out[key] = value
            continue
        try:
            clean = cleaner(value)
        except _Bad as exc:
            raise InvalidInputError(str(exc), field=f"{prefix}[{index}].{key}") from None
        if clean is not _DROP:
            out[key] = clean
    if "id" not in out:
        raise InvalidInputError(
            "missing: every location needs a non-empty string id", field=f"{prefix}[{index}].id"
        )
    return out
