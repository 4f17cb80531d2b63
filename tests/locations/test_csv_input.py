"""The strict CSV/JSONL reader: well-formed files read back exactly, malformed ones are an
InvalidInputError naming a line, never a silent change."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovfixer_async import InvalidInputError, _csv_input
from sovfixer_async._csv_input import csv_rows, jsonl_rows

LINE_FIELD = re.compile(r"^where line (\d+)")

# Text a CSV cell may hold: anything but NUL (surrogates cannot be UTF-8).
cell_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12
)
interesting_cells = st.one_of(
    cell_text,
    st.sampled_from(["5'6\" wide", '"', '""', ",", "a,b", "line\nbreak", "cr\rhere", " ", "x\r\n"]),
)
names = (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters='\0"'),
        min_size=1,
        max_size=6,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    row = st.lists(interesting_cells, min_size=len(header), max_size=len(header)).filter(
        lambda cells: any(c.strip() for c in cells)
    )
    return header, draw(st.lists(row, min_size=1, max_size=8))


def records(header: list[str], rows: list[list[str]], terminator: str) -> list[str]:
    """Each record (header first) as csv.writer writes it."""
    out = []
    for cells in [header, *rows]:
        buffer = io.StringIO(newline="")
        # "\r\n" makes the writer quote every cell holding either character
        csv.writer(buffer, lineterminator="\r\n").writerow(cells)
        out.append(buffer.getvalue()[:-2] + terminator)
    return out


def line_count(text: str) -> int:
    """Lines as the reader counts them (universal newlines, as the csv module does)."""
    return len(re.findall(r"\r\n|\r|\n", text)) + 1


def read(text: str | bytes) -> list[dict[str, str]]:
    data = text.encode() if isinstance(text, str) else text
    return list(csv_rows(io.BytesIO(data), "where"))


def error_line(text: str | bytes) -> int:
    """The line an InvalidInputError names (and it must name one)."""
    with pytest.raises(InvalidInputError) as info:
        read(text)
    match = LINE_FIELD.match(info.value.field or "")
    assert match is not None, info.value.field
    return int(match.group(1))


@settings(max_examples=150)
@given(tables(), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_well_formed_csv_reads_back_exactly(
    table: tuple[list[str], list[list[str]]], terminator: str, bom: bool
) -> None:
    header, rows = table
    text = "".join(records(header, rows, terminator))
    data = ("\ufeff" if bom else "").encode() + text.encode()
    assert read(data) == [dict(zip(header, cells, strict=True)) for cells in rows]


@settings(max_examples=200)
@given(tables(), st.sampled_from(["\n", "\r\n"]), st.data())
def test_a_stray_quote_anywhere_is_an_error_naming_a_line(
    table: tuple[list[str], list[list[str]]], terminator: str, data: st.DataObject
) -> None:
    header, rows = table
    text = "".join(records(header, rows, terminator))
    at = data.draw(st.integers(0, len(text)))
    broken = text[:at] + '"' + text[at:]
    assert 1 <= error_line(broken) <= line_count(broken)


@given(tables(), st.data())
def test_an_unterminated_quote_names_the_line_it_opens(
    table: tuple[list[str], list[list[str]]], data: st.DataObject
) -> None:
    header, rows = table
    recs = records(header, rows, "\n")
    index = data.draw(st.integers(1, len(recs) - 1))
    # the row's first cell opens a quote that nothing closes
    recs[index] = '"' + recs[index]
    text = "".join(recs)
    line = line_count("".join(recs[:index]))
    if '"' not in "".join(recs[index + 1 :]) and '"' not in recs[index][1:]:
        assert error_line(text) == line
    else:
        error_line(text)


@given(tables(), st.data())
def test_a_nul_anywhere_is_an_error_naming_its_line(
    table: tuple[list[str], list[list[str]]], data: st.DataObject
) -> None:
    header, rows = table
    text = "".join(records(header, rows, "\n"))
    at = data.draw(st.integers(0, len(text)))
    broken = text[:at] + "\0" + text[at:]
    assert error_line(broken) == line_count(broken[:at])


@given(tables(), st.data())
def test_a_row_with_more_cells_than_the_header_names_its_line(
    table: tuple[list[str], list[list[str]]], data: st.DataObject
) -> None:
    header, rows = table
    recs = records(header, rows, "\n")
    index = data.draw(st.integers(1, len(recs) - 1))
    recs[index] = recs[index][:-1] + ",extra\n"
    line = line_count("".join(recs[: index + 1])) - 1
    assert error_line("".join(recs)) == line


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('id,address\n1,"12 Main St\n2,Oak Ave\n', 2, "a quote is never closed"),
        ('id,address\n1,"12 Main St\n2,",x"\n', 2, "quote"),
        ('id,address\n1,12" pipe\n', 2, "a quote inside an unquoted cell"),
        ('id,address\n1,"a"b\n', 2, "',' expected"),
        ("id,address\n1,a\x00b\n", 2, "NUL"),
        ("id,address\n1,a\n2,b,c\n", 3, "3 fields but the header has 2"),
        ('id,"addr\n', 1, "malformed CSV header"),
        ('id,ad"dr\n1,2\n', 1, "quote inside an unquoted cell"),
    ],
)
def test_malformed_examples(text: str, line: int, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        read(text)
    assert info.value.field == f"where line {line}"


def test_legitimate_quoting_is_read() -> None:
    text = 'id,address\n1,"12 Main St, Miami"\n2,"5\'6"" wide"\n3,"two\nlines"\n\n4,\n'
    assert read(text) == [
        {"id": "1", "address": "12 Main St, Miami"},
        {"id": "2", "address": "5'6\" wide"},
        {"id": "3", "address": "two\nlines"},
        {"id": "4", "address": ""},
    ]


def test_old_mac_line_ends_and_short_rows() -> None:
    assert read("id,address\r1,a\r2\r") == [{"id": "1", "address": "a"}, {"id": "2"}]


def test_origins_are_the_lines_rows_end_on() -> None:
    origins: list[int] = []
    rows = list(csv_rows(io.BytesIO(b'a,b\n1,2\n\n3,"x\ny"\n4,5\n'), "w", origins=origins))
    assert [r["a"] for r in rows] == ["1", "3", "4"]
    assert origins == [2, 5, 6]


def test_not_utf8_names_the_line_and_byte() -> None:
    data = b"id,address\n1,ok\n2,caf\xe9\n"
    with pytest.raises(InvalidInputError, match=r"not UTF-8 text \(byte 21\)") as info:
        read(data)
    assert info.value.field == "where line 3"


def test_long_lines_rows_and_cells_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_csv_input, "MAX_LINE_CHARS", 100)
    monkeypatch.setattr(_csv_input, "MAX_RECORD_CHARS", 300)
    with pytest.raises(InvalidInputError, match="a line longer than 100") as info:
        read("id,address\n1," + "x" * 200 + "\n")
    assert info.value.field == "where line 2"
    with pytest.raises(InvalidInputError, match="line longer"):
        read("id,address\n1," + "x" * 10_000_000)  # one line, no newline: never read whole
    many_lines = 'id,address\n1,"' + "x\n" * 400 + '"\n'
    with pytest.raises(InvalidInputError, match="a row longer than 300"):
        read(many_lines)
    assert read('id,address\n1,"' + "x\n" * 50 + '"\n')[0]["address"] == "x\n" * 50


def test_a_cell_over_the_csv_field_limit_is_an_error() -> None:
    limit = csv.field_size_limit()
    with pytest.raises(InvalidInputError, match="a cell longer than") as info:
        read('id,address\n1,"' + "x\n" * (limit // 2 + 1) + '"\n')
    assert info.value.field == "where line 2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n1,2\n", "blank"),
        ("a,,b\n", "blank column"),
        ("a,a\n1,2\n", "repeated"),
    ],
)
def test_bad_headers(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read(text)


def test_jsonl_rows() -> None:
    data = b'{"id": "a"}\n\n{"id": "b"}\n'
    assert list(jsonl_rows(io.BytesIO(data), "w")) == [{"id": "a"}, {"id": "b"}]
    with pytest.raises(InvalidInputError, match="not JSON") as info:
        list(jsonl_rows(io.BytesIO(b'{"id": "a"}\n{"id": \n'), "w"))
    assert info.value.field == "w line 2"
    with pytest.raises(InvalidInputError, match="JSON object") as info:
        list(jsonl_rows(io.BytesIO(b'{"id": "a"}\n\n[1]\n'), "w"))
    assert info.value.field == "w line 3"
    with pytest.raises(InvalidInputError, match="NUL"):
        list(jsonl_rows(io.BytesIO(b'{"id": "a\x00"}\n'), "w"))


def test_not_utf8_far_into_a_file_names_its_line() -> None:
    # past the locator's 64 KiB chunks, with characters cut by a chunk boundary
    data = b"id,address\n" + "1,café\n".encode() * 20_000 + b"2,bad\xff\n"
    bad = data.index(b"\xff")
    with pytest.raises(InvalidInputError, match=f"byte {bad}") as info:
        read(data)
    assert info.value.field == "where line 20002"


def test_a_header_error_names_line_1() -> None:
    # found by the stray-quote test: a quote before the header makes its cells "0\n"
    # and "\n" (well-formed CSV), the second blank
    assert error_line('"0\n","\n"\r0"\n') == 1
    assert error_line("a,a\n1,2\n") == 1
