"""What the emulator's world knows about one address or point: ``Place``, worked out once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from hashlib import blake2b

from sovfixer_async.emulator.catalog import LOCATION_TYPES, SOURCE_OUTPUT_FIELDS
from sovfixer_async.emulator.enrich_address import (
    HOUSE,
    Parsed,
    clean_text,
    coordinate,
    parse_address,
    words,
)
from sovfixer_async.emulator.enrich_tables import (
    BY_CITY,
    BY_CITY_STATE,
    BY_STATE,
    CITIES,
    CLAMP,
    DEFAULT_HAZARD,
    FLOOD_ZONES,
    KIND,
    LOCATION_KEYS,
    PARSED_KEYS,
    REVERSE_KEYS,
    STATE_HAZARD,
    STREETS,
    US_NAMES,
    City,
)


def _unit(d: bytes, i: int) -> float:
    """A float in [0, 1) from bytes ``i`` and ``i + 1`` of ``d``."""
    return (d[i] << 8 | d[i + 1]) / 65536.0


_NOTHING_PARSED: Parsed = (None, None, None, None, None, None)
_ONLY_ADDRESS = (None,) * 8


class Place:
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
            address = clean_text(raw[0])
            line1 = city = state = postal = county = country = None
            lat = lon = None
            norm: tuple[str | None, ...] = (address, *_ONLY_ADDRESS[:6])
            key = f"{address}\x1f{seed}"
        else:
            norm = tuple(None if v is None else clean_text(v) for v in raw[:7])
            lat = None if raw[7] is None else coordinate(raw[7], 90.0)
            lon = None if raw[8] is None else coordinate(raw[8], 180.0)
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
        parsed = parse_address(self.text) if self.text else _NOTHING_PARSED
        number, route, p_city, p_state, p_postal, p_country = parsed
        if line1 is not None:
            house = HOUSE.match(line1)
            number, route = (house[1], words(house[2])) if house else (None, words(line1))
        city_name = words(city) if city is not None else p_city
        state_code = state.upper() if state is not None else p_state
        country_code = country.upper() if country is not None else p_country
        self.country = "US" if country_code is None or country_code in US_NAMES else country_code
        self.known_state = state_code

        # where it is: a known city, else the known city nearest the point, else the state's
        # best-known city, else somewhere in the lower 48
        entry: City | None = None
        if city_name is not None:
            entry = BY_CITY_STATE.get((city_name.lower(), state_code or ""))
            if entry is None and state_code is None:
                entry = BY_CITY.get(city_name.lower())
        if entry is None and point is not None and city_name is None:
            plat, plon = point
            entry = min(CITIES, key=lambda c: (c[4] - plat) ** 2 + (c[5] - plon) ** 2)
        self.in_city = entry is not None
        if entry is None and state_code is not None:
            entry = BY_STATE.get(state_code)
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
            route = STREETS[d[18] % len(STREETS)]
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
        return self.fields("$reverse", lambda: {k: self.geocode()[k] for k in REVERSE_KEYS})

    def parsed(self) -> dict[str, object]:
        """LibPostal's parts of the one-line address."""
        return self.fields(
            "$parsed", lambda: dict(zip(PARSED_KEYS, parse_address(self.text or ""), strict=True))
        )

    def hazards(self) -> dict[str, object]:
        """PH's ``external_data``: the state's leanings, nudged per place."""
        if self._hazards is None:
            d = self.digest
            lean = STATE_HAZARD.get(self.state or "", DEFAULT_HAZARD)
            wind, hail, flood, fire, quake, tornado, surge = [
                CLAMP[base + (d[20 + i] >> 3)] for i, base in enumerate(lean)
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
        return FLOOD_ZONES[self.digest[30] % len(FLOOD_ZONES)]

    def fields(
        self, code: str, make: Callable[[], dict[str, object]] | None = None
    ) -> dict[str, object]:
        """The catalogue fields of ``code`` (or what ``make`` builds), worked out once."""
        cached = self._values.get(code)
        if cached is None:
            cached = self._values[code] = _generate(self, code) if make is None else make()
        return cached


# The last place worked out: a location is usually asked of all its sources in a row (bulk
# jobs, single enhance), so one slot catches the reuse without an LRU's upkeep. The slot is
# replaced in one assignment, so threads sharing it at worst work a place out twice.
_last: tuple[tuple[object, ...], tuple[type, ...], int, Place] | None = None


def place_for(location: Mapping[str, object], seed: int) -> Place:
    """The place ``location`` names (with ``seed``), reusing the last one if it is the same."""
    global _last
    raw = tuple(map(location.get, LOCATION_KEYS))
    types = tuple(map(type, raw))  # 0 == False == 0.0, but they are not the same input
    last = _last
    if last is not None and last[2] == seed and last[0] == raw and last[1] == types:
        return last[3]
    place = Place(raw, seed)
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
    if KIND[code] == "coordinates" and code != "PH"
}


def _generate(place: Place, code: str) -> dict[str, object]:
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
