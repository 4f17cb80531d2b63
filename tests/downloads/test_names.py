"""File names from untrusted values: safe_filename, Content-Disposition, unique names."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from attrs import frozen
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._downloads import (
    output_names,
    parse_content_disposition,
    safe_filename,
    served_name,
    unique_names,
)

# -- names: properties ---------------------------------------------------------------------


@given(st.text(), st.text())
def test_safe_filename_properties(name: str, fallback: str) -> None:
    safe = safe_filename(name, fallback=fallback)
    assert safe
    assert not {"/", "\\", "\x00"} & set(safe)
    assert safe not in (".", "..")
    assert not safe.startswith(".")
    assert len(safe.encode()) <= 200
    assert all(ord(c) >= 32 for c in safe)
    assert safe_filename(safe, fallback="other") == safe
    root = Path("/srv/dest")
    assert os.path.normpath(root / safe).startswith(str(root) + os.sep)
    assert os.path.dirname(os.path.normpath(root / safe)) == str(root)


@given(
    st.text(st.characters(exclude_characters="/\\.:"), min_size=1).filter(
        lambda s: safe_filename(s, fallback="-") != "-"
    )
)
def test_safe_filename_keeps_the_extension_of_long_names(stem: str) -> None:
    safe = safe_filename(stem * 300 + ".json", fallback="x")
    assert safe.endswith(".json")
    assert len(safe.encode()) <= 200


def test_safe_filename_examples() -> None:
    assert safe_filename(None, fallback="out.json") == "out.json"
    assert safe_filename("", fallback="../..") == "download"
    assert safe_filename("report 2024.xlsx", fallback="x") == "report 2024.xlsx"
    assert safe_filename("..\\..\\boot.ini", fallback="x") == "boot.ini"
    assert safe_filename("aux.tar.gz", fallback="x") == "_aux.tar.gz"
    assert safe_filename("  .hidden  ", fallback="x") == "hidden"


@given(st.text())
def test_disposition_extended_roundtrip(name: str) -> None:
    """``filename*`` (RFC 5987) wins; one that is not valid UTF-8 (here: lone surrogates)
    or is empty gives way to ``filename`` (aiohttp drops an undecodable parameter)."""
    raw = name.encode("utf-8", "surrogatepass")
    encoded = urllib.parse.quote(raw, safe="")
    header = f"attachment; filename=\"fallback.bin\"; filename*=UTF-8''{encoded}"
    try:
        expected = raw.decode("utf-8")
    except UnicodeDecodeError:
        expected = ""
    assert parse_content_disposition(header) == (expected or "fallback.bin")


@given(st.text().filter(lambda s: s == s.strip()))
def test_disposition_quoted_roundtrip(name: str) -> None:
    """A quoted ``filename`` with backslash escapes; aiohttp's parser drops leading ``/``
    and ``\\``, which leaves the sanitised name (the last path component) unchanged."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    header = f'attachment; size=3; filename="{quoted}"; creation-date="a; b"'
    parsed = parse_content_disposition(header)
    expected = name.lstrip("/\\") or None
    if ";" in name:
        # aiohttp's parser gives up on some ``;`` sequences inside quotes (``;;``, ``";"``)
        # and drops the whole header: then no name, never a wrong one.
        assert parsed in (expected, None)
    else:
        assert parsed == expected
    if parsed is not None:
        assert safe_filename(parsed, fallback="f") == safe_filename(name, fallback="f")


def test_disposition_examples() -> None:
    assert parse_content_disposition(None) is None
    assert parse_content_disposition("inline") is None
    assert parse_content_disposition("attachment; filename=plain.json") == "plain.json"
    assert parse_content_disposition('attachment; FILENAME="a;b.json"') == "a;b.json"
    assert (
        parse_content_disposition("attachment; filename*=iso-8859-1'en'%A3%20rates.txt")
        == "\u00a3 rates.txt"
    )
    assert parse_content_disposition('attachment; note="filename=x"; filename="y"') == "y"
    assert parse_content_disposition('attachment; filename="/etc/passwd"') == "etc/passwd"
    assert parse_content_disposition("attachment; filename*=UTF-8''%ff%fe") is None
    assert parse_content_disposition("attachment; filename*=x-unknown''abc; filename=b") == "abc"
    assert parse_content_disposition('attachment; filename="a"; filename="b"') is None
    assert parse_content_disposition("attachment; filename*0=a; filename*1=b.json") == "ab.json"


# -- unique names --------------------------------------------------------------------------


@given(st.lists(st.one_of(st.none(), st.text(max_size=300)), max_size=12))
def test_unique_names_are_distinct_safe_and_stay_inside(names: list[str | None]) -> None:
    fallbacks = [f"output-{i}" for i in range(len(names))]
    unique = unique_names(names, fallbacks)
    assert unique == unique_names(names, fallbacks)  # deterministic
    assert len({u.casefold() for u in unique}) == len(names)
    root = Path("/srv/dest")
    for name, fallback, got in zip(names, fallbacks, unique, strict=True):
        assert safe_filename(got, fallback="other") == got
        assert len(got.encode()) <= 200
        assert os.path.dirname(os.path.normpath(root / got)) == str(root)
        if got != safe_filename(name, fallback=fallback):  # renamed: numbered, same extension
            assert " (" in got
    if names:  # the first holder of a name keeps it
        assert unique[0] == safe_filename(names[0], fallback=fallbacks[0])


def test_unique_names_examples() -> None:
    assert unique_names(["out.json", "out.json", "OUT.json", "../out.json", None, None]) == [
        "out.json",
        "out (2).json",
        "OUT (3).json",
        "out (4).json",
        "download",
        "download (2)",
    ]
    long = "x" * 300 + ".xlsx"
    first, second = unique_names([long, long])
    assert first.endswith("x.xlsx")
    assert second.endswith("x (2).xlsx")
    assert len(second.encode()) <= 200


def test_output_names_fall_back_to_the_url() -> None:
    @frozen
    class Out:
        url: str
        filename: str | None

    outputs = [
        Out("https://h/api/v1/sov/s/output/a.json", None),
        Out("https://h/api/v1/sov/s/output/a.json", "a.json"),
        Out("https://h/", None),
    ]
    assert output_names(outputs) == ["a.json", "a (2).json", "output-3"]


@given(
    st.one_of(
        st.none(), st.text(), st.builds(lambda v: f"attachment; filename*=UTF-8''{v}", st.text())
    ),
    st.text(),
)
def test_served_names_stay_inside_the_folder(disposition: str | None, tail: str) -> None:
    """Whatever the server says (disposition, URL path), the file lands in the folder."""
    url = "https://files.example/api/v1/sov/s-1/output/" + urllib.parse.quote(tail, safe="/%")
    name = served_name(disposition, url)
    assert safe_filename(name, fallback="other") == name
    root = Path("/srv/dest")
    assert os.path.dirname(os.path.normpath(root / name)) == str(root)
    assert os.path.realpath(root / name).startswith(str(root) + os.sep)
