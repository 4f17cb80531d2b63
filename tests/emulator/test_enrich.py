"""Synthetic Ping.Data results (contract 6.1, 6.4, 6.5, 8.7): deterministic, catalogue-shaped."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async.emulator import catalog, enrich

BASE = {
    "is_success",
    "error_message",
    "confidence",
    "status_code",
    "fetch_time",
    "is_cache_hit",
    "worker_name",
    "persist_for",
}
MIAMI = {"id": "item-1", "address": "123 main st, miami, fl"}
LOS_ANGELES = {"id": "item-2", "address": "456 elm st, los angeles, ca"}


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ({"address": "123 main st, miami, fl"}, True),
        ({"address": "   "}, False),
        ({"address": ""}, False),
        ({"address": ["", "1 main st, tampa, fl"]}, True),
        ({"address": []}, False),
        ({"address": None}, False),
        ({"latitude": 25.7, "longitude": -80.2}, True),
        ({"latitude": 0, "longitude": 0}, True),
        ({"latitude": "25.7", "longitude": "-80.2"}, True),
        ({"latitude": 25.7}, False),
        ({"latitude": 25.7, "longitude": None}, False),
        ({"latitude": True, "longitude": False}, False),
        ({"latitude": math.nan, "longitude": 1.0}, False),
        ({"latitude": 91.0, "longitude": 1.0}, False),
        ({"latitude": "north", "longitude": "1"}, False),
        ({"address_line_1": "1 Dock Rd", "city": "Tampa"}, True),
        ({"address_line_1": "1 Dock Rd"}, False),
        ({"city": "Tampa", "state": "FL"}, False),
        ({"bldg_name": "nowhere"}, False),
        ({}, False),
    ],
)
def test_has_location_info(location: dict[str, object], expected: bool) -> None:
    assert enrich.has_location_info(location) is expected
    result = enrich.enrich_location({"id": "x", **location}, "PG")
    assert result["is_success"] is expected


def test_docs_example_is_plausible() -> None:
    pg: dict[str, Any] = enrich.enrich_location(MIAMI, "PG")
    assert set(pg) == BASE | set(catalog.SOURCE_OUTPUT_FIELDS["PG"])
    assert pg["is_success"] is True
    assert pg["error_message"] is None
    assert pg["status_code"] == 200
    assert (pg["city"], pg["state"], pg["country"]) == ("Miami", "FL", "US")
    assert (pg["street_number"], pg["route"]) == ("123", "Main St")
    assert abs(float(pg["latitude"]) - 25.76) < 0.1
    assert abs(float(pg["longitude"]) + 80.19) < 0.1
    assert str(pg["formatted_address"]).startswith("123 Main St, Miami, FL ")
    assert pg["precision"] == catalog.LOCATION_TYPES[str(pg["location_type"])]
    la = enrich.enrich_location(LOS_ANGELES, "PG")
    assert (la["city"], la["state"]) == ("Los Angeles", "CA")
    ph: dict[str, Any] = enrich.enrich_location(MIAMI, "PH")
    assert set(ph) == BASE | {"external_data"}
    assert set(ph["external_data"]) == set(catalog.HAZARD_FIELDS)


def test_every_source_returns_its_catalogue_fields() -> None:
    """What /datasources advertises is what each source returns, with values in range."""
    configs = catalog.datasource_configs()
    for code in catalog.SOURCE_CODES:
        result = enrich.enrich_location(MIAMI, code)
        assert result["is_success"] is True, (code, result)
        fields = configs[code]["output_fields"]
        assert isinstance(fields, dict)
        assert set(result) == BASE | set(fields), code
        values = result["external_data"] if code == "PH" else result
        specs = catalog.HAZARD_FIELDS if code == "PH" else fields
        assert isinstance(values, dict)
        for name, spec in specs.items():
            check_value(code, name, values[name], spec)
        json.dumps(result)


def check_value(code: str, name: str, value: Any, spec: dict[str, Any]) -> None:
    where = f"{code}.{name}={value!r}"
    if value is None:
        assert name in ("county", "street_number", "country", "postcode"), where
        return
    kind = spec["type"]
    if isinstance(spec.get("return_values"), list):
        assert value in spec["return_values"], where
    elif kind == "integer":
        assert type(value) is int, where
    elif kind == "number":
        assert type(value) in (int, float), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    else:
        assert isinstance(value, str), where
    if "min" in spec and name not in ("distance_to_coast_miles",):
        assert spec["min"] <= value <= spec["max"], where


def test_results_are_deterministic_and_seeded() -> None:
    for code in ("PG", "PH", "LB", "GGR", "LP", "NOOP", "DTC"):
        first = enrich.enrich_location(MIAMI, code, seed=7)
        assert enrich.enrich_location(dict(MIAMI), code, seed=7) == first
    assert enrich.enrich_location(MIAMI, "PG", seed=1) != enrich.enrich_location(
        MIAMI, "PG", seed=2
    )


def test_geocoders_agree_and_shared_facts_agree_across_sources() -> None:
    points = {
        (r["latitude"], r["longitude"])
        for code in catalog.GEOCODER_CODES
        for r in [enrich.enrich_location(MIAMI, code)]
    }
    assert len(points) == 1
    ph = enrich.enrich_location(MIAMI, "PH")["external_data"]
    assert isinstance(ph, dict)
    dtc = enrich.enrich_location(MIAMI, "DTC")
    pff = enrich.enrich_location(MIAMI, "PFF")
    lbfz = enrich.enrich_location(MIAMI, "LBFZ")
    assert dtc["distance_to_coast_miles"] == ph["distance_to_coast_miles"]
    assert pff["fema_flood_zone"] == lbfz["fema_flood_zone"] == ph["fema_flood_zone"]
    assert (
        enrich.enrich_location(MIAMI, "LB")["parcel_id"]
        == (enrich.enrich_location(MIAMI, "LBP")["parcel_id"])
    )
    # the same address under another id is the same place
    other = enrich.enrich_location({**MIAMI, "id": "another"}, "PG")
    assert (other["latitude"], other["longitude"]) == points.pop()


def test_hazards_follow_geography() -> None:
    miami = enrich.enrich_location(MIAMI, "PH")["external_data"]
    denver = enrich.enrich_location({"id": "d", "address": "1 main st, denver, co"}, "PH")[
        "external_data"
    ]
    assert isinstance(miami, dict)
    assert isinstance(denver, dict)
    assert miami["distance_to_coast_miles"] < 10 < 500 < denver["distance_to_coast_miles"]
    assert miami["wind_score"] > denver["wind_score"]
    assert miami["storm_surge_score"] > denver["storm_surge_score"] == 1
    for value in (*miami.values(), *denver.values()):
        if isinstance(value, int):
            assert 1 <= value <= 100


def test_given_coordinates_are_kept_and_reverse_geocoded() -> None:
    location = {"id": "p", "latitude": 39.74, "longitude": -104.99}
    pg = enrich.enrich_location(location, "PG")
    assert (pg["latitude"], pg["longitude"]) == (39.74, -104.99)
    assert (pg["city"], pg["state"], pg["location_type"]) == ("Denver", "CO", "ROOFTOP")
    reverse = enrich.enrich_location(location, "GGR")
    assert set(reverse) == BASE | set(catalog.SOURCE_OUTPUT_FIELDS["GGR"])
    assert reverse["formatted_address"] == pg["formatted_address"]


def test_structured_address() -> None:
    location = {
        "id": "s",
        "address_line_1": "1 Dock Rd",
        "city": "tampa",
        "state": "fl",
        "postal_code": "33602",
    }
    pg = enrich.enrich_location(location, "PG")
    assert pg["formatted_address"] == "1 Dock Rd, Tampa, FL 33602, USA"
    lp = enrich.enrich_location(location, "LP")
    assert (lp["house_number"], lp["road"], lp["postcode"]) == ("1", "Dock Rd", "33602")


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("123 main st, miami, fl", ("123", "Main St", "Miami", "FL", None, None)),
        ("500 Broad St, Springfield, IL 62701, USA", ("500", "Broad St", "Springfield", "IL",
                                                      "62701", "US")),
        ("NE 2nd Ave, Miami, FL 33137", (None, "NE 2nd Ave", "Miami", "FL", "33137", None)),
        ("Suite 5, 12 Elm St, Austin, TX", (None, "Suite 5, 12 Elm St", "Austin", "TX", None,
                                            None)),
        ("12 Elm St, Austin, 78701", ("12", "Elm St", "Austin", None, "78701", None)),
        ("x", (None, "X", None, None, None, None)),
    ],
)  # fmt: skip
def test_address_parsing(address: str, parts: tuple[str | None, ...]) -> None:
    lp = enrich.enrich_location({"id": "a", "address": address}, "LP")
    keys = ("house_number", "road", "city", "state", "postcode", "country")
    assert tuple(lp[k] for k in keys) == parts


@pytest.mark.parametrize("code", catalog.SOURCE_CODES)
def test_no_location_information_fails_every_source(code: str) -> None:
    result = enrich.enrich_location({"id": "nowhere", "bldg_name": "x"}, code)
    assert set(result) == BASE
    assert result["is_success"] is False
    assert result["status_code"] == 400
    assert isinstance(result["error_message"], str)
    assert result["error_message"]


def test_coverage_and_unsupported_inputs_fail_with_422() -> None:
    canada = {"id": "c", "address": "1 Bay St, Toronto, ON", "country": "CA"}
    assert enrich.enrich_location(canada, "PH")["status_code"] == 422
    assert enrich.enrich_location(canada, "GG")["is_success"] is True  # worldwide
    assert enrich.enrich_location(LOS_ANGELES, "DTFS")["status_code"] == 422  # Florida only
    assert enrich.enrich_location(MIAMI, "DTFS")["is_success"] is True
    for code in ("PG", "PH"):
        tbd = enrich.enrich_location({"id": "t", "address": "TBD"}, code)
        assert (tbd["is_success"], tbd["status_code"]) == (False, 422)
    assert enrich.enrich_location({"id": "t", "address": "TBD"}, "NOOP")["is_success"] is True
    only_point = {"id": "p", "latitude": 25.7, "longitude": -80.2}
    assert enrich.enrich_location(only_point, "LP")["status_code"] == 400


def test_equal_but_different_inputs_are_not_confused() -> None:
    """0 == False == 0.0 in Python, but an address of 0 is text and one of False is none."""
    assert enrich.enrich_location({"id": "a", "address": 0}, "PG")["is_success"] is True
    assert enrich.enrich_location({"id": "a", "address": False}, "PG")["is_success"] is False
    assert enrich.enrich_location({"id": "a", "latitude": 1, "longitude": 1}, "PG")["is_success"]
    blank = enrich.enrich_location({"id": "a", "latitude": True, "longitude": True}, "PG")
    assert blank["is_success"] is False


def test_raw_response_only_when_asked() -> None:
    assert "raw_response" not in enrich.enrich_location(MIAMI, "PG")
    raw = enrich.enrich_location(MIAMI, "PG", include_raw=True)["raw_response"]
    assert isinstance(raw, dict)
    assert raw["provider"] == "Ping Geocoding"
    assert raw["query"] == {"address": MIAMI["address"]}


def test_results_share_nothing_mutable() -> None:
    first: dict[str, Any] = enrich.enrich_location(MIAMI, "PH")
    first["external_data"]["wind_score"] = -1
    first["persist_for"]["days"] = -1
    again: dict[str, Any] = enrich.enrich_location(MIAMI, "PH")
    assert again["external_data"]["wind_score"] != -1
    assert again["persist_for"] == {"days": 30}


def test_problem_rate_extremes() -> None:
    ids = [{"id": f"id_{i}", "address": f"{i} main st, miami, fl"} for i in range(300)]
    assert all(enrich.enrich_location(x, "PG")["is_success"] for x in ids)
    failed = [enrich.enrich_location(x, "PG", problem_rate=1.0) for x in ids]
    assert not any(r["is_success"] for r in failed)
    assert {r["status_code"] for r in failed} <= {404, 422, 502, 503, 504}
    assert all(str(r["error_message"]).startswith("PG: ") for r in failed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.floats(0.0, 1.0), seed=st.integers(0, 2**32))
def test_problem_share_is_close_to_the_rate(rate: float, seed: int) -> None:
    n = 2000
    locations = [{"id": f"loc-{i}", "address": "1 main st, miami, fl"} for i in range(n)]
    fails = sum(
        not enrich.enrich_location(x, "PG", problem_rate=rate, seed=seed)["is_success"]
        for x in locations
    )
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(fails - n * rate) <= 5 * sigma + 2
    # the same pairs fail again
    again = sum(
        not enrich.enrich_location(x, "PG", problem_rate=rate, seed=seed)["is_success"]
        for x in locations[:200]
    )
    first = sum(
        not enrich.enrich_location(x, "PG", problem_rate=rate, seed=seed)["is_success"]
        for x in locations[:200]
    )
    assert again == first


def test_failing_pairs_depend_on_id_source_and_seed() -> None:
    locations = [{"id": f"loc-{i}", "address": "1 main st, miami, fl"} for i in range(400)]

    def failing(source: str, seed: int) -> set[str]:
        return {
            str(x["id"])
            for x in locations
            if not enrich.enrich_location(x, source, problem_rate=0.25, seed=seed)["is_success"]
        }

    pg = failing("PG", 0)
    assert pg == failing("PG", 0)
    assert pg != failing("PH", 0)
    assert pg != failing("PG", 1)


def test_source_statistics_as_the_docs_show() -> None:
    results: dict[str, dict[str, dict[str, object]]] = {
        "item-1": {
            "PG": {"is_success": True, "fetch_time": 0.09},
            "PGPRE": {"is_success": True, "fetch_time": 0.079},
            "PH": {"is_success": True, "fetch_time": 0.5},
        },
        "item-2": {
            "PG": {"is_success": True, "fetch_time": 0.152},
            "PGPRE": {"is_success": True, "fetch_time": 0.08},
            "PH": {"is_success": True},
        },
    }
    assert enrich.source_statistics(results) == [
        {
            "source": "PG",
            "num_fetched": 2,
            "num_successes": 2,
            "num_fails": 0,
            "avg_fetch_duration": 0.121,
            "max_fetch_duration": 0.152,
            "min_fetch_duration": 0.09,
            "total_fetch_duration": 0.242,
        },
        {
            "source": "PGPRE",
            "num_fetched": 2,
            "num_successes": 2,
            "num_fails": 0,
            "avg_fetch_duration": 0.0795,
            "max_fetch_duration": 0.08,
            "min_fetch_duration": 0.079,
            "total_fetch_duration": 0.159,
        },
        {
            "source": "PH",
            "num_fetched": 2,
            "num_successes": 2,
            "num_fails": 0,
            "avg_fetch_duration": None,
            "max_fetch_duration": None,
            "min_fetch_duration": None,
            "total_fetch_duration": 0.0,
        },
    ]
    assert enrich.source_statistics({}) == []


def test_statistics_and_problems_over_a_job() -> None:
    locations = [{"id": f"l{i}", "address": f"{i} elm st, tampa, fl"} for i in range(500)]
    locations.append({"id": "blank"})
    results = {
        str(x["id"]): {s: enrich.enrich_location(x, s, problem_rate=0.1) for s in ("PG", "PH")}
        for x in locations
    }
    stats: dict[Any, Any] = {s["source"]: s for s in enrich.source_statistics(results)}
    assert list(stats) == ["PG", "PH"]
    for entry in stats.values():
        assert entry["num_fetched"] == 501
        assert entry["num_successes"] + entry["num_fails"] == 501
        assert entry["num_fails"] >= 1  # at least the blank location
    pg = stats["PG"]
    assert pg["min_fetch_duration"] <= pg["avg_fetch_duration"] <= pg["max_fetch_duration"]
    expected = sum(1 for r in results.values() if not all(x["is_success"] for x in r.values()))
    assert enrich.count_problems(results) == expected
    assert enrich.count_problems(results) >= max(stats["PG"]["num_fails"], stats["PH"]["num_fails"])
    assert enrich.count_problems({}) == 0


@given(
    location=st.dictionaries(
        st.sampled_from(["id", "address", "latitude", "longitude", "address_line_1", "city",
                         "state", "postal_code", "country", "county", "bldg_name"]),
        st.none() | st.text(max_size=30) | st.floats() | st.integers() | st.booleans()
        | st.lists(st.text(max_size=10), max_size=3),
    ),
    source=st.sampled_from(catalog.SOURCE_CODES) | st.text(min_size=1, max_size=6),
    include_raw=st.booleans(),
)  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_any_location_gets_a_well_formed_result(
    location: dict[str, object], source: str, include_raw: bool
) -> None:
    result = enrich.enrich_location(location, source, include_raw=include_raw)
    assert set(result) >= BASE
    assert isinstance(result["is_success"], bool)
    assert (result["error_message"] is None) is result["is_success"]
    assert ("raw_response" in result) is (include_raw and result["is_success"])
    if not enrich.has_location_info(location):
        assert result["status_code"] == 400
    assert result == enrich.enrich_location(dict(location), source, include_raw=include_raw)
    json.dumps(result, allow_nan=False)


def test_speed() -> None:
    n = 20_000
    locations = [{"id": f"id_{i:06d}", "address": f"{i} main st, miami, fl"} for i in range(n)]
    start = time.perf_counter()
    for location in locations:
        enrich.enrich_location(location, "PG", problem_rate=0.02)
        enrich.enrich_location(location, "PH", problem_rate=0.02)
    elapsed = time.perf_counter() - start
    rate = 2 * n / elapsed
    print(f"enrich_location: {rate:,.0f} calls/s (unique addresses, PG then PH)")
    assert rate > 20_000  # ~100,000 calls in well under 5 s even on a busy machine
