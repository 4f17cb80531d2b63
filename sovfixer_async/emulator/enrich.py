"""Deterministic synthetic Ping.Data results: geocodes, hazard scores, per-source statistics.

Every value derives from a hash of the request, never from a random generator or the clock:

* what a location *is* (its coordinates, address parts, hazards, parcel facts) comes from its
  address fields or coordinates (and ``seed``), so every geocoder agrees on the coordinates,
  and sources that report the same fact (``fema_flood_zone``, ``distance_to_coast_miles``,
  ``parcel_id`` ...) agree with each other;
* whether a (location id, source) pair fails, and its confidence and fetch time, come from the
  pair (and ``seed``), so ``problem_rate`` picks a stable share of pairs.

Addresses are read as a geocoder would: ``"123 main st, miami, fl"`` lands in Miami. The fields
each source adds are the ``output_fields`` that ``catalog`` advertises for it. A location
asked of several sources in a row is worked out once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from hashlib import blake2b

from sovfixer_async.emulator.catalog import (
    LOCATION_TYPES,
    SOURCE_CODES,
    SOURCE_NAMES,
    SOURCE_OUTPUT_FIELDS,
    UNSUPPORTED_ADDRESSES,
    datasource_configs,
    source_kind,
)

# (city, state, zip, county, latitude, longitude, miles to the coast)
_City = tuple[str, str, str, str, float, float, float]
_CITIES: tuple[_City, ...] = (
    ("Miami", "FL", "33131", "Miami-Dade", 25.7617, -80.1918, 1.5),
    ("Tampa", "FL", "33602", "Hillsborough", 27.9506, -82.4572, 3.0),
    ("Orlando", "FL", "32801", "Orange", 28.5384, -81.3789, 42.0),
    ("Jacksonville", "FL", "32202", "Duval", 30.3322, -81.6557, 14.0),
    ("Houston", "TX", "77002", "Harris", 29.7604, -95.3698, 45.0),
    ("Dallas", "TX", "75201", "Dallas", 32.7767, -96.7970, 250.0),
    ("Austin", "TX", "78701", "Travis", 30.2672, -97.7431, 150.0),
    ("New Orleans", "LA", "70112", "Orleans", 29.9511, -90.0715, 12.0),
    ("Charleston", "SC", "29401", "Charleston", 32.7765, -79.9311, 2.0),
    ("Atlanta", "GA", "30303", "Fulton", 33.7490, -84.3880, 220.0),
    ("Charlotte", "NC", "28202", "Mecklenburg", 35.2271, -80.8431, 160.0),
    ("New York", "NY", "10007", "New York", 40.7128, -74.0060, 1.0),
    ("Boston", "MA", "02108", "Suffolk", 42.3601, -71.0589, 1.0),
    ("Philadelphia", "PA", "19107", "Philadelphia", 39.9526, -75.1652, 55.0),
    ("Chicago", "IL", "60602", "Cook", 41.8781, -87.6298, 700.0),
    ("Detroit", "MI", "48226", "Wayne", 42.3314, -83.0458, 520.0),
    ("Minneapolis", "MN", "55401", "Hennepin", 44.9778, -93.2650, 900.0),
    ("St. Louis", "MO", "63101", "St. Louis City", 38.6270, -90.1994, 600.0),
    ("Denver", "CO", "80202", "Denver", 39.7392, -104.9903, 850.0),
    ("Phoenix", "AZ", "85004", "Maricopa", 33.4484, -112.0740, 300.0),
    ("Las Vegas", "NV", "89101", "Clark", 36.1699, -115.1398, 230.0),
    ("Los Angeles", "CA", "90012", "Los Angeles", 34.0522, -118.2437, 12.0),
    ("San Diego", "CA", "92101", "San Diego", 32.7157, -117.1611, 1.0),
    ("San Francisco", "CA", "94102", "San Francisco", 37.7749, -122.4194, 3.0),
    ("Seattle", "WA", "98101", "King", 47.6062, -122.3321, 1.0),
    ("Portland", "OR", "97204", "Multnomah", 45.5152, -122.6784, 60.0),
    ("Nashville", "TN", "37201", "Davidson", 36.1627, -86.7816, 380.0),
    ("Oklahoma City", "OK", "73102", "Oklahoma", 35.4676, -97.5164, 400.0),
    ("Kansas City", "MO", "64106", "Jackson", 39.0997, -94.5786, 650.0),
    ("Salt Lake City", "UT", "84101", "Salt Lake", 40.7608, -111.8910, 560.0),
)
_BY_CITY_STATE = {(c[0].lower(), c[1]): c for c in _CITIES}
_BY_CITY = {c[0].lower(): c for c in reversed(_CITIES)}  # the first listed wins
_BY_STATE = {c[1]: c for c in reversed(_CITIES)}
# Per-state hazard leanings (wind, hail, flood, wildfire, earthquake, tornado, surge), 0-100.
_STATE_HAZARD: dict[str, tuple[int, ...]] = {
    "FL": (90, 25, 70, 20, 5, 35, 85),
    "TX": (70, 80, 60, 45, 10, 75, 50),
    "LA": (85, 40, 85, 10, 5, 55, 85),
    "SC": (75, 30, 60, 20, 30, 35, 70),
    "NC": (65, 35, 55, 25, 15, 40, 55),
    "GA": (50, 40, 45, 25, 10, 45, 30),
    "CA": (20, 10, 35, 85, 90, 5, 15),
    "CO": (35, 90, 25, 70, 15, 40, 0),
    "OK": (55, 85, 40, 40, 35, 95, 0),
    "KS": (55, 85, 35, 30, 10, 90, 0),
    "NY": (45, 20, 45, 10, 15, 15, 45),
    "WA": (30, 10, 40, 55, 70, 5, 10),
    "AZ": (25, 30, 20, 60, 15, 10, 0),
    "NV": (25, 20, 15, 60, 45, 5, 0),
    "UT": (25, 35, 20, 50, 60, 10, 0),
    "IL": (40, 60, 50, 5, 20, 70, 0),
    "MO": (40, 70, 55, 10, 40, 75, 0),
}
_DEFAULT_HAZARD = (40, 45, 40, 25, 15, 40, 10)
_STREETS = ("Main St", "Oak Ave", "Park Blvd", "Commerce Dr", "Market St", "Industrial Pkwy")
_FLOOD_ZONES = ("X", "X", "X", "X500", "AE", "A", "AO", "X")
_STATE_AT_END = re.compile(r"^(?:(.*?)\s+)?([A-Za-z]{2})(?:\s+(\d{5})(?:-\d{4})?)?$")
_ZIP_ONLY = re.compile(r"^(\d{5})(?:-\d{4})?$")
_HOUSE = re.compile(r"^(\d+[A-Za-z]?(?:-\d+)?)\s+(.+)$")
_US = frozenset({"US", "USA", "U.S.", "U.S.A.", "UNITED STATES", "UNITED STATES OF AMERICA"})
_UNSUPPORTED = frozenset(UNSUPPORTED_ADDRESSES)
_PARSED_KEYS = ("house_number", "road", "city", "state", "postcode", "country")
#: Location fields that decide where a location is, in the order of a place key.
_KEYS = (
    "address",
    "address_line_1",
    "city",
    "state",
    "postal_code",
    "county",
    "country",
    "latitude",
    "longitude",
)
_NO_INFO = (
    "No location information: give an address, latitude and longitude, or address_line_1 and city."
)
# (status code, message) of the injected provider failures, by source kind
_PROBLEMS: dict[str, tuple[tuple[int, str], ...]] = {
    "geocoder": (
        (404, "No geocoding result for this address."),
        (422, "The address is ambiguous: several candidates matched."),
        (503, "The geocoding provider timed out."),
    ),
    "other": (
        (404, "The provider has no data for this location."),
        (502, "The provider answered with an error."),
        (504, "The provider timed out."),
    ),
}
# score = _CLAMP[base + byte // 8]: the base nudged by -16..+15, kept within 1..100
_CLAMP = tuple(max(1, min(100, i - 16)) for i in range(100 + 32))
_KIND: dict[str, str] = {code: source_kind(code) for code in SOURCE_CODES}
_WORKERS = tuple(f"emulator-worker-{n}" for n in range(1, 5))
_NEEDS_POINT = frozenset({"geocoder", "reverse_geocoder", "coordinates"})


def _unit(d: bytes, i: int) -> float:
    """A float in [0, 1) from bytes ``i`` and ``i + 1`` of ``d``."""
    return (d[i] << 8 | d[i + 1]) / 65536.0


def _coordinate(value: object, limit: float) -> float | None:
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


def _text(value: object) -> str | None:
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


def has_location_info(location: Mapping[str, object]) -> bool:
    """An address, or latitude and longitude, or address_line_1 and city (contract 6.1).

    ``address`` may be a string or a list of strings; coordinates must be numbers (or numeric
    strings) in range.
    """
    if _text(location.get("address")) is not None:
        return True
    if (
        _coordinate(location.get("latitude"), 90.0) is not None
        and _coordinate(location.get("longitude"), 180.0) is not None
    ):
        return True
    return (
        _text(location.get("address_line_1")) is not None
        and _text(location.get("city")) is not None
    )


def _words(text: str) -> str:
    """``main st`` -> ``Main St``; text with capitals already (``NE 2nd Ave``) is kept."""
    return text.title() if text.islower() else text


_Parsed = tuple[str | None, str | None, str | None, str | None, str | None, str | None]
# "123 main st, miami, fl 33131, usa": the common shape, in one match
_ONE_LINE = re.compile(
    r"\s*(?:(\d+[A-Za-z]?(?:-\d+)?) +)?([^,]*[^,\s]) *, *([^,]*[^,\s]) *, *([A-Za-z]{2})"
    r"(?: +(\d{5})(?:-\d{4})?)? *(, *(?:USA?|U\.S\.A?\.?|United States) *)?\s*",
    re.IGNORECASE,
)


def _parse_address(text: str) -> _Parsed:
    """A one-line US address split as a parser would: (number, road, city, state, zip, country)."""
    match = _ONE_LINE.fullmatch(text)
    if match is not None:
        number, road, city, state, postcode, country = match.groups()
        return (
            number,
            _words(road),
            _words(city),
            state.upper(),
            postcode,
            "US" if country else None,
        )
    parts = [p.strip() for p in text.split(",")]
    parts = [p for p in parts if p]
    country = None
    if parts and parts[-1].upper() in _US:
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
        city = _words(parts.pop())
    number = road = None
    if parts:
        street = _words(", ".join(parts))
        house = _HOUSE.match(street)
        number, road = (house[1], house[2]) if house else (None, street)
    return number, road, city, state, postcode, country


_NOTHING_PARSED: _Parsed = (None, None, None, None, None, None)
_ONLY_ADDRESS = (None,) * 8


class _Place:
    """What the emulator's world knows about one address or point (cached, shared, read-only).

    The parts every source needs are worked out at once; the per-kind answers (geocode,
    hazards, catalogue fields) on first use.
    """

    __slots__ = (
        "_geocode",
        "_hazards",
        "_values",
        "address",
        "city",
        "coast_miles",
        "country",
        "county",
        "digest",
        "has_info",
        "has_street",
        "in_city",
        "known_state",
        "latitude",
        "line1_given",
        "location_type",
        "longitude",
        "number",
        "point_given",
        "postal_code",
        "query",
        "route",
        "state",
        "text",
    )

    def __init__(self, raw: tuple[object, ...], seed: int) -> None:
        if raw[1:] == _ONLY_ADDRESS:  # the common case, quickly
            address = _text(raw[0])
            line1 = city = state = postal = county = country = None
            lat = lon = None
            norm: tuple[str | None, ...] = (address, *_ONLY_ADDRESS[:6])
            key = f"{address}\x1f{seed}"
        else:
            norm = tuple(None if v is None else _text(v) for v in raw[:7])
            lat = None if raw[7] is None else _coordinate(raw[7], 90.0)
            lon = None if raw[8] is None else _coordinate(raw[8], 180.0)
            address, line1, city, state, postal, county, country = norm
            if norm[1:] == _ONLY_ADDRESS[:6] and lat is None and lon is None:
                key = f"{address}\x1f{seed}"  # the same place as the quick path's
            else:
                key = "\x1f".join(map(str, (*norm, lat, lon, seed)))
        point = (lat, lon) if lat is not None and lon is not None else None
        self.query = (*norm, lat, lon)
        self.address = address
        self.line1_given = line1 is not None
        structured = line1 is not None and city is not None
        self.has_info = address is not None or point is not None or structured
        self.point_given = point is not None
        self.digest = d = blake2b(key.encode(), digest_size=32).digest()
        self._geocode: dict[str, object] | None = None
        self._hazards: dict[str, object] | None = None
        self._values: dict[str, dict[str, object]] = {}

        # the address as one line, and its parts
        self.text: str | None
        if address is not None:
            self.text = address
        elif line1 is not None:
            region = " ".join(p for p in (state, postal) if p)
            self.text = ", ".join(p for p in (line1, city, region) if p)
        else:
            self.text = None
        parsed = _parse_address(self.text) if self.text else _NOTHING_PARSED
        number, route, p_city, p_state, p_postal, p_country = parsed
        if line1 is not None:
            house = _HOUSE.match(line1)
            number, route = (house[1], _words(house[2])) if house else (None, _words(line1))
        city_name = _words(city) if city is not None else p_city
        state_code = state.upper() if state is not None else p_state
        country_code = country.upper() if country is not None else p_country
        self.country = "US" if country_code is None or country_code in _US else country_code
        self.known_state = state_code

        # where it is: a known city, else the known city nearest the point, else the state's
        # best-known city, else somewhere in the lower 48
        entry: _City | None = None
        if city_name is not None:
            entry = _BY_CITY_STATE.get((city_name.lower(), state_code or ""))
            if entry is None and state_code is None:
                entry = _BY_CITY.get(city_name.lower())
        if entry is None and point is not None and city_name is None:
            plat, plon = point
            entry = min(_CITIES, key=lambda c: (c[4] - plat) ** 2 + (c[5] - plon) ** 2)
        self.in_city = entry is not None
        if entry is None and state_code is not None:
            entry = _BY_STATE.get(state_code)
        if entry is not None:
            e_city, e_state, e_zip, e_county, lat0, lon0, coast = entry
        else:
            e_city, e_state, e_zip, e_county = "Springfield", None, None, None
            lat0, lon0 = 30.0 + _unit(d, 0) * 17.0, -120.0 + _unit(d, 2) * 42.0
            coast = 5.0 + _unit(d, 4) * 600.0
        if point is not None:
            self.latitude, self.longitude = point
            self.location_type = "ROOFTOP"
        else:
            spread = 0.09 if self.in_city else 0.6  # ~5 km inside a known city
            self.latitude = round(lat0 + ((d[6] << 8 | d[7]) / 65536.0 - 0.5) * spread, 6)
            self.longitude = round(lon0 + ((d[8] << 8 | d[9]) / 65536.0 - 0.5) * spread, 6)
            if number and route:
                self.location_type = "ROOFTOP" if d[10] % 4 else "RANGE_INTERPOLATED"
            else:
                self.location_type = "GEOMETRIC_CENTER" if route else "APPROXIMATE"
        self.coast_miles = round(max(0.1, coast * (0.8 + d[12] / 640.0)), 1)

        # what it is called
        self.state = state_code or e_state
        self.city = city_name or e_city
        if postal is None:
            postal = p_postal
        if postal is None:  # the city's own zip, else one near the state's known city
            area = e_zip[:3] if e_zip else f"{100 + d[14] * 3:03d}"
            postal = e_zip if self.in_city and e_zip else f"{area}{d[15] % 100:02d}"
        self.postal_code = postal
        self.county = county if county is not None else e_county if self.in_city else None
        if number is None and route is None and point is not None:  # only a point was given
            number = str(10 + (d[16] << 8 | d[17]) % 9000)
            route = _STREETS[d[18] % len(_STREETS)]
        self.number, self.route = number, route
        self.has_street = route is not None

    def geocode(self) -> dict[str, object]:
        """A geocoder's fields (every geocoder agrees)."""
        if self._geocode is None:
            number, route, state = self.number, self.route, self.state
            line1 = f"{number} {route}" if number and route else route or number
            region = f"{state} {self.postal_code}" if state else self.postal_code
            tail = "USA" if self.country == "US" else self.country
            head = f"{line1}, " if line1 else ""
            formatted = f"{head}{self.city}, {region}, {tail}"
            self._geocode = {
                "latitude": self.latitude,
                "longitude": self.longitude,
                "formatted_address": formatted,
                "street_number": self.number,
                "route": self.route,
                "location_type": self.location_type,
                "place_id": "emu-" + self.digest[:12].hex(),
                "address_line_1": line1,
                "city": self.city,
                "state": self.state,
                "postal_code": self.postal_code,
                "county": self.county,
                "country": self.country,
                "precision": LOCATION_TYPES[self.location_type],
            }
        return self._geocode

    def reverse(self) -> dict[str, object]:
        """A reverse geocoder's fields: the address of the (geocoded) point."""
        return self.fields("$reverse", lambda: {k: self.geocode()[k] for k in _REVERSE_KEYS})

    def parsed(self) -> dict[str, object]:
        """LibPostal's parts of the one-line address."""
        return self.fields(
            "$parsed", lambda: dict(zip(_PARSED_KEYS, _parse_address(self.text or ""), strict=True))
        )

    def hazards(self) -> dict[str, object]:
        """PH's ``external_data``: the state's leanings, nudged per place."""
        if self._hazards is None:
            d = self.digest
            lean = _STATE_HAZARD.get(self.state or "", _DEFAULT_HAZARD)
            wind, hail, flood, fire, quake, tornado, surge = [
                _CLAMP[base + (d[20 + i] >> 3)] for i, base in enumerate(lean)
            ]
            coast = self.coast_miles
            self._hazards = {
                "wind_score": wind,
                "hail_score": hail,
                "flood_score": flood,
                "wildfire_score": fire,
                "earthquake_score": quake,
                "tornado_score": tornado,
                "storm_surge_score": surge if coast < 30 else 1,
                "wind_tier": 1 if coast < 1 else 2 if coast < 30 else 3 if coast < 100 else 4,
                "fema_flood_zone": self.flood_zone(),
                "distance_to_coast_miles": coast,
            }
        return self._hazards

    def flood_zone(self) -> str:
        """One zone per place, whichever source asks (PH, PFF, LBFZ)."""
        if self.coast_miles < 1 and self.digest[31] % 3 == 0:
            return "VE"
        return _FLOOD_ZONES[self.digest[30] % len(_FLOOD_ZONES)]

    def fields(
        self, code: str, make: Callable[[], dict[str, object]] | None = None
    ) -> dict[str, object]:
        """The catalogue fields of ``code`` (or what ``make`` builds), worked out once."""
        cached = self._values.get(code)
        if cached is None:
            cached = self._values[code] = _generate(self, code) if make is None else make()
        return cached


_REVERSE_KEYS = (
    "formatted_address",
    "address_line_1",
    "city",
    "state",
    "postal_code",
    "county",
    "country",
)


# The last place worked out: a location is usually asked of all its sources in a row (bulk
# jobs, single enhance), so one slot catches the reuse without an LRU's upkeep. The slot is
# replaced in one assignment, so threads sharing it at worst work a place out twice.
_last: tuple[tuple[object, ...], tuple[type, ...], int, _Place] | None = None


def _place(location: Mapping[str, object], seed: int) -> _Place:
    global _last
    raw = tuple(map(location.get, _KEYS))
    types = tuple(map(type, raw))  # 0 == False == 0.0, but they are not the same input
    last = _last
    if last is not None and last[2] == seed and last[0] == raw and last[1] == types:
        return last[3]
    place = _Place(raw, seed)
    _last = (raw, types, seed, place)
    return place


# name, type, low, high, digits, choices
_Spec = tuple[str, str, float, float, int, tuple[object, ...]]


def _compile(fields: Mapping[str, Mapping[str, object]]) -> tuple[_Spec, ...]:
    specs: list[_Spec] = []
    for name, spec in fields.items():
        values = spec.get("return_values")
        choices = tuple(values) if isinstance(values, list) else ()
        lo, hi, digits = spec.get("min", 0), spec.get("max", 100), spec.get("digits", 2)
        if not (isinstance(lo, int | float) and isinstance(hi, int | float)):
            raise TypeError(f"{name}: min/max must be numbers")
        specs.append((name, str(spec.get("type")), float(lo), float(hi), int(str(digits)), choices))
    return tuple(specs)


_SPECS: dict[str, tuple[_Spec, ...]] = {
    code: _compile(fields)
    for code, fields in SOURCE_OUTPUT_FIELDS.items()
    if _KIND[code] == "coordinates" and code != "PH"
}


def _generate(place: _Place, code: str) -> dict[str, object]:
    """Values for ``code``'s catalogue fields; a fact has one value whichever source reports it."""
    out: dict[str, object] = {}
    for name, kind, lo, hi, digits, choices in _SPECS.get(code, ()):
        if name == "distance_to_coast_miles":
            out[name] = place.coast_miles
        elif name == "fema_flood_zone":
            out[name] = place.flood_zone()
        elif name == "coastline_type":
            gulf = place.state in ("TX", "LA", "MS", "AL")
            out[name] = "Gulf" if gulf else "Great Lake" if place.coast_miles > 400 else "Ocean"
        else:
            d = blake2b(name.encode(), key=place.digest, digest_size=8).digest()
            u = _unit(d, 0)
            if choices:
                out[name] = choices[d[2] % len(choices)]
            elif kind == "boolean":
                out[name] = d[2] % 4 == 0
            elif kind == "integer":
                out[name] = int(lo + u * (hi - lo + 1))
            elif kind == "number":
                out[name] = round(lo + u * (hi - lo), digits)
            else:  # an identifier
                out[name] = f"{name.split('_')[0].upper()}-{d.hex()}"
    return out


def _covered(config: Mapping[str, object], key: str) -> frozenset[str] | None:
    value = config[key]
    return frozenset(str(v) for v in value) if isinstance(value, list) else None


# code -> (supported countries, supported US states, excluded US states); None: no limit
_COVERAGE: dict[str, tuple[frozenset[str] | None, ...]] = {
    code: tuple(
        _covered(config, k)
        for k in ("supported_countries", "supported_us_states", "excluded_us_states")
    )
    for code, config in datasource_configs().items()
}


def _coverage_problem(code: str, place: _Place) -> str | None:
    """Why ``code`` does not cover this location (judged only on what the caller gave)."""
    coverage = _COVERAGE.get(code)
    if coverage is None:
        return None
    countries, states, excluded = coverage
    if countries is not None and place.country not in countries:
        return f"{code} does not cover country {place.country}."
    state = place.known_state
    if state is not None and (
        (states is not None and state not in states) or (excluded is not None and state in excluded)
    ):
        return f"{code} does not cover state {state}."
    return None


def _failure(message: str, status_code: int, fetch_time: float) -> dict[str, object]:
    return {
        "is_success": False,
        "error_message": message,
        "confidence": 0,
        "status_code": status_code,
        "fetch_time": fetch_time,
        "is_cache_hit": False,
        "worker_name": "emulator-worker-1",
        "persist_for": {"seconds": 0},
    }


def enrich_location(
    location: Mapping[str, object],
    source: str,
    *,
    include_raw: bool = False,
    problem_rate: float = 0.0,
    seed: int = 0,
) -> dict[str, object]:
    """One location's result from one source (contract 6.4), the same for the same input.

    Failures (``is_success`` false, ``error_message`` set): no location information (400);
    a deterministic ``problem_rate`` share of (location id, source) pairs, as if the provider
    had failed (404/422/5xx); a placeholder address such as ``TBD`` (422); a country or state
    the caller gave that the source does not cover (422). The result shares nothing mutable
    with other results.
    """
    code = source.upper()
    pair = blake2b(f"{location.get('id')}\x1f{code}\x1f{seed}".encode(), digest_size=8).digest()
    fetch_time = (20 + pair[0]) / 1000
    place = _place(location, seed)
    if not place.has_info:
        return _failure(_NO_INFO, 400, fetch_time)
    kind = _KIND.get(code, "coordinates")
    if problem_rate > 0.0 and (pair[2] << 8 | pair[3]) < problem_rate * 65536:
        status, message = _PROBLEMS["geocoder" if kind == "geocoder" else "other"][pair[4] % 3]
        return _failure(f"{code}: {message}", status, fetch_time)
    if kind == "address_parser" and place.text is None:
        return _failure(f"{code} needs an address.", 400, fetch_time)
    address = place.address
    if (
        kind in _NEEDS_POINT
        and address is not None
        and not (place.point_given or place.line1_given)
        and address.upper() in _UNSUPPORTED
    ):
        return _failure(f"{code}: unsupported address value {address!r}.", 422, fetch_time)
    if place.country != "US" or place.known_state is not None:
        problem = _coverage_problem(code, place)
        if problem is not None:
            return _failure(problem, 422, fetch_time)
    result: dict[str, object] = {
        "is_success": True,
        "error_message": None,
        "confidence": 60 + pair[5] % 40,
        "status_code": 200,
        "fetch_time": fetch_time,
        "is_cache_hit": pair[6] % 5 == 0,
        "worker_name": _WORKERS[pair[7] & 3],
        "persist_for": {"days": 30},
    }
    if kind == "geocoder":
        result.update(place.geocode())
    elif kind == "coordinates":
        if code == "PH":
            result["external_data"] = dict(place.hazards())
        else:
            result.update(place.fields(code))
    elif kind == "reverse_geocoder":
        result.update(place.reverse())
    elif kind == "address_parser":
        result.update(place.parsed())
    if include_raw:
        query = {k: v for k, v in zip(_KEYS, place.query, strict=True) if v is not None}
        result["raw_response"] = {
            "provider": SOURCE_NAMES.get(code, code),
            "request_id": pair.hex(),
            "query": query,
        }
    return result


def source_statistics(
    results: Mapping[str, Mapping[str, Mapping[str, object]]],
) -> list[dict[str, object]]:
    """Per-source counts and fetch durations (contract 6.5), sources in order of first use.

    PH reports no durations (null min/avg/max, total 0.0), as the docs' example shows.
    """
    counts: dict[str, list[int]] = {}
    durations: dict[str, list[float]] = {}
    for per_source in results.values():
        for source, result in per_source.items():
            entry = counts.get(source)
            if entry is None:
                entry = counts[source] = [0, 0]
                durations[source] = []
            entry[0 if result.get("is_success") else 1] += 1
            fetch = result.get("fetch_time")
            if isinstance(fetch, int | float) and not isinstance(fetch, bool):
                durations[source].append(float(fetch))
    out: list[dict[str, object]] = []
    for source, (successes, fails) in counts.items():
        times = durations[source] if source.upper() != "PH" else []
        total = math.fsum(times)
        out.append(
            {
                "source": source,
                "num_fetched": successes + fails,
                "num_successes": successes,
                "num_fails": fails,
                "avg_fetch_duration": round(total / len(times), 4) if times else None,
                "max_fetch_duration": max(times) if times else None,
                "min_fetch_duration": min(times) if times else None,
                "total_fetch_duration": round(total, 4),
            }
        )
    return out


def count_problems(results: Mapping[str, Mapping[str, Mapping[str, object]]]) -> int:
    """Locations with at least one failed source (``num_problems``)."""
    return sum(
        1
        for per_source in results.values()
        if any(not r.get("is_success") for r in per_source.values())
    )
