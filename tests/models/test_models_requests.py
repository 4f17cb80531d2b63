"""Strict request models: every problem is an InvalidInputError naming its field."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models import (
    DocumentType,
    InitiateUpdateRequest,
    LayerTerm,
    OutputRequest,
    ParseRequest,
    PolicyTerms,
    UpdateStartRequest,
    UpdateType,
    ZoneTerm,
    unstructure,
)
from sovfixer_async.models._checks import (
    require_nonempty_str,
    require_str_list,
    validate_callback_url,
)
from sovfixer_async.models._location_fields import LOCATION_FIELDS, validate_location
from sovfixer_async.models._policy_terms import policy_terms
from sovfixer_async.models._update_rows import validate_update_row


def _field_of(call: Any, *args: Any, **kwargs: Any) -> str | None:
    with pytest.raises(InvalidInputError) as caught:
        call(*args, **kwargs)
    assert isinstance(caught.value, ValueError)
    return caught.value.field


# -- shared validators -----------------------------------------------------------------


def test_require_nonempty_str() -> None:
    assert require_nonempty_str("x", "f") == "x"
    for bad in ("", "  ", None, 3, b"x"):
        assert _field_of(require_nonempty_str, bad, "sovid") == "sovid"


def test_require_str_list() -> None:
    assert require_str_list(["a", "b"], "f") == ["a", "b"]
    assert require_str_list(("a",), "f") == ["a"]
    assert require_str_list([], "f", nonempty=False) == []
    assert _field_of(require_str_list, [], "sources") == "sources"
    assert _field_of(require_str_list, "PG", "sources") == "sources"
    assert _field_of(require_str_list, {"PG": 1}, "sources") == "sources"
    assert _field_of(require_str_list, 5, "sources") == "sources"
    assert _field_of(require_str_list, ["PG", ""], "sources") == "sources[1]"
    assert _field_of(require_str_list, ["PG", "PH", 3], "sources") == "sources[2]"
    with pytest.raises(InvalidInputError, match=r"write \['PG'\]"):
        require_str_list("PG", "sources")


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://127.0.0.1:8080/cb?x=1", "HTTPS://h/p"]
)
def test_callback_url_ok(url: str) -> None:
    assert validate_callback_url(url, "callback_url") == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/hook",
        "ftp://h/x",
        "https://",
        "/relative",
        "https://h/a b",
        5,
        None,
        "http://h:notaport/",
    ],
)
def test_callback_url_bad(url: Any) -> None:
    assert _field_of(validate_callback_url, url, "callback_url") == "callback_url"


# -- validate_location -----------------------------------------------------------------


def test_validate_location_cleans() -> None:
    clean = validate_location(
        {
            "id": "item-1",
            "address": "123 main st, miami, fl",
            "sources": ["pg", "PH"],
            "latitude": "25.79",
            "longitude": -80,
            "const__num_stories": "3",
            "const__bldg_area": 1200.0,
            "limits__building_limit": "1500000",
            "postal_code": "",
            "city": None,
            "county": "  ",
            "dtc_return_connected_coastlines": "true",
            "lightbox_parcel_id": 12345,
            "const__bldg_year_built": math.nan,
        },
        0,
    )
    assert clean == {
        "id": "item-1",
        "address": "123 main st, miami, fl",
        "sources": ["PG", "PH"],
        "latitude": 25.79,
        "longitude": -80.0,
        "const__num_stories": 3,
        "const__bldg_area": 1200,
        "limits__building_limit": 1500000.0,
        "dtc_return_connected_coastlines": True,
        "lightbox_parcel_id": "12345",
    }
    assert type(clean["const__num_stories"]) is int


def test_validate_location_csv_row() -> None:
    row = {"id": "a", "address": "", "latitude": "1.5", "longitude": "2", "sources": "pg, ph;DTC"}
    assert validate_location(row, 3) == {
        "id": "a",
        "latitude": 1.5,
        "longitude": 2.0,
        "sources": ["PG", "PH", "DTC"],
    }


@pytest.mark.parametrize(
    ("location", "field", "message"),
    [
        ({"address": "x"}, "locations[4].id", "id"),
        ({"id": ""}, "locations[4].id", "empty"),
        ({"id": 7}, "locations[4].id", "string"),
        ({"id": "a", "latitude": "north"}, "locations[4].latitude", "number"),
        ({"id": "a", "latitude": 91}, "locations[4].latitude", "between"),
        ({"id": "a", "longitude": -180.5}, "locations[4].longitude", "between"),
        ({"id": "a", "latitude": math.inf}, "locations[4].latitude", "finite"),
        ({"id": "a", "const__num_stories": "2.5"}, "locations[4].const__num_stories", "whole"),
        ({"id": "a", "const__num_stories": True}, "locations[4].const__num_stories", "whole"),
        ({"id": "a", "limits__bi_limit": [1]}, "locations[4].limits__bi_limit", "number"),
        ({"id": "a", "address": ["x"]}, "locations[4].address", "text"),
        ({"id": "a", "postal_code": 33139.0}, "locations[4].postal_code", "text"),
        ({"id": "a", "sources": []}, "locations[4].sources", "empty"),
        ({"id": "a", "sources": ["PG", ""]}, "locations[4].sources", "item 1"),
        ({"id": "a", "sources": 5}, "locations[4].sources", "source codes"),
        ({"id": "a", "datasource_config": "nope"}, "locations[4].datasource_config", "object"),
        (
            {"id": "a", "dtc_return_connected_coastlines": "maybe"},
            "locations[4].dtc_return_connected_coastlines",
            "true or false",
        ),
        ({"id": "a", "lat": 1.0}, "locations[4].lat", "did you mean 'latitude'"),
        ({"id": "a", "adress": "x"}, "locations[4].adress", "did you mean 'address'"),
        (
            {"id": "a", "const__num_storys": 2},
            "locations[4].const__num_storys",
            "const__num_stories",
        ),
        ({"id": "a", "zip": "33139"}, "locations[4].zip", "postal_code"),
        ({"id": "a", "Address": "x"}, "locations[4].Address", "did you mean 'address'"),
        (
            {"id": "a", "wholly_unrelated_thing": 1},
            "locations[4].wholly_unrelated_thing",
            "unknown field",
        ),
        ({"id": "a", 5: "x"}, "locations[4]", "strings"),
    ],
)
def test_validate_location_errors_name_the_field(
    location: dict[Any, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_location(location, 4)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert str(caught.value).startswith(field)


def test_unknown_key_is_an_error_even_when_empty() -> None:
    assert _field_of(validate_location, {"id": "a", "notes": None}, 0) == "locations[0].notes"


def test_validate_location_not_a_mapping() -> None:
    assert _field_of(validate_location, ["id", "a"], 2) == "locations[2]"


def test_datasource_config_from_csv_json() -> None:
    clean = validate_location({"id": "a", "datasource_config": '{"PG": {"x": 1}}'}, 0)
    assert clean["datasource_config"] == {"PG": {"x": 1}}


location_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.from_regex(r"\s*-?[0-9]{1,4}(\.[0-9]{0,3})?\s*", fullmatch=True),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.binary(max_size=4),
    st.just(object()),
)
location_keys = st.sampled_from(sorted(LOCATION_FIELDS)) | st.text(max_size=10) | st.integers()


@given(st.dictionaries(location_keys, location_values, max_size=8))
def test_validate_location_returns_a_dict_or_raises_invalid_input(data: dict[Any, Any]) -> None:
    try:
        clean = validate_location(data, 9)
    except InvalidInputError as exc:
        field = exc.field
        clean = None
    if clean is None:
        assert field is not None
        assert field.startswith("locations[9]")
        return
    assert isinstance(clean["id"], str)
    assert clean["id"].strip()
    assert set(clean) <= LOCATION_FIELDS
    assert None not in clean.values()
    assert "" not in clean.values()
    # cleaning is idempotent
    assert validate_location(clean, 9) == clean


@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.integers(0, 200),
)
def test_numeric_strings_from_csv_are_converted(lat: float, lon: float, stories: int) -> None:
    clean = validate_location(
        {
            "id": "x",
            "latitude": repr(lat),
            "longitude": f" {lon!r} ",
            "const__num_stories": str(stories),
        },
        0,
    )
    assert clean["latitude"] == lat
    assert clean["longitude"] == lon
    assert clean["const__num_stories"] == stories


# -- update rows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"sheet_name": "Sheet1", "sheet_row_number": "2", "bldg_name": "Normal House"},
            {"sheet_name": "Sheet1", "sheet_row_number": "2", "bldg_name": "Normal House"},
        ),
        (
            {"sheet_name": "Sheet1", "sheet_row_number": 7, "x": None},
            {"sheet_name": "Sheet1", "sheet_row_number": "7", "x": ""},
        ),
        (
            {"sheet_name": "Sheet1", "sheet_row_number": 7.0, "limit": 1500000.0, "rate": 0.25},
            {"sheet_name": "Sheet1", "sheet_row_number": "7", "limit": "1500000", "rate": "0.25"},
        ),
        (
            {"sheet_name": "S", "sheet_row_number": " 7.0 ", "flag": True},
            {"sheet_name": "S", "sheet_row_number": "7", "flag": "True"},
        ),
        (
            {
                "item_key": "i-s-e-xxxxxxx!SOV!1",
                "sheet_name": "",
                "sheet_row_number": "",
                "v": math.nan,
            },
            {"item_key": "i-s-e-xxxxxxx!SOV!1", "sheet_name": "", "sheet_row_number": "", "v": ""},
        ),
    ],
)
def test_update_rows(row: dict[str, Any], expected: dict[str, str]) -> None:
    assert validate_update_row(row, 0) == expected


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"bldg_name": "x"}, "locations[12]"),
        ({"item_key": " ", "bldg_name": "x"}, "locations[12]"),
        ({"sheet_row_number": "3"}, "locations[12]"),
        ({"sheet_name": "S"}, "locations[12].sheet_row_number"),
        ({"sheet_name": "S", "sheet_row_number": "0"}, "locations[12].sheet_row_number"),
        ({"sheet_name": "S", "sheet_row_number": "-2"}, "locations[12].sheet_row_number"),
        ({"sheet_name": "S", "sheet_row_number": "2.5"}, "locations[12].sheet_row_number"),
        ({"sheet_name": "S", "sheet_row_number": "two"}, "locations[12].sheet_row_number"),
        ({"item_key": "k", "sheet_row_number": "x"}, "locations[12].sheet_row_number"),
        ({"item_key": "k", "": "x"}, "locations[12]"),
        ({"item_key": "k", 3: "x"}, "locations[12]"),
        ({"item_key": "k", "tags": ["a"]}, "locations[12].tags"),
        ({"item_key": "k", "meta": {"a": 1}}, "locations[12].meta"),
        ({"item_key": "k", "limit": math.inf}, "locations[12].limit"),
    ],
)
def test_update_row_errors(row: dict[Any, Any], field: str) -> None:
    assert _field_of(validate_update_row, row, 12) == field


@given(st.dictionaries(st.text(max_size=6) | st.none(), location_values, max_size=6))
def test_update_rows_give_strings_or_invalid_input(row: dict[Any, Any]) -> None:
    try:
        clean = validate_update_row(row, 1)
    except InvalidInputError as exc:
        field = exc.field
        clean = None
    if clean is None:
        assert field is not None
        assert field.startswith("locations[1]")
        return
    assert all(type(v) is str for v in clean.values())
    assert clean.get("item_key", "").strip() or clean["sheet_row_number"].isdigit()


# -- update start ----------------------------------------------------------------------

POLICY_TERMS = {
    "layer_terms": [
        {
            "name": "Primary",
            "attachment": 0,
            "limit": 10000000,
            "participation": 1.0,
            "premium": "250000",
        }
    ],
    "peril_terms": [
        {
            "group": "Wind",
            "subperil_types": ["HU_Wind", "HU_Surge"],
            "sublimit": 5000000,
            "min_deductible": 25000,
            "max_deductible": 1000000,
            "blanket_deductible": 0,
            "location_deductible_type": "S",
            "location_deductible": 0.05,
            "bi_days_deductible": 3,
        }
    ],
    "zone_terms": [
        {"peril_class": "Flood", "zone": "SFHA", "is_excluded": True},
        {"group": "Quake", "subperil_types": ["EQ_Shake"], "sublimit": 1000},
    ],
    "excluded_subperil_types": ["Terrorism"],
}


def test_update_start_body() -> None:
    request = UpdateStartRequest(
        extra_data={"insured_name": "Acme Corp", "inception_date": date(2026, 1, 1)},
        policy_terms=POLICY_TERMS,
        output_formats=["json"],
        integrations=["pg"],
        metadata={"Timestamp": 1, "UserInfo": {"UserName": "me"}},
    )
    body = unstructure(request)
    assert body["extra_data"] == {"insured_name": "Acme Corp", "inception_date": "2026-01-01"}
    assert body["policy_terms"]["layer_terms"][0]["premium"] == 250000
    assert body["policy_terms"]["zone_terms"] == POLICY_TERMS["zone_terms"]
    assert body["policy_terms"]["peril_terms"] == POLICY_TERMS["peril_terms"]
    assert body["output_formats"] == ["json"]
    assert body["integrations"] == ["PG"]
    assert "outputter_name" not in body
    assert isinstance(request.policy_terms, PolicyTerms)
    assert isinstance(request.policy_terms.zone_terms[0], ZoneTerm)  # type: ignore[index]


def test_update_start_defaults() -> None:
    assert unstructure(UpdateStartRequest()) == {"extra_data": {}}
    assert unstructure(UpdateStartRequest(extra_data=None)) == {"extra_data": {}}
    terms = PolicyTerms(layer_terms=[LayerTerm(name="L", limit=1)])
    assert unstructure(UpdateStartRequest(policy_terms=terms))["policy_terms"] == {
        "layer_terms": [{"name": "L", "limit": 1}]
    }
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert unstructure(UpdateStartRequest(extra_data={"t": when}))["extra_data"] == {
        "t": "2026-01-01T12:00:00Z"
    }


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"policy_terms": []}, "policy_terms", "mapping"),
        (
            {"policy_terms": {"layer_term": []}},
            "policy_terms.layer_term",
            "did you mean 'layer_terms'",
        ),
        ({"policy_terms": {"layer_terms": {}}}, "policy_terms.layer_terms", "list"),
        (
            {"policy_terms": {"layer_terms": [{"limit": "lots"}]}},
            "policy_terms.layer_terms[0].limit",
            "number",
        ),
        (
            {"policy_terms": {"peril_terms": [{}, {"subperil_types": "HU_Wind"}]}},
            "policy_terms.peril_terms[1].subperil_types",
            "list of strings",
        ),
        (
            {"policy_terms": {"zone_terms": [{"is+excluded": True}]}},
            "policy_terms.zone_terms[0].is+excluded",
            "did you mean 'is_excluded'",
        ),
        (
            {"policy_terms": {"zone_terms": [{"is_excluded": "yes"}]}},
            "policy_terms.zone_terms[0].is_excluded",
            "True or False",
        ),
        (
            {"policy_terms": {"excluded_subperil_types": ["ok", 3]}},
            "policy_terms.excluded_subperil_types[1]",
            "string",
        ),
        ({"extra_data": ["x"]}, "extra_data", "mapping"),
        ({"extra_data": {"": 1}}, "extra_data", "keys"),
        ({"extra_data": {"a": {1, 2}}}, "extra_data.a", "JSON"),
        ({"extra_data": {"a": [1, math.nan]}}, "extra_data.a[1]", "JSON"),
        ({"outputter_name": ""}, "outputter_name", "empty"),
        ({"output_formats": "json"}, "output_formats", "list"),
        ({"output_formats": []}, "output_formats", "empty"),
        ({"integrations": [""]}, "integrations[0]", "empty"),
        ({"metadata": "x"}, "metadata", "mapping"),
    ],
)
def test_update_start_errors(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        UpdateStartRequest(**kwargs)
    assert caught.value.field == field
    assert message in str(caught.value)


# -- outputs, initiate_update, parse ---------------------------------------------------


def test_output_request() -> None:
    assert unstructure(OutputRequest(output_format="json")) == {
        "output_format": "json",
        "revision": -1,
    }
    assert unstructure(
        OutputRequest(output_format="JSON", revision=3, overwrite_existing=True)
    ) == {
        "output_format": "JSON",
        "revision": 3,
        "overwrite_existing": True,
    }
    assert _field_of(OutputRequest, output_format="") == "output_format"
    assert _field_of(OutputRequest, output_format="json", revision=-2) == "revision"
    assert _field_of(OutputRequest, output_format="json", revision=True) == "revision"
    assert _field_of(OutputRequest, output_format="json", revision="1") == "revision"
    assert _field_of(OutputRequest, output_format="json", overwrite_existing="yes") == (
        "overwrite_existing"
    )


def test_initiate_update_request() -> None:
    assert unstructure(InitiateUpdateRequest()) == {}
    request = InitiateUpdateRequest(update_type="scrub", client_ref="r-1")
    assert request.update_type is UpdateType.SCRUB
    assert unstructure(request) == {"update_type": "SCRUB", "client_ref": "r-1"}
    with pytest.raises(InvalidInputError, match="allowed: SCRUB, AIR, RMS") as caught:
        InitiateUpdateRequest(update_type="BOGUS")
    assert caught.value.field == "update_type"
    assert _field_of(InitiateUpdateRequest, callback_url="x") == "callback_url"
    assert _field_of(InitiateUpdateRequest, client_ref="") == "client_ref"


def test_parse_request_form_fields() -> None:
    request = ParseRequest(
        document_type="acord",
        callback_url="https://h/cb",
        client_ref="ref",
        extra_data={
            "insured_name": "Acme",
            "total_insured_value": 1000000,
            "inception_date": date(2026, 1, 1),
        },
        output_formats=["json", "AUDITOR"],
        integrations=["pg", "PH"],
        workflow="default",
    )
    assert request.document_type is DocumentType.ACORD
    assert unstructure(request) == [
        ("document_type", "ACORD"),
        ("callback_url", "https://h/cb"),
        ("client_ref", "ref"),
        ("workflow", "default"),
        ("extra_data_insured_name", "Acme"),
        ("extra_data_total_insured_value", "1000000"),
        ("extra_data_inception_date", "2026-01-01"),
        ("output_formats", "json"),
        ("output_formats", "AUDITOR"),
        ("integrations", "PG"),
        ("integrations", "PH"),
    ]
    assert unstructure(ParseRequest()) == [("document_type", "SOV")]
    assert ParseRequest(document_type="LOSS_RUN").document_type is DocumentType.LOSS_RUN


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"document_type": "XLS"}, "document_type"),
        ({"update_callback_url": "ftp://x"}, "update_callback_url"),
        ({"extra_data": {"a": ["x"]}}, "extra_data.a"),
        ({"extra_data": {"": "x"}}, "extra_data"),
        ({"output_formats": ["json", ""]}, "output_formats[1]"),
        ({"workflow": " "}, "workflow"),
    ],
)
def test_parse_request_errors(kwargs: dict[str, Any], field: str) -> None:
    assert _field_of(ParseRequest, **kwargs) == field


def test_policy_terms_from_a_mapping() -> None:
    terms = policy_terms({"zone_terms": [{"zone": "AllOther", "sublimit": "1e6"}]})
    assert terms.zone_terms == [ZoneTerm(zone="AllOther", sublimit=1e6)]
    assert policy_terms(terms) is terms
    assert _field_of(policy_terms, {"layer_terms": [{"limit": "x"}]}, "terms") == (
        "terms.layer_terms[0].limit"
    )
    assert _field_of(policy_terms, "terms") == "policy_terms"


# -- requests are written by the converter, not by themselves ----------------------------

REQUEST_CLASSES = [
    UpdateStartRequest,
    OutputRequest,
    InitiateUpdateRequest,
    ParseRequest,
    PolicyTerms,
    LayerTerm,
    ZoneTerm,
]


@pytest.mark.parametrize("cls", REQUEST_CLASSES)
def test_request_models_hold_data_only(cls: type) -> None:
    methods = [
        name for name, value in vars(cls).items() if callable(value) and not name.startswith("_")
    ]
    assert methods == []


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.text(min_size=1).filter(str.strip),
            "attachment": st.integers(),
            "limit": st.floats(allow_nan=False, allow_infinity=False),
        },
    ),
    st.booleans(),
)
def test_update_start_bodies_leave_none_out(layer: dict[str, Any], with_formats: bool) -> None:
    request = UpdateStartRequest(
        policy_terms={"layer_terms": [layer]}, output_formats=["JSON"] if with_formats else None
    )
    body = unstructure(request)
    assert body["extra_data"] == {}
    assert body["policy_terms"] == {"layer_terms": [layer]}
    assert ("output_formats" in body) is with_formats
    assert None not in body.values()
