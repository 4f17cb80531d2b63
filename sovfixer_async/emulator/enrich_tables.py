"""The tables behind the emulator's synthetic Ping.Data results (see ``enrich``).

Known cities, per-state hazard leanings, the injected provider failures and the other
constants ``enrich`` and ``enrich_place`` read; data only.
"""

from __future__ import annotations

from sovfixer_async.emulator.catalog import SOURCE_CODES, UNSUPPORTED_ADDRESSES, source_kind

# (city, state, zip, county, latitude, longitude, miles to the coast)
City = tuple[str, str, str, str, float, float, float]
CITIES: tuple[City, ...] = (
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
BY_CITY_STATE = {(c[0].lower(), c[1]): c for c in CITIES}
BY_CITY = {c[0].lower(): c for c in reversed(CITIES)}  # the first listed wins
BY_STATE = {c[1]: c for c in reversed(CITIES)}
# Per-state hazard leanings (wind, hail, flood, wildfire, earthquake, tornado, surge), 0-100.
STATE_HAZARD: dict[str, tuple[int, ...]] = {
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
DEFAULT_HAZARD = (40, 45, 40, 25, 15, 40, 10)
STREETS = ("Main St", "Oak Ave", "Park Blvd", "Commerce Dr", "Market St", "Industrial Pkwy")
FLOOD_ZONES = ("X", "X", "X", "X500", "AE", "A", "AO", "X")
US_NAMES = frozenset({"US", "USA", "U.S.", "U.S.A.", "UNITED STATES", "UNITED STATES OF AMERICA"})
UNSUPPORTED = frozenset(UNSUPPORTED_ADDRESSES)
PARSED_KEYS = ("house_number", "road", "city", "state", "postcode", "country")
#: Location fields that decide where a location is, in the order of a place key.
LOCATION_KEYS = (
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
NO_INFO = (
    "No location information: give an address, latitude and longitude, or address_line_1 and city."
)
# (status code, message) of the injected provider failures, by source kind
PROBLEMS: dict[str, tuple[tuple[int, str], ...]] = {
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
# score = CLAMP[base + byte // 8]: the base nudged by -16..+15, kept within 1..100
CLAMP = tuple(max(1, min(100, i - 16)) for i in range(100 + 32))
KIND: dict[str, str] = {code: source_kind(code) for code in SOURCE_CODES}
WORKERS = tuple(f"emulator-worker-{n}" for n in range(1, 5))
NEEDS_POINT = frozenset({"geocoder", "reverse_geocoder", "coordinates"})
#: The geocode fields a reverse geocoder reports.
REVERSE_KEYS = (
    "formatted_address",
    "address_line_1",
    "city",
    "state",
    "postal_code",
    "county",
    "country",
)
