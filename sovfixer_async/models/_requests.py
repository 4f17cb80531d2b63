"""What users send, checked strictly before any request leaves the process.

Every problem is an :class:`~sovfixer_async._errors.InvalidInputError` whose ``field``
names the argument, key or row (``locations[3].latitude``, ``policy_terms.layer_terms[0]``).
Checks that need the server's own lists (output formats, datasource codes) are done by
the client; here only shapes and types are checked.

The two hot paths, :func:`validate_location` and :func:`validate_update_row`, are plain
loops over precomputed tables: they run once per location of 100,000-location runs.
"""

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import attrs

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._coerce import format_datetime, show
from sovfixer_async.models._enums import DocumentType, UpdateType

__all__ = [
    "LOCATION_FIELDS",
    "BulkEnhanceRequest",
    "BulkLocation",
    "InitiateUpdateRequest",
    "LayerTerm",
    "OutputRequest",
    "ParseRequest",
    "PerilTerm",
    "PolicyTerms",
    "UpdateStartRequest",
    "ZoneTerm",
    "require_nonempty_str",
    "require_str_list",
    "validate_callback_url",
    "validate_location",
    "validate_update_row",
]


# -- shared small validators -----------------------------------------------------------


def require_nonempty_str(value: Any, field: str) -> str:
    """``value`` itself when it is a string with something besides whitespace."""
    if not isinstance(value, str):
        raise InvalidInputError(f"expected a string, got {_kind(value)} {show(value)}", field=field)
    if not value.strip():
        raise InvalidInputError("must not be empty", field=field)
    return value


def require_str_list(value: Any, field: str, nonempty: bool = True) -> list[str]:
    """A list of non-empty strings from a list or tuple (a bare string is an error)."""
    if isinstance(value, str | bytes | Mapping):
        raise InvalidInputError(
            f"expected a list of strings, got {_kind(value)} {show(value)}"
            + (f" (write [{value!r}])" if isinstance(value, str) else ""),
            field=field,
        )
    if not isinstance(value, Iterable):
        raise InvalidInputError(
            f"expected a list of strings, got {_kind(value)} {show(value)}", field=field
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


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _suggest(key: str, known: Iterable[str], aliases: Mapping[str, str] | None = None) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or nothing."""
    lowered = key.strip().lower()
    if aliases and lowered in aliases:
        return f" (did you mean {aliases[lowered]!r}?)"
    names = list(known)
    if lowered in names:
        return f" (did you mean {lowered!r}?)"
    match = difflib.get_close_matches(lowered, names, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _require_bool(value: Any, field: str) -> bool:
    if value is True or value is False:
        return value
    raise InvalidInputError(
        f"expected True or False, got {_kind(value)} {show(value)}", field=field
    )


def _require_json_object(value: Any, field: str) -> dict[str, Any]:
    """A copy of a mapping with non-empty string keys and JSON-able values.

    Dates and datetimes become ISO-8601 text; anything else JSON cannot carry is an error.
    """
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"expected a mapping, got {_kind(value)} {show(value)}", field=field
        )
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
        return _require_json_object(value, field)
    if isinstance(value, list | tuple):
        return [_json_value(item, f"{field}[{i}]") for i, item in enumerate(value)]
    raise InvalidInputError(
        f"{type(value).__name__} cannot be sent as JSON: {show(value)}", field=field
    )


# -- bulk-enhance locations (§6.1) -----------------------------------------------------


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


@attrs.frozen(kw_only=True)
class BulkLocation:
    """One location of a bulk-enhance request (contract §6.1); unknown fields are errors.

    Values are checked and converted like :func:`validate_location` converts them
    (numeric text to numbers, source codes upper-cased); errors name the field. For
    plain dicts use :func:`validate_location` (the fast path), or :meth:`from_mapping`
    to get this class with row-numbered errors.
    """

    id: str
    sources: list[str] | None = None
    datasource_config: dict[str, Any] | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    county: str | None = None
    bldg_name: str | None = None
    lightbox_assessment_id: str | None = None
    lightbox_building_id: str | None = None
    lightbox_parcel_id: str | None = None
    lightbox_parcel_wkt: str | None = None
    occupancy__type_desc: str | None = None
    occupancy__desc_ping: str | None = None
    occupancy__code_air: str | None = None
    occupancy__code_atc: str | None = None
    const__desc_ping: str | None = None
    const__code_rms: str | None = None
    const__code_air: str | None = None
    const__roof_covering: str | None = None
    const__wall_type: str | None = None
    const__bldg_year_built: int | None = None
    const__num_stories: int | None = None
    const__num_stories_below_gnd: int | None = None
    const__bldg_area: int | None = None
    limits__building_limit: float | None = None
    limits__bpp_limit: float | None = None
    limits__bi_limit: float | None = None
    limits__signs_and_other_limit: float | None = None
    dtc_include_coastline_within_miles: float | None = None
    dtc_return_connected_coastlines: bool | None = None

    def __attrs_post_init__(self) -> None:
        for field in _BULK_LOCATION_FIELD_NAMES:
            value = getattr(self, field)
            if value is None and field != "id":
                continue
            clean = _DROP if value is None else _clean_field(field, value)
            if clean is _DROP:
                if field == "id":
                    raise InvalidInputError("missing: every location needs an id", field="id")
                clean = None
            if clean is not value:
                object.__setattr__(self, field, clean)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], index: int = 0, *, prefix: str = "locations"
    ) -> "BulkLocation":
        """Validate a mapping (errors name ``locations[index].field``) and build."""
        return cls(**validate_location(data, index, prefix=prefix))

    def to_json(self) -> dict[str, Any]:
        """The location as the API takes it: set fields only."""
        return {
            field.name: value
            for field in _BULK_LOCATION_FIELDS
            if (value := getattr(self, field.name)) is not None
        }


_BULK_LOCATION_FIELDS = attrs.fields(BulkLocation)
_BULK_LOCATION_FIELD_NAMES = tuple(field.name for field in _BULK_LOCATION_FIELDS)
assert frozenset(_BULK_LOCATION_FIELD_NAMES) == LOCATION_FIELDS


def _clean_field(name: str, value: Any) -> Any:
    try:
        return _LOCATION_CLEANERS[name](value)
    except _Bad as exc:
        raise InvalidInputError(str(exc), field=name) from None


def _convert_locations(value: Any) -> list[BulkLocation]:
    if value is None or isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"expected a list of locations, got {_kind(value)} {show(value)}", field="locations"
        )
    out: list[BulkLocation] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        if isinstance(item, BulkLocation):
            location = item
        elif isinstance(item, Mapping):
            location = BulkLocation.from_mapping(item, index)
        else:
            raise InvalidInputError(
                f"expected a mapping, got {_kind(item)} {show(item)}", field=f"locations[{index}]"
            )
        if location.id in seen:
            raise InvalidInputError(
                f"duplicate location id {location.id!r}", field=f"locations[{index}].id"
            )
        seen.add(location.id)
        out.append(location)
    if not out:
        raise InvalidInputError("no locations given", field="locations")
    return out


def _convert_sources(value: Any) -> list[str]:
    return [code.strip().upper() for code in require_str_list(value, "sources")]


def _convert_timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(
            f"expected a number of seconds, got {_kind(value)} {show(value)}", field="timeout"
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(
            f"must be a positive number of seconds, got {value!r}", field="timeout"
        )
    return float(value)


def _convert_include_raw_response(value: bool) -> bool:
    return _require_bool(value, "include_raw_response")


def _convert_check_cache(value: bool) -> bool:
    return _require_bool(value, "check_cache")


def _convert_callback_url(value: str | None) -> str | None:
    return None if value is None else validate_callback_url(value, "callback_url")


def _convert_update_callback_url(value: str | None) -> str | None:
    return None if value is None else validate_callback_url(value, "update_callback_url")


def _convert_client_ref(value: str | None) -> str | None:
    return None if value is None else require_nonempty_str(value, "client_ref")


def _convert_output_formats(value: Sequence[str] | None) -> list[str] | None:
    return None if value is None else require_str_list(value, "output_formats")


def _convert_integrations(value: Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    codes = require_str_list(value, "integrations", nonempty=False)
    return [code.strip().upper() for code in codes]


@attrs.frozen(kw_only=True)
class BulkEnhanceRequest:
    """``POST /api/v1/bulk_enhance`` (§4.1); ``locations`` may be given as mappings."""

    locations: list[BulkLocation] = attrs.field(converter=_convert_locations)
    sources: list[str] = attrs.field(converter=_convert_sources)
    timeout: float | None = attrs.field(default=None, converter=_convert_timeout)
    include_raw_response: bool = attrs.field(default=False, converter=_convert_include_raw_response)
    check_cache: bool = attrs.field(default=True, converter=_convert_check_cache)
    callback_url: str | None = attrs.field(default=None, converter=_convert_callback_url)

    def to_json(self) -> dict[str, Any]:
        """The JSON body; unset options are left out."""
        return bulk_enhance_body(
            [location.to_json() for location in self.locations],
            self.sources,
            include_raw_response=self.include_raw_response,
            check_cache=self.check_cache,
            timeout=self.timeout,
            callback_url=self.callback_url,
        )


def bulk_enhance_body(
    locations: list[dict[str, Any]],
    sources: Sequence[str],
    *,
    include_raw_response: bool,
    check_cache: bool,
    timeout: float | None,
    callback_url: str | None,
) -> dict[str, Any]:
    """A ``POST /api/v1/bulk_enhance`` body from already validated parts (§4.1)."""
    body: dict[str, Any] = {
        "locations": locations,
        "sources": list(sources),
        "include_raw_response": include_raw_response,
        "check_cache": check_cache,
    }
    if timeout is not None:
        body["timeout"] = timeout
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


# -- add_locations CSV rows (§7) -------------------------------------------------------


def _cell(value: Any, field: str) -> str:
    """One CSV cell as text: None/NaN -> "", integral floats without ``.0``."""
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
        f"expected text, a number, a boolean or None, got {_kind(value)} {show(value)}",
        field=field,
    )


def _row_number(text: str, field: str) -> str:
    """A positive whole row number as text (``"7"``, ``"7.0"`` and ``7`` -> ``"7"``)."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or number < 1:
        raise InvalidInputError(
            f"expected a positive whole row number, got {show(text)}", field=field
        )
    return str(int(number))


def validate_update_row(row: Mapping[str, Any], index: int) -> dict[str, str]:
    """One ``add_locations`` CSV row as strings (None/empty -> ``""``).

    The row must name its building by a non-empty ``item_key`` or by both ``sheet_name``
    and ``sheet_row_number`` (a positive whole number). Column names must be non-empty
    strings; values text, numbers, booleans or None.
    """
    where = f"locations[{index}]"
    try:
        items = row.items()
    except AttributeError:
        raise InvalidInputError(
            f"expected a mapping, got {_kind(row)} {show(row)}", field=where
        ) from None
    out: dict[str, str] = {}
    for key, value in items:
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(
                f"column names must be non-empty strings, got {show(key)}", field=where
            )
        out[key] = value if type(value) is str else _cell(value, f"{where}.{key}")
    row_number = out.get("sheet_row_number", "")
    if row_number.strip():
        out["sheet_row_number"] = _row_number(row_number, f"{where}.sheet_row_number")
    if out.get("item_key", "").strip():
        return out
    if out.get("sheet_name", "").strip() and row_number.strip():
        return out
    if out.get("sheet_name", "").strip():
        raise InvalidInputError(
            "sheet_name is given but sheet_row_number is missing: a row names its building "
            "by item_key, or by sheet_name and sheet_row_number",
            field=f"{where}.sheet_row_number",
        )
    raise InvalidInputError(
        "the row names no building: give item_key, or both sheet_name and sheet_row_number",
        field=where,
    )


# -- update start: policy terms (§3.6) -------------------------------------------------


def _number(value: Any, field: str) -> float:
    """A finite number (int kept as int); numeric text is converted."""
    if isinstance(value, bool):
        raise InvalidInputError(f"expected a number, got {value!r}", field=field)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise InvalidInputError(f"expected a finite number, got {value!r}", field=field)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise InvalidInputError(f"expected a number, got {_kind(value)} {show(value)}", field=field)


def _text(value: Any, field: str) -> str:
    return require_nonempty_str(value, field)


def _texts(value: Any, field: str) -> list[str]:
    return require_str_list(value, field, nonempty=False)


_Checks = dict[str, Callable[[Any, str], Any]]


def _build_term(cls: type[Any], value: Any, field: str, checks: _Checks) -> Any:
    """Build a term class from an instance or a mapping, checking every key strictly."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"expected a mapping, got {_kind(value)} {show(value)}", field=field
        )
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        check = checks.get(key) if isinstance(key, str) else None
        if check is None:
            raise InvalidInputError(
                f"unknown key {key!r}{_suggest(str(key), checks)}; known keys: "
                + ", ".join(checks),
                field=f"{field}.{key}",
            )
        if item is not None:
            kwargs[key] = check(item, f"{field}.{key}")
    return cls(**kwargs)


def _term_list(cls: type[Any], checks: _Checks) -> Callable[[Any, str], list[Any]]:
    def check(value: Any, field: str) -> list[Any]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise InvalidInputError(
                f"expected a list, got {_kind(value)} {show(value)}", field=field
            )
        return [_build_term(cls, item, f"{field}[{i}]", checks) for i, item in enumerate(value)]

    return check


def _drop_none(obj: Any) -> dict[str, Any]:
    return {
        field.name: value
        for field in attrs.fields(type(obj))
        if (value := getattr(obj, field.name)) is not None
    }


@attrs.frozen(kw_only=True)
class LayerTerm:
    """One layer of ``policy_terms.layer_terms``."""

    name: str | None = None
    attachment: float | None = None
    limit: float | None = None
    participation: float | None = None
    premium: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(self)


@attrs.frozen(kw_only=True)
class PerilTerm:
    """One entry of ``policy_terms.peril_terms`` (sub-perils such as ``HU_Wind``)."""

    group: str | None = None
    subperil_types: list[str] | None = None
    sublimit: float | None = None
    min_deductible: float | None = None
    max_deductible: float | None = None
    blanket_deductible: float | None = None
    location_deductible_type: str | None = None
    location_deductible: float | None = None
    bi_days_deductible: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(self)


@attrs.frozen(kw_only=True)
class ZoneTerm:
    """One entry of ``policy_terms.zone_terms``, in either documented shape (§10 Q17):
    the peril-term fields, or ``peril_class``/``zone``/``is_excluded``."""

    group: str | None = None
    subperil_types: list[str] | None = None
    peril_class: str | None = None
    zone: str | None = None
    is_excluded: bool | None = None
    sublimit: float | None = None
    min_deductible: float | None = None
    max_deductible: float | None = None
    blanket_deductible: float | None = None
    location_deductible_type: str | None = None
    location_deductible: float | None = None
    bi_days_deductible: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(self)


_LAYER_CHECKS: _Checks = {
    "name": _text,
    "attachment": _number,
    "limit": _number,
    "participation": _number,
    "premium": _number,
}
_PERIL_CHECKS: _Checks = {
    "group": _text,
    "subperil_types": _texts,
    "sublimit": _number,
    "min_deductible": _number,
    "max_deductible": _number,
    "blanket_deductible": _number,
    "location_deductible_type": _text,
    "location_deductible": _number,
    "bi_days_deductible": _number,
}
_ZONE_CHECKS: _Checks = {
    **_PERIL_CHECKS,
    "peril_class": _text,
    "zone": _text,
    "is_excluded": _require_bool,
}
_POLICY_CHECKS: _Checks = {
    "layer_terms": _term_list(LayerTerm, _LAYER_CHECKS),
    "peril_terms": _term_list(PerilTerm, _PERIL_CHECKS),
    "zone_terms": _term_list(ZoneTerm, _ZONE_CHECKS),
    "excluded_subperil_types": _texts,
}


@attrs.frozen(kw_only=True)
class PolicyTerms:
    """``policy_terms`` of an update start, used by the outputter (§3.6)."""

    layer_terms: list[LayerTerm] | None = None
    peril_terms: list[PerilTerm] | None = None
    zone_terms: list[ZoneTerm] | None = None
    excluded_subperil_types: list[str] | None = None

    @classmethod
    def from_value(cls, value: Any, field: str = "policy_terms") -> "PolicyTerms":
        """A PolicyTerms from itself or a (nested) mapping; errors name the key path."""
        built: PolicyTerms = _build_term(cls, value, field, _POLICY_CHECKS)
        return built

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name in ("layer_terms", "peril_terms", "zone_terms"):
            terms = getattr(self, name)
            if terms is not None:
                body[name] = [term.to_json() for term in terms]
        if self.excluded_subperil_types is not None:
            body["excluded_subperil_types"] = list(self.excluded_subperil_types)
        return body


def _convert_extra_data(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else _require_json_object(value, "extra_data")


def _convert_policy_terms(value: PolicyTerms | Mapping[str, Any] | None) -> PolicyTerms | None:
    return None if value is None else PolicyTerms.from_value(value, "policy_terms")


def _convert_outputter_name(value: str | None) -> str | None:
    return None if value is None else require_nonempty_str(value, "outputter_name")


def _convert_metadata(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else _require_json_object(value, "metadata")


@attrs.frozen(kw_only=True)
class UpdateStartRequest:
    """``POST /api/v1/sov/update/{id}/start`` (§3.6); ``policy_terms`` may be a mapping."""

    extra_data: dict[str, Any] = attrs.field(factory=dict, converter=_convert_extra_data)
    policy_terms: PolicyTerms | None = attrs.field(default=None, converter=_convert_policy_terms)
    outputter_name: str | None = attrs.field(default=None, converter=_convert_outputter_name)
    output_formats: list[str] | None = attrs.field(default=None, converter=_convert_output_formats)
    metadata: dict[str, Any] | None = attrs.field(default=None, converter=_convert_metadata)
    integrations: list[str] | None = attrs.field(default=None, converter=_convert_integrations)

    def to_json(self) -> dict[str, Any]:
        """The JSON body: ``extra_data`` always (``{}`` when none), None values left out."""
        body: dict[str, Any] = {"extra_data": dict(self.extra_data)}
        if self.policy_terms is not None:
            body["policy_terms"] = self.policy_terms.to_json()
        if self.outputter_name is not None:
            body["outputter_name"] = self.outputter_name
        if self.output_formats is not None:
            body["output_formats"] = list(self.output_formats)
        if self.metadata is not None:
            body["metadata"] = dict(self.metadata)
        if self.integrations is not None:
            body["integrations"] = list(self.integrations)
        return body


# -- outputs, initiate_update, parse ---------------------------------------------------


def _convert_output_format(value: str) -> str:
    return require_nonempty_str(value, "output_format")


def _convert_overwrite_existing(value: bool) -> bool:
    return _require_bool(value, "overwrite_existing")


def _revision(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(
            f"expected a whole number (-1 for the latest), got {_kind(value)} {show(value)}",
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
    """``POST /api/v1/sov/{id}/get_or_create_output`` (§3.8)."""

    output_format: str = attrs.field(converter=_convert_output_format)
    revision: int = attrs.field(default=-1, converter=_revision)
    overwrite_existing: bool = attrs.field(default=False, converter=_convert_overwrite_existing)

    def to_json(self) -> dict[str, Any]:
        """The JSON body; ``overwrite_existing`` is sent only when true (as the SDK does)."""
        body: dict[str, Any] = {"output_format": self.output_format, "revision": self.revision}
        if self.overwrite_existing:
            body["overwrite_existing"] = True
        return body


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
    """``POST /api/v1/sov/{sovid}/initiate_update`` (§3.4); all optional."""

    update_type: UpdateType | None = attrs.field(default=None, converter=_convert_update_type)
    callback_url: str | None = attrs.field(default=None, converter=_convert_callback_url)
    client_ref: str | None = attrs.field(default=None, converter=_convert_client_ref)

    def to_json(self) -> dict[str, Any]:
        """The JSON body; ``{}`` when nothing is set (send no body then)."""
        body: dict[str, Any] = {}
        if self.update_type is not None:
            body["update_type"] = self.update_type.value
        if self.callback_url is not None:
            body["callback_url"] = self.callback_url
        if self.client_ref is not None:
            body["client_ref"] = self.client_ref
        return body


def _convert_workflow(value: str | None) -> str | None:
    return None if value is None else require_nonempty_str(value, "workflow")


def _convert_form_extra_data(value: Mapping[str, Any] | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"expected a mapping, got {_kind(value)} {show(value)}", field="extra_data"
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(
                f"keys must be non-empty strings, got {key!r}", field="extra_data"
            )
        field = f"extra_data.{key}"
        if isinstance(item, datetime):
            out[key] = format_datetime(item)
        elif isinstance(item, date):
            out[key] = item.isoformat()
        elif item is None:
            out[key] = ""
        else:
            out[key] = _cell(item, field)
    return out


@attrs.frozen(kw_only=True)
class ParseRequest:
    """The form fields of ``POST /api/v1/sov`` (§3.1), without the file parts."""

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

    def to_form_fields(self) -> list[tuple[str, str]]:
        """Ordered form fields: lists as repeated keys, ``extra_data_<name>`` per entry."""
        fields: list[tuple[str, str]] = []
        if self.document_type is not None:
            fields.append(("document_type", self.document_type.value))
        for name in ("callback_url", "update_callback_url", "client_ref", "workflow"):
            value = getattr(self, name)
            if value is not None:
                fields.append((name, value))
        fields.extend((f"extra_data_{key}", value) for key, value in self.extra_data.items())
        for name in ("output_formats", "integrations"):
            values = getattr(self, name)
            if values is not None:
                fields.extend((name, value) for value in values)
        return fields
