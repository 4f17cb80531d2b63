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

The work is split: ``enrich_tables`` (cities, hazard leanings, failure messages),
``enrich_address`` (reading fields and one-line addresses), ``enrich_place`` (what one place
is, and its per-source fields); this module turns a place into a source's result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from hashlib import blake2b

from sovfixer_async.emulator.catalog import SOURCE_NAMES, datasource_configs
from sovfixer_async.emulator.enrich_address import clean_text, coordinate
from sovfixer_async.emulator.enrich_place import Place, place_for
from sovfixer_async.emulator.enrich_tables import (
    KIND,
    LOCATION_KEYS,
    NEEDS_POINT,
    NO_INFO,
    PROBLEMS,
    UNSUPPORTED,
    WORKERS,
)


def has_location_info(location: Mapping[str, object]) -> bool:
    """An address, or latitude and longitude, or address_line_1 and city (contract 6.1).

    ``address`` may be a string or a list of strings; coordinates must be numbers (or numeric
    strings) in range.
    """
    if clean_text(location.get("address")) is not None:
        return True
    if (
        coordinate(location.get("latitude"), 90.0) is not None
        and coordinate(location.get("longitude"), 180.0) is not None
    ):
        return True
    return (
        clean_text(location.get("address_line_1")) is not None
        and clean_text(location.get("city")) is not None
    )


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


def _coverage_problem(code: str, place: Place) -> str | None:
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
    place = place_for(location, seed)
    if not place.has_info:
        return _failure(NO_INFO, 400, fetch_time)
    kind = KIND.get(code, "coordinates")
    if problem_rate > 0.0 and (pair[2] << 8 | pair[3]) < problem_rate * 65536:
        status, message = PROBLEMS["geocoder" if kind == "geocoder" else "other"][pair[4] % 3]
        return _failure(f"{code}: {message}", status, fetch_time)
    if kind == "address_parser" and place.text is None:
        return _failure(f"{code} needs an address.", 400, fetch_time)
    address = place.address
    if (
        kind in NEEDS_POINT
        and address is not None
        and not (place.point_given or place.line1_given)
        and address.upper() in UNSUPPORTED
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
        "worker_name": WORKERS[pair[7] & 3],
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
        query = {k: v for k, v in zip(LOCATION_KEYS, place.query, strict=True) if v is not None}
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
