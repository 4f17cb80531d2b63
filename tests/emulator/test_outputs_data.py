"""The emulator's outputs module: xlsx reading and writing, buildings, rendered outputs.

(``test_outputs.py`` beside this file drives get_or_create_output over HTTP.)
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import time
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sovfixer_async.emulator.limits import UploadLimits
from sovfixer_async.emulator.outputs import (
    WorkbookError,
    buildings_from_rows,
    make_xlsx,
    read_xlsx,
    render_output,
    seed_buildings,
    sheet_title,
    synthetic_buildings,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
SEED_KEYS = [
    "item_key",
    "building_counter",
    "sheet_name",
    "sheet_row_number",
    "parsing_sheet_name",
    "bldg_name",
    "street",
    "city",
    "state",
    "zip",
    "county",
    "country",
    "latitude",
    "longitude",
    "occupancy__desc_ping",
    "const__desc_ping",
    "const__bldg_year_built",
    "const__num_stories",
    "const__bldg_area",
    "limits__building_limit",
    "limits__bpp_limit",
    "limits__bi_limit",
]


def package(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return buffer.getvalue()


def workbook_parts(
    sheets: list[tuple[str, str]], *, ns: str = MAIN, rel_ns: str = RELS
) -> dict[str, str | bytes]:
    """Workbook and rels parts listing ``(sheet name, worksheet target)`` in order."""
    entries = "".join(
        f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _) in enumerate(sheets, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{rel_ns}/worksheet" Target="{target}"/>'
        for i, (_, target) in enumerate(sheets, start=1)
    )
    return {
        "[Content_Types].xml": "<Types/>",
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{rel_ns}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{ns}" xmlns:r="{rel_ns}"><sheets>{entries}'
        "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">{rels}</Relationships>',
    }


def sheet(rows: str, ns: str = MAIN) -> str:
    return f'<worksheet xmlns="{ns}"><sheetData>{rows}</sheetData></worksheet>'


# -- hand-built workbooks ---------------------------------------------------------------------


def test_shared_strings_sparse_cells_booleans_and_the_first_listed_sheet() -> None:
    """The first sheet is the one workbook.xml lists first, whatever its file is called."""
    parts = workbook_parts(
        [("Locations", "worksheets/sheet2.xml"), ("Notes", "worksheets/sheet1.xml")]
    )
    parts["xl/sharedStrings.xml"] = (
        f'<sst xmlns="{MAIN}"><si><t>Building Name</t></si><si><t>City</t></si>'
        "<si><r><t>Head</t></r><r><rPr><b/></rPr><t>quarters</t></r>"
        "<rPh><t>ignored</t></rPh></si>"
        "<si><t xml:space=\"preserve\"> Miami </t></si><si><t>Sprinklered</t></si></sst>"
    )  # fmt: skip
    parts["xl/worksheets/sheet2.xml"] = sheet(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c>'
        '<c r="D1" t="s"><v>4</v></c><c r="E1" t="inlineStr"><is><t>Value</t></is></c>'
        '<c r="F1" t="inlineStr"><is><t>Note</t></is></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="C2" t="s"><v>3</v></c>'
        '<c r="D2" t="b"><v>1</v></c><c r="E2"><v>1250000</v></c>'
        '<c r="F2" t="str"><f>A2</f><v>formula text</v></c></row>'
        '<row r="3"><c r="B3"><v>7</v></c></row>'  # only a column without a header
        '<row r="5"><c r="A5" t="inlineStr"><is><t>Depot</t></is></c>'
        '<c r="D5" t="b"><v>0</v></c><c r="E5"><v>2.5</v></c><c r="F5" t="e"><v>#N/A</v></c>'
        "</row>"
        '<row r="6"><c r="A6"><v>1E3</v></c><c r="E6" t="n"><v>-0</v></c></row>'
        '<row r="7"><c r="A7" t="inlineStr"><is><t>   </t></is></c></row>'
    )
    parts["xl/worksheets/sheet1.xml"] = sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Not this</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>one</t></is></c></row>'
    )
    name, rows = read_xlsx(package(parts))
    assert name == "Locations"
    assert rows == [
        {
            "Building Name": "Headquarters",
            "City": " Miami ",
            "Sprinklered": True,
            "Value": 1250000,
            "Note": "formula text",
            "sheet_row_number": 2,
        },
        {
            "Building Name": "Depot",
            "Sprinklered": False,
            "Value": 2.5,
            "Note": "#N/A",
            "sheet_row_number": 5,
        },
        {"Building Name": 1000, "Value": 0, "sheet_row_number": 6},
    ]
    assert type(rows[0]["Value"]) is int
    assert type(rows[2]["Building Name"]) is int


def test_cells_and_rows_without_references_follow_the_previous_one() -> None:
    parts = workbook_parts([("S", "worksheets/sheet1.xml")])
    parts["xl/worksheets/sheet1.xml"] = sheet(
        '<row><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b</t></is></c>'
        '<c r="D1" t="inlineStr"><is><t>d</t></is></c><c t="inlineStr"><is><t>e</t></is></c></row>'
        "<row><c><v>1</v></c><c><v>2</v></c></row>"
        '<row r="9"><c r="E9"><v>5</v></c></row>'
        "<row><c><v>10</v></c></row>"
    )
    assert read_xlsx(package(parts)) == (
        "S",
        [
            {"a": 1, "b": 2, "sheet_row_number": 2},
            {"e": 5, "sheet_row_number": 9},
            {"a": 10, "sheet_row_number": 10},
        ],
    )


def test_strict_ooxml_namespaces_and_absolute_targets() -> None:
    strict_main = "http://purl.oclc.org/ooxml/spreadsheetml/main"
    strict_rels = "http://purl.oclc.org/ooxml/officeDocument/relationships"
    parts = workbook_parts(
        [("Strict", "/xl/worksheets/data.xml")], ns=strict_main, rel_ns=strict_rels
    )
    parts["xl/worksheets/data.xml"] = sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>k</t></is></c></row>'
        '<row r="2"><c r="A2"><v>3.25</v></c></row>',
        ns=strict_main,
    )
    assert read_xlsx(package(parts)) == ("Strict", [{"k": 3.25, "sheet_row_number": 2}])


def test_duplicate_and_blank_headers() -> None:
    data = make_xlsx("S", ["City", "", "City", "  ", "City", "N"], [["a", "b", "c", "d", "e", 1]])
    assert read_xlsx(data)[1] == [
        {"City": "a", "City (2)": "c", "City (3)": "e", "N": 1, "sheet_row_number": 2}
    ]


def bad_sheet(rows: str) -> bytes:
    parts = workbook_parts([("S", "worksheets/sheet1.xml")])
    parts["xl/worksheets/sheet1.xml"] = sheet(rows)
    return package(parts)


def without(name: str) -> bytes:
    parts = workbook_parts([("S", "worksheets/sheet1.xml")])
    parts["xl/worksheets/sheet1.xml"] = sheet('<row r="1"><c r="A1"><v>1</v></c></row>')
    del parts[name]
    return package(parts)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not a zip at all", id="not-zip"),
        pytest.param(b"PK\x03\x04" + b"\0" * 40, id="broken-zip"),
        pytest.param(package({"hello.txt": "hi"}), id="zip-not-workbook"),
        pytest.param(without("xl/workbook.xml"), id="no-workbook"),
        pytest.param(without("xl/_rels/workbook.xml.rels"), id="no-rels"),
        pytest.param(without("xl/worksheets/sheet1.xml"), id="no-sheet"),
        pytest.param(bad_sheet("<row r='1'><c r='A1'><v>1</v></c>"), id="bad-xml"),
        pytest.param(bad_sheet(""), id="no-rows"),
        pytest.param(bad_sheet('<row r="2"><c r="A2"><v>1</v></c></row>'), id="no-header-row"),
        pytest.param(
            bad_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t> </t></is></c></row>'),
            id="blank-header",
        ),
        pytest.param(bad_sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), id="no-sst"),
        pytest.param(bad_sheet('<row r="1"><c r="A1" t="s"><v>-1</v></c></row>'), id="neg-sst"),
        pytest.param(bad_sheet('<row r="x"><c r="A1"><v>1</v></c></row>'), id="bad-row-ref"),
        pytest.param(bad_sheet('<row r="0"><c r="A1"><v>1</v></c></row>'), id="row-zero"),
        pytest.param(bad_sheet('<row r="1"><c r="ZZZ1"><v>1</v></c></row>'), id="col-range"),
        pytest.param(
            package({**workbook_parts([]), "xl/worksheets/sheet1.xml": sheet("")}),
            id="no-sheets-listed",
        ),
    ],
)
def test_unreadable_workbooks_raise_workbook_error(data: bytes) -> None:
    with pytest.raises(WorkbookError):
        read_xlsx(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_workbook_error(data: bytes) -> None:
    with contextlib.suppress(WorkbookError):
        read_xlsx(data)


VALID = make_xlsx("Sheet1", ["a", "b"], [["x", 1], [2.5, True]])


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, len(VALID)),
)
def test_mutated_workbooks_raise_only_workbook_error(
    edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(VALID)
    for at, value in edits:
        data[at] = value
    with contextlib.suppress(WorkbookError):
        read_xlsx(bytes(data[:cut] if cut else data))


@settings(max_examples=200, deadline=None)
@given(xml=st.text(max_size=300), shared=st.text(max_size=100))
def test_hostile_part_contents_raise_only_workbook_error(xml: str, shared: str) -> None:
    parts = workbook_parts([("S", "worksheets/sheet1.xml")])
    parts["xl/worksheets/sheet1.xml"] = sheet(xml)
    parts["xl/sharedStrings.xml"] = shared
    for data in (package(parts), package({**parts, "xl/worksheets/sheet1.xml": xml})):
        with contextlib.suppress(WorkbookError):
            read_xlsx(data)


def test_entity_expansion_is_refused() -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    parts = workbook_parts([("S", "worksheets/sheet1.xml")])
    parts["xl/worksheets/sheet1.xml"] = f"<!DOCTYPE w [{entities}]>" + sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&e9;</t></is></c></row>'
    )
    with pytest.raises(WorkbookError):
        read_xlsx(package(parts))


def test_oversized_parts_are_refused() -> None:
    with pytest.raises(WorkbookError, match="too large"):
        read_xlsx(make_xlsx("S", ["a"], [["x" * 200]]), UploadLimits(max_part_bytes=100))


# -- writing and the round trip ---------------------------------------------------------------


def test_make_xlsx_is_a_minimal_valid_package() -> None:
    data = make_xlsx("Sheet1", ["bldg_name", "city"], [["HQ", "Miami"], ["Depot", None]])
    assert data == make_xlsx("Sheet1", ["bldg_name", "city"], [["HQ", "Miami"], ["Depot", None]])
    book = zipfile.ZipFile(io.BytesIO(data))
    assert book.testzip() is None
    names = book.namelist()
    assert names[0] == "[Content_Types].xml"
    assert {
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/worksheets/sheet1.xml",
    } <= set(names)
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in book.infolist())
    types = book.read("[Content_Types].xml").decode()
    assert "spreadsheetml.sheet.main+xml" in types
    assert "worksheet+xml" in types
    assert read_xlsx(data) == (
        "Sheet1",
        [
            {"bldg_name": "HQ", "city": "Miami", "sheet_row_number": 2},
            {"bldg_name": "Depot", "sheet_row_number": 3},
        ],
    )


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Sheet1", "Sheet1"),
        ("Original SOV Sheet", "Original SOV Sheet"),
        ("a/b:c?d*e[f]g\\h", "a_b_c_d_e_f_g_h"),
        ("x" * 40, "x" * 31),
        ("😀" * 20, "😀" * 15),  # 31 UTF-16 units at most
        ("'quoted'", "quoted"),
        ("", "Sheet1"),
        ("   ", "Sheet1"),
        ("History", "History_"),
        (" spaced ", " spaced "),
        ("tab\there", "tab_here"),
    ],
)
def test_sheet_titles(name: str, title: str) -> None:
    assert sheet_title(name) == title
    assert read_xlsx(make_xlsx(name, ["h"], [["v"]]))[0] == title


def comparable(value: object) -> tuple[str, object]:
    """What a cell reads back as: integral floats come back as ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return ("int", int(value))
    return (type(value).__name__, value)


CELL = (
    st.none()
    | st.text(max_size=20)
    | st.sampled_from(["_x0041_", "_x005F_", "a & b < c > d \"'", "\r\n", " lead", "trail "])
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(max_size=40),
    header=st.lists(
        st.text(min_size=1, max_size=15).filter(lambda h: h.strip() != ""),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    rows=st.lists(st.lists(CELL, max_size=6), max_size=8),
)
def test_round_trip(name: str, header: list[str], rows: list[list[object]]) -> None:
    assume("sheet_row_number" not in header)
    rows = [row[: len(header)] for row in rows]
    data = make_xlsx(name, header, rows)
    assert data == make_xlsx(name, header, rows)
    read_name, read_rows = read_xlsx(data)
    assert read_name == sheet_title(name)
    if name == sheet_title(name):
        assert read_name == name
    expected = []
    for number, row in enumerate(rows, start=2):
        record = {h: v for h, v in zip(header, row, strict=False) if v is not None}
        if all(isinstance(v, str) and not v.strip() for v in record.values()):
            continue
        expected.append((number, {h: comparable(v) for h, v in record.items()}))
    got = [
        (r["sheet_row_number"], {h: comparable(v) for h, v in r.items() if h != "sheet_row_number"})
        for r in read_rows
    ]
    assert got == expected


def test_special_values_are_written_as_text() -> None:
    rows: list[list[object]] = [[math.nan, math.inf, {"k": [1, 2]}, [1], "ok"]]
    _, [row] = read_xlsx(make_xlsx("S", ["a", "b", "c", "d", "e"], rows))
    assert row == {"a": "nan", "b": "inf", "c": '{"k": [1, 2]}', "d": "[1]", "e": "ok",
                   "sheet_row_number": 2}  # fmt: skip


# -- buildings --------------------------------------------------------------------------------


def test_seed_buildings() -> None:
    buildings: list[dict[str, Any]] = seed_buildings("s-no-ping-hggcsk")
    assert len(buildings) == 26
    assert buildings == seed_buildings("s-no-ping-hggcsk")
    for n, building in enumerate(buildings, start=1):
        assert list(building) == SEED_KEYS
        assert building["item_key"] == f"i-s-no-ping-hggcsk!Sheet1!{n + 1}"
        assert building["building_counter"] == n
        assert building["sheet_row_number"] == n + 1
        assert building["sheet_name"] == building["parsing_sheet_name"] == "Sheet1"
        assert building["country"] == "US"
        assert 1900 <= building["const__bldg_year_built"] <= 2025
        assert 1 <= building["const__num_stories"] <= 20
        assert building["const__bldg_area"] >= 1_000
        building_limit = building["limits__building_limit"]
        assert isinstance(building_limit, int)
        assert building_limit > 0
        assert 0 < building["limits__bpp_limit"] < building_limit
        assert 0 < building["limits__bi_limit"] < building_limit
        assert 24 < building["latitude"] < 35
        assert -99 < building["longitude"] < -79
        assert isinstance(building["zip"], str)
        assert len(building["zip"]) == 5
    for key in ("city", "occupancy__desc_ping", "const__desc_ping", "limits__building_limit"):
        assert len({b[key] for b in buildings}) >= 3, key
    assert len({b["bldg_name"] for b in buildings}) == 26
    assert len(seed_buildings("s", count=3)) == 3
    assert seed_buildings("s", count=0) == []
    assert seed_buildings("other")[0]["item_key"] == "i-other!Sheet1!2"


def test_synthetic_buildings() -> None:
    first = synthetic_buildings("s-em-ping-abc123", "sov.xls")
    assert len(first) == 12
    assert first == synthetic_buildings("s-em-ping-abc123", "sov.xls")
    assert first != synthetic_buildings("s-em-ping-abc123", "sov.pdf")
    assert all(list(b) == SEED_KEYS for b in first)
    assert [b["sheet_row_number"] for b in first] == list(range(2, 14))
    assert first[0]["item_key"] == "i-s-em-ping-abc123!Sheet1!2"
    assert len(synthetic_buildings("s", "a.xlsb", count=5)) == 5


def test_buildings_from_rows_maps_common_headers() -> None:
    header = ["Location Name", "Street Address", "CITY", "State", "Zip Code", "TIV",
              "Building Value", "Year Built", "# of Stories", "Construction Type", "Occupancy",
              "Roof Type", "Sheet Name", "const__roof_covering"]  # fmt: skip
    rows: list[list[object]] = [
        ["HQ ", "1 Main St", "Miami", "FL", 2108, "$9,999", "$1,250,000", 1999.0, "3",
         "Frame", "Office", "Metal", "Other", "Tile"],
        ["Depot", "2 Dock Rd", "Tampa", "FL", "33602", 2_500_000, None, "unknown", 2, "JM",
         "Warehouse", None, None, None],
    ]  # fmt: skip
    name, read = read_xlsx(make_xlsx("Locations", header, rows))
    buildings = buildings_from_rows("s-x", name, read)
    assert buildings[0] == {
        "item_key": "i-s-x!Locations!2",
        "building_counter": 1,
        "sheet_name": "Locations",
        "sheet_row_number": 2,
        "parsing_sheet_name": "Locations",
        "bldg_name": "HQ",
        "street": "1 Main St",
        "city": "Miami",
        "state": "FL",
        "zip": "02108",
        "const__desc_ping": "Frame",
        "occupancy__desc_ping": "Office",
        "const__bldg_year_built": 1999,
        "const__num_stories": 3,
        "limits__building_limit": 1250000,  # Building Value beats TIV
        "const__roof_covering": "Tile",
        "roof_type": "Metal",
        "source_sheet_name": "Other",
    }
    assert list(buildings[0])[:14] == [k for k in SEED_KEYS if k in buildings[0]][:14]
    second = buildings[1]
    assert second["limits__building_limit"] == 2_500_000  # TIV when there is nothing better
    assert second["const__bldg_year_built"] == "unknown"  # not a number: kept as written
    assert second["zip"] == "33602"
    assert second["item_key"] == "i-s-x!Locations!3"


def test_buildings_from_rows_keeps_ping_names_and_identity() -> None:
    rows = [{"bldg_name": "A", "limits__building_limit": 5, "item_key": "forged",
             "Weird Column!": "w", "sheet_row_number": 7}]  # fmt: skip
    [building] = buildings_from_rows("s", "Sheet1", rows)
    assert building["item_key"] == "i-s!Sheet1!7"
    assert building["limits__building_limit"] == 5
    assert building["source_item_key"] == "forged"
    assert building["weird_column"] == "w"
    assert buildings_from_rows("s", "Sheet1", []) == []


# -- rendered outputs -------------------------------------------------------------------------

SOV: dict[str, Any] = {
    "id": "s-no-ping-hggcsk",
    "source_filename": "parse_sov_testfile.xlsx",
    "num_buildings": 26,
    "extra_data": {"insured_name": "Joe Insured"},
    "buildings": seed_buildings("s-no-ping-hggcsk"),
}


def strict_json(data: bytes) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(name)

    return json.loads(data, parse_constant=refuse)


def test_json_output_is_the_contracts_document() -> None:
    data = render_output(SOV, "JSON", "json")
    document = strict_json(data)
    assert list(document) == ["id", "source_filename", "num_buildings", "extra_data", "buildings"]
    assert document["id"] == "s-no-ping-hggcsk"
    assert document["num_buildings"] == 26
    assert document["extra_data"] == {"insured_name": "Joe Insured"}
    assert document["buildings"] == SOV["buildings"]
    assert list(document["buildings"][0])[:5] == SEED_KEYS[:5]
    assert render_output(SOV, "json", ".JSON") == data
    debug = strict_json(render_output(SOV, "DEBUGJSON", "json"))
    assert debug["buildings"] == SOV["buildings"]
    assert debug["debug"]["output_format"] == "DEBUGJSON"
    assert debug["debug"]["columns"] == SEED_KEYS
    assert debug["debug"]["fill_rates"]["bldg_name"] == 1.0


def test_xlsx_output_is_a_workbook_of_the_buildings() -> None:
    data = render_output(SOV, "AUDITOR", "xlsx")
    name, rows = read_xlsx(data)
    assert name == "Auditor"
    assert len(rows) == 26
    assert rows[0]["item_key"] == "i-s-no-ping-hggcsk!Sheet1!2"
    assert rows[3] == SOV["buildings"][3]  # its sheet_row_number happens to be its row here
    macro = render_output(SOV, "AUDITOR", "xlsm")
    assert b"macroEnabled" in zipfile.ZipFile(io.BytesIO(macro)).read("[Content_Types].xml")


def test_csv_output() -> None:
    data = render_output(SOV, "CSVFORMAT", "csv")
    table = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(table) == 26
    assert table[0]["item_key"] == "i-s-no-ping-hggcsk!Sheet1!2"
    assert list(table[0]) == SEED_KEYS


def test_empty_and_odd_sovs_render() -> None:
    empty = strict_json(render_output({"id": "s"}, "JSON", "json"))
    assert empty == {"id": "s", "source_filename": None, "num_buildings": 0, "extra_data": {},
                     "buildings": []}  # fmt: skip
    assert read_xlsx(render_output({"id": "s", "buildings": [{"a": 1}]}, "AUDITOR", "xlsx"))[1]
    odd = {"id": "s", "buildings": [{"x": math.nan, "y": [math.inf]}]}
    assert strict_json(render_output(odd, "JSON", "json"))["buildings"] == [
        {"x": "nan", "y": ["inf"]}
    ]


@settings(max_examples=40, deadline=None)
@given(
    fmt_ext=st.sampled_from(
        [("JSON", "json"), ("DEBUGJSON", "json"), ("AUDITOR", "xlsx"), ("X", "csv"), ("Y", "pdf")]
    ),
    pad_to=st.integers(0, 300_000) | st.sampled_from([0, 1, 19_000, 19_800, 20_000]),
    count=st.integers(0, 5),
)
def test_render_is_deterministic_valid_and_padded(
    fmt_ext: tuple[str, str], pad_to: int, count: int
) -> None:
    fmt, ext = fmt_ext
    sov = {**SOV, "buildings": SOV["buildings"][:count]}
    data = render_output(sov, fmt, ext, pad_to=pad_to)
    assert len(data) >= pad_to
    assert render_output(sov, fmt, ext, pad_to=pad_to) == data
    if ext == "xlsx":
        book = zipfile.ZipFile(io.BytesIO(data))
        assert book.testzip() is None
        if count:
            assert len(read_xlsx(data)[1]) == count
        unpadded = len(render_output(sov, fmt, ext))
        if pad_to > unpadded:
            assert len(data) == pad_to
        if pad_to > unpadded + 116:  # smaller gaps are filled by the zip comment
            assert book.getinfo("docProps/padding.bin").compress_type == zipfile.ZIP_STORED
    elif ext == "csv":
        assert len(list(csv.reader(io.StringIO(data.decode())))) >= count + 1
    else:
        assert strict_json(data)["num_buildings"] == count
        assert data.rstrip() == render_output(sov, fmt, ext).rstrip()


def test_large_padding_is_fast() -> None:
    size = 32 * 1024 * 1024
    for fmt, ext in (("JSON", "json"), ("AUDITOR", "xlsx")):
        start = time.perf_counter()
        data = render_output(SOV, fmt, ext, pad_to=size)
        elapsed = time.perf_counter() - start
        print(f"render_output {fmt} padded to {size:,} bytes: {elapsed:.3f}s")
        assert size <= len(data) < size + 1024
        assert elapsed < 5
        if ext == "xlsx":
            assert len(read_xlsx(data)[1]) == 26
        else:
            assert strict_json(data)["num_buildings"] == 26


@pytest.mark.slow
def test_padding_to_200_megabytes() -> None:
    size = 200 * 1024 * 1024
    for fmt, ext in (("JSON", "json"), ("AUDITOR", "xlsx")):
        start = time.perf_counter()
        data = render_output(SOV, fmt, ext, pad_to=size)
        elapsed = time.perf_counter() - start
        print(f"render_output {fmt} padded to {size:,} bytes: {elapsed:.3f}s")
        assert len(data) >= size
        assert elapsed < 10
        del data
