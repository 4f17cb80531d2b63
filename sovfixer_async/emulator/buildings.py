"""Buildings: the seed SOV, synthetic buildings, and buildings from a read workbook's rows."""

from __future__ import annotations

import re
from hashlib import blake2b

from sovfixer_async.emulator.cells import is_blank
from sovfixer_async.emulator.cells import number as to_number
from sovfixer_async.emulator.prepared import PreparedRows

# (city, state, zip, county, latitude, longitude)
_PLACES = (
    ("Miami", "FL", "33131", "Miami-Dade", 25.7617, -80.1918),
    ("Tampa", "FL", "33602", "Hillsborough", 27.9506, -82.4572),
    ("Orlando", "FL", "32801", "Orange", 28.5384, -81.3789),
    ("Houston", "TX", "77002", "Harris", 29.7604, -95.3698),
    ("Dallas", "TX", "75201", "Dallas", 32.7767, -96.7970),
    ("Charleston", "SC", "29401", "Charleston", 32.7765, -79.9311),
    ("New Orleans", "LA", "70112", "Orleans", 29.9511, -90.0715),
    ("Atlanta", "GA", "30303", "Fulton", 33.7490, -84.3880),
)
_STREETS = (
    "Main St", "Ocean Dr", "Elm St", "Harbor Blvd", "Industrial Pkwy", "Commerce Way",
    "Market St", "Park Ave",
)  # fmt: skip
# occupancy -> (building name, stories low/high, area per story low/high, $ per sq ft low/high)
_OCCUPANCIES = {
    "Office": ("Office Building", 1, 12, 5_000, 25_000, 180, 320),
    "Warehouse": ("Distribution Center", 1, 2, 20_000, 120_000, 70, 120),
    "Retail": ("Retail Store", 1, 2, 3_000, 30_000, 140, 240),
    "Light Manufacturing": ("Plant", 1, 3, 15_000, 80_000, 90, 160),
    "Apartments": ("Apartments", 2, 8, 6_000, 20_000, 150, 260),
    "Hotel": ("Hotel", 3, 15, 8_000, 20_000, 200, 350),
}
_CONSTRUCTIONS = ("Frame", "Joisted Masonry", "Masonry Non-Combustible", "Fire Resistive")


def _building(sovid: str, sheet: str, row: int, counter: int, salt: str) -> dict[str, object]:
    h = blake2b(f"{sovid}\x1f{salt}\x1f{row}".encode(), digest_size=32).digest()
    city, state, postal, county, lat, lon = _PLACES[h[0] % len(_PLACES)]
    occupancy = list(_OCCUPANCIES)[h[1] % len(_OCCUPANCIES)]
    label, st_lo, st_hi, area_lo, area_hi, rate_lo, rate_hi = _OCCUPANCIES[occupancy]
    stories = st_lo + h[2] % (st_hi - st_lo + 1)
    per_story = area_lo + (int.from_bytes(h[3:5], "big") % ((area_hi - area_lo) // 500 + 1)) * 500
    area = stories * per_story
    construction = _CONSTRUCTIONS[
        min(3, (stories > 3) * 2 + h[5] % 2) if stories > 1 else h[5] % len(_CONSTRUCTIONS)
    ]
    rate = rate_lo + h[6] % (rate_hi - rate_lo + 1)
    building_limit = area * rate // 1000 * 1000
    return {
        "item_key": f"i-{sovid}!{sheet}!{row}",
        "building_counter": counter,
        "sheet_name": sheet,
        "sheet_row_number": row,
        "parsing_sheet_name": sheet,
        "bldg_name": f"{city} {label} {counter}",
        "street": f"{100 + int.from_bytes(h[7:9], 'big') % 9800} {_STREETS[h[9] % len(_STREETS)]}",
        "city": city,
        "state": state,
        "zip": postal,
        "county": county,
        "country": "US",
        "latitude": round(lat + (h[10] - 128) / 2560, 5),
        "longitude": round(lon + (h[11] - 128) / 2560, 5),
        "occupancy__desc_ping": occupancy,
        "const__desc_ping": construction,
        "const__bldg_year_built": 1955 + h[12] % 69,
        "const__num_stories": stories,
        "const__bldg_area": area,
        "limits__building_limit": building_limit,
        "limits__bpp_limit": building_limit * (10 + h[13] % 31) // 100_000 * 1000,
        "limits__bi_limit": building_limit * (5 + h[14] % 16) // 100_000 * 1000,
    }


def seed_buildings(sovid: str, count: int = 26) -> list[dict[str, object]]:
    """The docs' seed SOV: ``count`` buildings on Sheet1, rows 2 upward; deterministic."""
    return [_building(sovid, "Sheet1", row, row - 1, "seed") for row in range(2, count + 2)]


def synthetic_buildings(sovid: str, filename: str, count: int = 12) -> list[dict[str, object]]:
    """Buildings for uploads this emulator does not read (.xls, .xlsm, .xlsb, .pdf ...).

    Deterministic from (sovid, filename), on Sheet1 rows 2 upward, shaped as the seed's.
    """
    return [
        _building(sovid, "Sheet1", row, row - 1, f"file:{filename}") for row in range(2, count + 2)
    ]


def _key(header: str) -> str:
    """A header reduced for matching: lower case, words separated by one space."""
    return " ".join(re.sub(r"[^0-9a-z#]+", " ", header.lower()).split())


# (normalised headers, Ping attribute, priority): a more specific header wins a tie
_HEADER_GROUPS: tuple[tuple[tuple[str, ...], str, int], ...] = (
    (("building name", "bldg name", "location name", "property name"), "bldg_name", 2),
    (("name", "location", "building"), "bldg_name", 1),
    (("street address", "address 1", "address line 1", "street"), "street", 2),
    (("address", "location address", "property address"), "street", 1),
    (("city", "town", "city town"), "city", 2),
    (("state", "state code", "st", "province", "state province"), "state", 2),
    (("zip", "zip code", "zipcode", "postal code", "postcode", "zip postal code"), "zip", 2),
    (("county",), "county", 2),
    (("country", "country code"), "country", 2),
    (("latitude", "lat"), "latitude", 2),
    (("longitude", "long", "lon", "lng"), "longitude", 2),
    (
        ("occupancy", "occupancy type", "occupancy description", "occupancy desc", "use"),
        "occupancy__desc_ping",
        2,
    ),
    (
        ("construction", "construction type", "construction description", "construction class"),
        "const__desc_ping",
        2,
    ),
    (("year built", "yr built", "year of construction", "built"), "const__bldg_year_built", 2),
    (
        ("stories", "# stories", "# of stories", "no of stories", "number of stories"),
        "const__num_stories",
        2,
    ),
    (("num stories", "floors", "# floors", "number of floors"), "const__num_stories", 2),
    (
        ("square feet", "square footage", "sq ft", "sqft", "area", "building area", "floor area"),
        "const__bldg_area",
        2,
    ),
    (
        ("building value", "building limit", "bldg value", "building replacement cost"),
        "limits__building_limit",
        2,
    ),
    (("tiv", "total insured value", "total value"), "limits__building_limit", 1),
    (
        ("contents", "contents value", "bpp", "business personal property", "bpp limit"),
        "limits__bpp_limit",
        2,
    ),
    (
        ("bi", "business income", "bi ee", "time element", "bi limit", "rents"),
        "limits__bi_limit",
        2,
    ),
)
_HEADERS: dict[str, tuple[str, int]] = {
    name: (attribute, priority) for names, attribute, priority in _HEADER_GROUPS for name in names
}
_IDENTITY = ("item_key", "building_counter", "sheet_name", "sheet_row_number", "parsing_sheet_name")
_ORDER = {name: i for i, name in enumerate(_building("s", "S", 2, 1, "order"))}
_INTEGER_FIELDS = frozenset({"const__bldg_year_built", "const__num_stories", "const__bldg_area"})
_MONEY_FIELDS = frozenset({"limits__building_limit", "limits__bpp_limit", "limits__bi_limit"})
_SNAKE = re.compile(r"[a-z_][a-z0-9_]*")


def _snake(header: str) -> str:
    """A header as an attribute name; names that already are one (``const__num_stories``)
    are kept as they are."""
    stripped = header.strip()
    if _SNAKE.fullmatch(stripped):
        return stripped
    return re.sub(r"[^0-9a-z]+", "_", stripped.lower()).strip("_") or "column"


def _coerce(name: str, value: object) -> object:
    """Numbers for numeric attributes when the cell holds one as text (``$1,250,000``)."""
    if isinstance(value, str) and (name in _INTEGER_FIELDS or name in _MONEY_FIELDS):
        text = value.strip().replace(",", "").replace("$", "").strip()
        number = to_number(text) if text else value
        if isinstance(number, int | float):
            return number
        return value
    if isinstance(value, float) and name in _INTEGER_FIELDS and value.is_integer():
        return int(value)
    if name == "zip" and isinstance(value, int) and 0 <= value < 100_000:
        return f"{value:05d}"  # a zip stored as a number lost its leading zeros
    if isinstance(value, str):
        return value.strip()
    return value


def buildings_from_rows(
    sovid: str, sheet_name: str, rows: list[dict[str, object]]
) -> list[dict[str, object]]:
    """Buildings from ``read_xlsx`` rows, common SOV headers mapped to Ping attribute names.

    Headers are matched case- and punctuation-insensitively ("Building Name", "Address",
    "Zip Code", "TIV", "Year Built", "# Stories" ...); when two columns map to the same
    attribute the more specific header wins (a "Building Value" column over "TIV"). Other
    columns keep their own snake_case names; numeric attributes written as text become numbers.
    Keys come in the seed buildings' order, then the other columns in sheet order.
    """
    if isinstance(rows, PreparedRows):
        ready = rows.take_buildings(sovid, sheet_name)
        if ready is not None:
            return ready
    out: list[dict[str, object]] = []
    for counter, row in enumerate(rows, start=1):
        number_value = row.get("sheet_row_number", counter + 1)
        number = number_value if isinstance(number_value, int) else counter + 1
        mapped: dict[str, tuple[int, object]] = {}
        extra: dict[str, object] = {}
        for header, value in row.items():
            if header == "sheet_row_number":
                continue
            target = _HEADERS.get(_key(header))
            if target is None:
                name = _snake(header)
                if name in _IDENTITY:  # the building's own identity is not the sheet's to set
                    extra.setdefault(f"source_{name}", _coerce(name, value))
                    continue
                if name not in _ORDER:  # not an attribute we know: kept under its own name
                    extra.setdefault(name, _coerce(name, value))
                    continue
                target = (name, 3)  # already a Ping attribute name
            attribute, priority = target
            if is_blank(value) and attribute in mapped:
                continue
            if attribute not in mapped or priority > mapped[attribute][0]:
                mapped[attribute] = (priority, _coerce(attribute, value))
        building: dict[str, object] = {
            "item_key": f"i-{sovid}!{sheet_name}!{number}",
            "building_counter": counter,
            "sheet_name": sheet_name,
            "sheet_row_number": number,
            "parsing_sheet_name": sheet_name,
        }
        for attribute in sorted(mapped, key=lambda a: _ORDER.get(a, len(_ORDER))):
            if attribute not in _IDENTITY:
                building[attribute] = mapped[attribute][1]
        for name, value in extra.items():
            building.setdefault(name, value)
        out.append(building)
    return out
