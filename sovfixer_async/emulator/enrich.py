"""Deterministic synthetic Ping.Data results: geocodes, hazard scores, statistics.

Every value derives from a hash of (location id, source, seed), so the same request always
gets the same answer, and a location's coordinates agree across geocoders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sovfixer_async.emulator.catalog import GEOCODER_CODES

_FLOOD_ZONES = ("X", "AE", "A", "VE", "X500", "D")
_LOCATION_TYPES = ("ROOFTOP", "RANGE_INTERPOLATED", "GEOMETRIC_CENTER", "APPROXIMATE")
_CITIES = (
    ("Miami", "FL", "33101", "Miami-Dade", 25.77, -80.19),
    ("Los Angeles", "CA", "90012", "Los Angeles", 34.05, -118.24),
    ("Houston", "TX", "77002", "Harris", 29.76, -95.37),
    ("Chicago", "IL", "60602", "Cook", 41.88, -87.63),
    ("New York", "NY", "10007", "New York", 40.71, -74.01),
    ("Denver", "CO", "80202", "Denver", 39.74, -104.99),
)


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()


def _unit(digest: bytes, offset: int) -> float:
    """A float in [0, 1) from two bytes of the digest."""
    return int.from_bytes(digest[offset : offset + 2], "big") / 65536.0


def has_location_info(location: Mapping[str, object]) -> bool:
    """An address, or latitude and longitude, or address_line_1 and city (contract 6.1)."""
    address = location.get("address")
    if isinstance(address, str) and address.strip():
        return True
    if isinstance(address, list) and any(isinstance(a, str) and a.strip() for a in address):
        return True
    if location.get("latitude") is not None and location.get("longitude") is not None:
        return True
    return bool(location.get("address_line_1")) and bool(location.get("city"))


def _failure(message: str, status_code: int, fetch_time: float) -> dict[str, object]:
    return {
        "is_success": False,
        "error_message": message,
        "confidence": 0,
        "status_code": status_code,
        "fetch_time": fetch_time,
        "is_cache_hit": False,
        "worker_name": "emulator-worker-1",
        "persist_for": {"days": 0},
    }


def _address_text(location: Mapping[str, object]) -> str:
    address = location.get("address")
    if isinstance(address, list):
        address = next((a for a in address if isinstance(a, str) and a.strip()), "")
    if isinstance(address, str) and address.strip():
        return address.strip()
    parts = [location.get(k) for k in ("address_line_1", "city", "state", "postal_code")]
    return ", ".join(str(p) for p in parts if p)


def _geocode(location: Mapping[str, object], loc_digest: bytes) -> dict[str, object]:
    city, state, postal, county, lat0, lon0 = _CITIES[loc_digest[0] % len(_CITIES)]
    lat = location.get("latitude")
    lon = location.get("longitude")
    latitude = (
        float(lat)
        if isinstance(lat, int | float)
        else round(lat0 + (_unit(loc_digest, 2) - 0.5) * 0.2, 6)
    )
    longitude = (
        float(lon)
        if isinstance(lon, int | float)
        else round(lon0 + (_unit(loc_digest, 4) - 0.5) * 0.2, 6)
    )
    number = 1 + int(_unit(loc_digest, 6) * 9000)
    route = ("Main St", "Elm St", "Ocean Dr", "Park Ave", "Oak Rd")[loc_digest[8] % 5]
    return {
        "latitude": latitude,
        "longitude": longitude,
        "formatted_address": f"{number} {route}, {city}, {state} {postal}, USA",
        "street_number": str(number),
        "route": route,
        "location_type": _LOCATION_TYPES[loc_digest[9] % len(_LOCATION_TYPES)],
        "place_id": "emu-" + loc_digest.hex()[:20],
        "address_line_1": f"{number} {route}",
        "city": city,
        "state": state,
        "postal_code": postal,
        "county": county,
        "country": "US",
        "precision": "ROOFTOP" if loc_digest[9] % 4 == 0 else "STREET",
    }


def _hazard(loc_digest: bytes) -> dict[str, object]:
    def score(offset: int) -> int:
        return 1 + int(_unit(loc_digest, offset) * 100)

    return {
        "wind_score": score(2),
        "hail_score": score(4),
        "flood_score": score(6),
        "wildfire_score": score(8),
        "earthquake_score": score(10),
        "fema_flood_zone": _FLOOD_ZONES[loc_digest[12] % len(_FLOOD_ZONES)],
        "distance_to_coast_miles": round(_unit(loc_digest, 13) * 250, 2),
    }


def enrich_location(
    location: Mapping[str, object],
    source: str,
    *,
    include_raw: bool = False,
    problem_rate: float = 0.0,
    seed: int = 0,
) -> dict[str, object]:
    """One location's result from one source (contract 6.4), the same every time."""
    location_id = str(location.get("id", ""))
    pair = _digest(location_id, source, str(seed))
    fetch_time = round(0.01 + _unit(pair, 0) * 0.2, 3)
    if not has_location_info(location):
        return _failure(
            "No location information: give an address, latitude/longitude, "
            "or address_line_1 and city.",
            400,
            fetch_time,
        )
    if problem_rate > 0 and _unit(pair, 2) < problem_rate:
        return _failure(f"{source}: the provider could not resolve this location.", 404, fetch_time)
    loc_digest = _digest(_address_text(location) or location_id, str(seed))
    result: dict[str, object] = {
        "is_success": True,
        "error_message": None,
        "confidence": 60 + int(_unit(pair, 4) * 40),
        "status_code": 200,
        "fetch_time": fetch_time,
        "is_cache_hit": pair[6] % 5 == 0,
        "worker_name": f"emulator-worker-{1 + pair[7] % 4}",
        "persist_for": {"days": 30},
    }
    if source in GEOCODER_CODES:
        result.update(_geocode(location, loc_digest))
    elif source == "PH":
        result["external_data"] = _hazard(loc_digest)
    elif source == "NOOP":
        pass
    else:
        result["external_data"] = {
            "score": 1 + int(_unit(pair, 8) * 100),
            "category": ("low", "moderate", "high")[pair[10] % 3],
        }
    if include_raw:
        result["raw_response"] = {"provider": source, "request_id": pair.hex()}
    return result


def source_statistics(
    results: Mapping[str, Mapping[str, Mapping[str, object]]],
) -> list[dict[str, object]]:
    """Per-source counts and fetch durations (contract 6.5) over a job's results."""
    stats: dict[str, dict[str, object]] = {}
    durations: dict[str, list[float]] = {}
    for per_source in results.values():
        for source, result in per_source.items():
            entry = stats.setdefault(
                source, {"source": source, "num_fetched": 0, "num_successes": 0, "num_fails": 0}
            )
            entry["num_fetched"] = int(entry["num_fetched"]) + 1  # type: ignore[call-overload]
            key = "num_successes" if result.get("is_success") else "num_fails"
            entry[key] = int(entry[key]) + 1  # type: ignore[call-overload]
            fetch = result.get("fetch_time")
            if source != "PH" and isinstance(fetch, int | float):
                durations.setdefault(source, []).append(float(fetch))
    out = []
    for source, entry in stats.items():
        times = durations.get(source)
        if times:
            entry.update(
                avg_fetch_duration=round(sum(times) / len(times), 4),
                max_fetch_duration=max(times),
                min_fetch_duration=min(times),
                total_fetch_duration=round(sum(times), 4),
            )
        else:  # as the docs show for PH: durations not measured
            entry.update(
                avg_fetch_duration=None,
                max_fetch_duration=None,
                min_fetch_duration=None,
                total_fetch_duration=0.0,
            )
        out.append(entry)
    return out


def count_problems(results: Mapping[str, Mapping[str, Mapping[str, object]]]) -> int:
    """Locations with at least one failed source."""
    return sum(
        1
        for per_source in results.values()
        if any(not r.get("is_success") for r in per_source.values())
    )
