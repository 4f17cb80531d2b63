"""The emulator's catalogues (contract 3.10, 3.13, 4.5, 5.7-5.12): exact values, config shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sovfixer_async.emulator import catalog

#: The 65 codes of contract 5.12, in its order.
CONTRACT_CODES = [
    "NOOP",
    "AZG",
    "BV",
    "CA",
    "CLS_CSRS",
    "CLS_CRS",
    "CLS_DTFST",
    "CLS_EQRS",
    "CLS_FFRS",
    "CLS_FRS",
    "CLS_HI",
    "CLS_HR",
    "CLS_NWFRS",
    "CLS_NWWRS",
    "CLS_WFRS",
    "CLS_WRS",
    "DTC",
    "DTFH",
    "DTFST",
    "E2V",
    "E2VR",
    "EC",
    "EG",
    "EGR",
    "FNRI",
    "GIO",
    "GEV",
    "GG",
    "GGR",
    "HH",
    "HG",
    "IMF",
    "KR",
    "LP",
    "LB",
    "LBFZ",
    "LBG",
    "LBP",
    "LBGR",
    "LBSS",
    "LBS",
    "DTFS",
    "PFF",
    "PFPC",
    "PG",
    "PH",
    "PO",
    "PSZ",
    "PUC",
    "PUSDAW",
    "PLP",
    "PLB",
    "PLA",
    "PSG",
    "REASKM",
    "RZR",
    "RMSLCP",
    "RMS_US_ESDB",
    "SM",
    "TF",
    "T4D",
    "TG",
    "VP",
    "VPD",
    "VPI",
]
CONFIG_FIELDS = {
    "source_name",
    "source_code",
    "required_attrs",
    "optional_attrs",
    "requires_credentials",
    "non_supported_input_values",
    "supported_countries",
    "supported_us_states",
    "excluded_us_states",
    "geocode_confidence_required",
    "geocode_precision_required",
    "output_fields",
    "base_output_fields",
}


def test_source_codes_are_the_contracts_65_then_pgpre() -> None:
    assert len(CONTRACT_CODES) == 65
    assert (*CONTRACT_CODES, "PGPRE") == catalog.SOURCE_CODES
    assert tuple(catalog.SOURCE_NAMES) == catalog.SOURCE_CODES
    assert catalog.SOURCE_NAMES["PG"] == "Ping Geocoding"
    assert catalog.SOURCE_NAMES["PH"] == "Ping Hazard"
    assert catalog.SOURCE_NAMES["DTC"] == "Distance To Coast"
    assert catalog.SOURCE_NAMES["RMS_US_ESDB"] == "RMS US ExposureSource Database"
    assert all(name.strip() for name in catalog.SOURCE_NAMES.values())


def test_default_output_formats() -> None:
    assert catalog.DEFAULT_OUTPUT_FORMATS == (
        {"output_format": "JSON", "label": "JSON", "is_public": True, "output_extension": "json"},
        {
            "output_format": "DEBUGJSON",
            "label": "DEBUGJSON",
            "is_public": True,
            "output_extension": "json",
        },
        {
            "output_format": "AUDITOR",
            "label": "Auditor",
            "is_public": True,
            "output_extension": "xlsx",
        },
    )


def test_enumerations() -> None:
    assert catalog.UPDATE_TYPES == (
        "SCRUB",
        "AIR",
        "RMS",
        "RMS_ANALYSIS",
        "API",
        "COMPLETE",
        "PINGREADY",
    )
    assert catalog.DOCUMENT_TYPES == (
        "SOV",
        "PREM_BDX",
        "CLAIM_BDX",
        "SOV_BDX",
        "ACORD",
        "LOSS_RUN",
    )
    assert catalog.RECORD_TYPES[0] == "ORIG"
    assert set(catalog.RECORD_TYPES) == {
        "ORIG",
        "SCRUB",
        "AIR",
        "RMS",
        "RMS_ANALYSIS",
        "API",
        "COMPLETE",
        "READY_FOR_REVIEW",
        "PINGREADY",
        "PRECERTIFIED",
        "MODELING_FILES_CREATED",
    }
    assert catalog.ACTIVITY_STATUSES == ("P", "I", "E", "R", "C", "F")
    assert catalog.ORIGINS == ("api", "email")


def test_activity_fields_are_the_sovdata_keys() -> None:
    fields = catalog.ACTIVITY_FIELDS
    assert len(fields) == len(set(fields)) == 36
    assert fields[:6] == ("id", "document_type", "pct_complete", "filename",
                          "additional_filenames", "status")  # fmt: skip
    assert {"pingdata_stats", "ping_maps", "data_readiness_score", "data_readiness_notes"} <= set(
        fields
    )


def test_activity_fields_agree_with_the_server_views() -> None:
    views = pytest.importorskip("sovfixer_async.emulator.views")
    served = getattr(views, "ACTIVITY_FIELDS", None)
    if served is None:
        pytest.skip("views no longer keeps its own list")
    assert set(served) == set(catalog.ACTIVITY_FIELDS)


def test_source_kinds() -> None:
    assert {"PG", "GG", "AZG", "EG", "HG", "GIO", "LBG", "PSG", "TG", "SM", "PGPRE"} <= (
        catalog.GEOCODER_CODES
    )
    kinds = [
        catalog.GEOCODER_CODES,
        catalog.REVERSE_GEOCODER_CODES,
        catalog.ADDRESS_PARSER_CODES,
    ]
    assert all(k <= set(catalog.SOURCE_CODES) for k in kinds)
    assert not (kinds[0] & kinds[1])
    assert not (kinds[0] & kinds[2])
    assert not (kinds[1] & kinds[2])
    assert catalog.source_kind("PG") == "geocoder"
    assert catalog.source_kind("GGR") == "reverse_geocoder"
    assert catalog.source_kind("LP") == "address_parser"
    assert catalog.source_kind("NOOP") == "noop"
    assert catalog.source_kind("PH") == "coordinates"
    assert catalog.source_kind("ZZZ") == "coordinates"


def test_a_config_for_every_code_with_the_contracts_fields() -> None:
    configs = catalog.datasource_configs()
    assert list(configs) == list(catalog.SOURCE_CODES)
    for code, config in configs.items():
        assert set(config) >= CONFIG_FIELDS, code
        assert config["source_code"] == code
        assert config["source_name"] == catalog.SOURCE_NAMES[code]
        for key in ("required_attrs", "optional_attrs"):
            value = config[key]
            assert isinstance(value, list)
            assert all(isinstance(v, str) and v for v in value)
        assert isinstance(config["requires_credentials"], bool)
        unsupported = config["non_supported_input_values"]
        assert unsupported is None or (
            isinstance(unsupported, dict)
            and all(isinstance(v, list) and all(isinstance(s, str) for s in v)
                    for v in unsupported.values())
        )  # fmt: skip
        for key in ("supported_countries", "supported_us_states", "excluded_us_states"):
            value = config[key]
            assert value is None or (
                isinstance(value, list) and all(isinstance(v, str) and len(v) == 2 for v in value)
            ), (code, key)
        for key in ("geocode_confidence_required", "geocode_precision_required"):
            value = config[key]
            assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        for key in ("output_fields", "base_output_fields"):
            fields = config[key]
            assert isinstance(fields, dict)
            for name, spec in fields.items():
                assert isinstance(name, str)
                assert isinstance(spec, dict)
                assert isinstance(spec["type"], str)
                category = spec.get("category")
                assert category is None or (
                    isinstance(category, list) and all(isinstance(c, str) for c in category)
                )
    json.dumps(configs)  # served as JSON as it is


def test_base_output_fields_are_the_contracts() -> None:
    config: dict[str, Any] = catalog.datasource_configs()["NOOP"]
    assert set(config["base_output_fields"]) == {
        "is_success",
        "error_message",
        "raw_response",
        "persist_for",
        "confidence",
        "status_code",
        "fetch_time",
        "is_cache_hit",
        "worker_name",
    }
    assert config["output_fields"] == {}


def test_requirements_are_plausible() -> None:
    configs: dict[str, Any] = catalog.datasource_configs()
    for code in catalog.GEOCODER_CODES:
        config = configs[code]
        assert config["required_attrs"] == ["address"]
        assert {"address_line_1", "city", "state", "postal_code"} <= set(config["optional_attrs"])
        assert config["alternative_required_attrs"] == [["address_line_1", "city"]]
        assert {"latitude", "longitude"} <= set(config["output_fields"])
    for code in ("PH", "DTC", "LB", "CLS_WRS", "PFF"):
        config = configs[code]
        assert config["required_attrs"] == ["latitude", "longitude"]
        assert ["address"] in config["alternative_required_attrs"]
        assert isinstance(config["geocode_confidence_required"], int)  # geocoded first
        assert isinstance(config["geocode_precision_required"], int)
    assert set(configs["PH"]["output_fields"]) == {"external_data"}
    assert configs["DTFS"]["supported_us_states"] == ["FL"]
    assert configs["PG"]["requires_credentials"] is False
    assert configs["GG"]["requires_credentials"] is True
    assert configs["GG"]["supported_countries"] is None  # worldwide
    assert configs["PH"]["supported_countries"] == ["US"]


def test_precision_levels_match_location_types() -> None:
    levels = catalog.PRECISION_LEVELS
    assert list(levels.values()) == sorted(levels.values())
    assert set(catalog.LOCATION_TYPES.values()) <= set(levels.values())
    assert catalog.LOCATION_TYPES["ROOFTOP"] == levels["ROOFTOP"] == max(levels.values())


def test_configs_are_built_once_and_the_outer_dict_is_a_copy() -> None:
    first = catalog.datasource_configs()
    first.pop("PG")
    second = catalog.datasource_configs()
    assert "PG" in second
    assert second["PH"] is catalog.datasource_configs()["PH"]  # cached, not rebuilt


@pytest.mark.parametrize("code", ["pg", " PG ", "Pg"])
def test_datasource_config_lookup_is_case_insensitive(code: str) -> None:
    assert catalog.datasource_config(code) is catalog.datasource_configs()["PG"]


def test_unknown_datasource_config_is_none() -> None:
    assert catalog.datasource_config("NOPE") is None


def test_configs_satisfy_the_official_sdk_type() -> None:
    types = pytest.importorskip("pingintel_api.pingdata.types")
    wanted = set(types.DatasourceConfig.__annotations__)
    assert wanted == CONFIG_FIELDS
    for config in catalog.datasource_configs().values():
        assert wanted <= set(config)


def test_configs_parse_into_the_client_model() -> None:
    from sovfixer_async.models import DatasourceConfig
    from sovfixer_async.models._converter import structure

    for code, raw in catalog.datasource_configs().items():
        config = structure(raw, DatasourceConfig)
        assert config.source_code == code
        assert config.required_attrs == raw["required_attrs"]
        assert "alternative_required_attrs" in config.extra
