"""Reading a location's fields as a geocoder would: clean text, coordinates, one-line addresses."""

from __future__ import annotations

import math
import re

from sovfixer_async.emulator.enrich_tables import US_NAMES

_STATE_AT_END = re.compile(r"^(?:(.*?)\s+)?([A-Za-z]{2})(?:\s+(\d{5})(?:-\d{4})?)?$")
_ZIP_ONLY = re.compile(r"^(\d{5})(?:-\d{4})?$")
HOUSE = re.compile(r"^(\d+[A-Za-z]?(?:-\d+)?)\s+(.+)$")


def coordinate(value: object, limit: float) -> float | None:
    """A finite number (or numeric string) within +-limit, else None; booleans are not numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def clean_text(value: object) -> str | None:
    """A stripped non-empty string (the first such of a list), else None."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str) and item.strip():
                return item.strip()
        return None
    if value is None or isinstance(value, bool | dict):
        return None
    return str(value).strip() or None


def words(text: str) -> str:
    """``main st`` -> ``Main St``; text with capitals already (``NE 2nd Ave``) is kept."""
    return text.title() if text.islower() else text


Parsed = tuple[str | None, str | None, str | None, str | None, str | None, str | None]
# "123 main st, miami, fl 33131, usa": the common shape, in one match
_ONE_LINE = re.compile(
    r"\s*(?:(\d+[A-Za-z]?(?:-\d+)?) +)?([^,]*[^,\s]) *, *([^,]*[^,\s]) *, *([A-Za-z]{2})"
    r"(?: +(\d{5})(?:-\d{4})?)? *(, *(?:USA?|U\.S\.A?\.?|United States) *)?\s*",
    re.IGNORECASE,
)


def parse_address(text: str) -> Parsed:
    """A one-line US address split as a parser would: (number, road, city, state, zip, country)."""
    match = _ONE_LINE.fullmatch(text)
    if match is not None:
        number, road, city, state, postcode, country = match.groups()
        return (
            number,
            words(road),
            words(city),
            state.upper(),
            postcode,
            "US" if country else None,
        )
    parts = [p.strip() for p in text.split(",")]
    parts = [p for p in parts if p]
    country = None
    if parts and parts[-1].upper() in US_NAMES:
        country = "US"
        parts.pop()
    state = postcode = city = None
    if len(parts) > 1:
        last = parts[-1]
        zip_only = _ZIP_ONLY.match(last)
        if zip_only:
            postcode = zip_only[1]
            parts.pop()
            last = parts[-1] if len(parts) > 1 else ""
        state_match = _STATE_AT_END.match(last)
        if state_match and len(parts) > 1:
            state, postcode = state_match[2].upper(), state_match[3] or postcode
            parts.pop()
            if state_match[1]:
                parts.append(state_match[1])
    if len(parts) > 1:
        city = words(parts.pop())
    number = road = None
    if parts:
        street = words(", ".join(parts))
        house = HOUSE.match(street)
        number, road = (house[1], house[2]) if house else (None, street)
    return number, road, city, state, postcode, country
