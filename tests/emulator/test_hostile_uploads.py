"""Hostile uploads: bombs built here (small on disk, huge inflated), sent over HTTP.

Each class of hostile body gets its 4xx answer (or, for a workbook, the parse job's
``FAILED_TO_READ``, contract 12.1) and the emulator still answers ``/_emulator/health``.
Memory is asserted through the peak RSS of an emulator process (slow) and of a child
process reading the bombs (``resource.getrusage``); never through timing.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovfixer_async.emulator import xlsx_read
from sovfixer_async.emulator.json_bounded import JSONInvalid, JSONTooLarge, loads
from sovfixer_async.emulator.limits import UploadLimits
from sovfixer_async.emulator.outputs import WorkbookError, make_xlsx, read_xlsx

MIB = 1024 * 1024
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"


# -- bomb builders --------------------------------------------------------------------------


def with_sheet(chunks: Any, *, size: int | None = None) -> bytes:
    """A valid workbook whose first sheet's XML is the concatenation of ``chunks``."""
    template = zipfile.ZipFile(io.BytesIO(make_xlsx("Sheet1", ["a"], [["x"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for info in template.infolist():
            if info.filename != SHEET:
                book.writestr(info.filename, template.read(info))
        entry = zipfile.ZipInfo(SHEET)
        entry.compress_type = zipfile.ZIP_DEFLATED
        if size is not None:
            entry.file_size = size  # so zipfile picks no zip64 header for a large member
        with book.open(entry, "w") as sheet:
            for chunk in chunks:
                sheet.write(chunk)
    return out.getvalue()


def spaces_sheet(inflated: int) -> bytes:
    """A sheet of ``inflated`` bytes, nearly all of them whitespace (compresses ~1000:1)."""
    head = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    tail = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row></sheetData></worksheet>'
    body = inflated - len(head) - len(tail)
    chunk = b" " * MIB
    chunks = [head, *(chunk for _ in range(body // MIB)), b" " * (body % MIB), tail]
    return with_sheet(chunks, size=inflated)


def lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """``data`` with member ``name``'s uncompressed size rewritten (local and central)."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    struct.pack_into("<I", out, info.header_offset + 22, declared)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len, extra, comment = struct.unpack_from("<3H", out, at + 28)
        if out[at + 46 : at + 46 + name_len] == name.encode():
            struct.pack_into("<I", out, at + 24, declared)
        at = out.find(b"PK\x01\x02", at + 46 + name_len + extra + comment)
    return bytes(out)


def claim_entries(data: bytes, entries: int) -> bytes:
    """``data`` whose end record claims ``entries`` entries."""
    out = bytearray(data)
    at = out.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", out, at + 8, entries, entries)
    return bytes(out)


def many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for n in range(count):
            book.writestr(f"x/{n}", b"")
    return out.getvalue()


def gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of ``inflated`` bytes of JSON whitespace (compresses ~1000:1)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as stream:
        stream.write(b'{"locations": [')
        chunk = b" " * MIB
        for _ in range(inflated // MIB):
            stream.write(chunk)
        stream.write(b'], "sources": ["GG"]}')
    return out.getvalue()


def upload(data: bytes, filename: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    return form


# -- over HTTP ------------------------------------------------------------------------------


async def healthy(api: Any) -> None:
    assert await api.control("/_emulator/health") == {"status": "ok"}


async def send(api: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with api.http.request(method, api.url(path), **kwargs) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


@pytest.mark.parametrize(
    "workbook",
    [
        pytest.param(lambda: spaces_sheet(100 * MIB), id="declares-100MiB"),
        pytest.param(lambda: lie_about_size(spaces_sheet(100 * MIB), SHEET, 2000), id="lies-small"),
        pytest.param(
            lambda: claim_entries(make_xlsx("S", ["a"], [["x"]]), 60_000), id="claims-60k"
        ),
        pytest.param(lambda: many_entries(2_500), id="2500-entries"),
        pytest.param(
            lambda: with_sheet([f'<worksheet xmlns="{MAIN}">'.encode(), b"<a>" * 10_000]),
            id="deep-xml",
        ),
        pytest.param(
            lambda: with_sheet(
                [
                    f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
                    "<is><t>".encode(),
                    b"y" * 40_000,
                    b"</t></is></c></row></sheetData></worksheet>",
                ]
            ),
            id="cell-over-32767-chars",
        ),
    ],
)
async def test_workbook_bombs_fail_to_read(api: Any, workbook: Any) -> None:
    sovid = (await api.post("/api/v1/sov", data=upload(workbook(), "bomb.xlsx")))["id"]
    final = await api.poll(f"/api/v1/sov/{sovid}")
    assert final["request"]["status"] == "FAILED"
    assert final["result"]["status"] == "FAILED_TO_READ"
    await healthy(api)


async def test_a_workbook_is_read_off_the_loop_and_parses_as_before(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real_read = xlsx_read._read

    def spy(data: bytes, limits: UploadLimits) -> Any:
        threads.append(threading.current_thread())
        return real_read(data, limits)

    monkeypatch.setattr(xlsx_read, "_read", spy)
    rows = [["HQ", "1 Main St", "Miami"], ["Depot", "2 Bay Rd", "Tampa"]]
    book = make_xlsx("Locations", ["Building Name", "Address", "City"], rows)
    sovid = (await api.post("/api/v1/sov", data=upload(book, "sov.xlsx")))["id"]
    assert threads  # read once, in a worker thread, and not again by the job code
    assert threading.current_thread() not in threads
    assert len(threads) == 1
    final = await api.poll(f"/api/v1/sov/{sovid}")
    assert final["result"]["status"] == "SUCCESS"
    url = final["result"]["outputs"][0]["url"]
    async with api.http.get(url) as response:
        document = json.loads(await response.read())
    assert [b["item_key"] for b in document["buildings"]] == [
        f"i-{sovid}!Locations!2",
        f"i-{sovid}!Locations!3",
    ]
    assert [b["bldg_name"] for b in document["buildings"]] == ["HQ", "Depot"]


ONE_LOCATION = b'{"locations": [{"id": "a", "address": "x"}], "sources": ["GG"]'


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(b"[" * 100_000, 400, id="100k-deep"),
        pytest.param(b'{"locations": [' + b"9" * 5000 + b"]}", 400, id="5000-digits"),
        pytest.param(
            b'{"locations": [{"id": "a", "address": "x"}], "timeout": NaN}', 400, id="nan"
        ),
        pytest.param(
            b'{"locations": [{"id": "a", "address": "x"}], "timeout": 1e5000}', 400, id="inf"
        ),
        pytest.param(
            ONE_LOCATION + b', "timeout": ' + b"9" * 5000 + b"}",
            400,
            id="timeout-5000-digits",
        ),
        pytest.param(ONE_LOCATION + b', "timeout": -1}', 400, id="negative"),
        pytest.param(b"[" + b"[]," * 600_000 + b"[]]", 413, id="1.2M-values"),
        pytest.param(b'{"a": "' + b"z" * (2 * MIB) + b'"}', 413, id="2MiB-string"),
    ],
)
async def test_hostile_json_bodies_get_4xx(api: Any, body: bytes, status: int) -> None:
    got, answer = await send(
        api,
        "POST",
        "/api/v1/bulk_enhance",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert got == status, answer
    assert answer["detail"]
    await healthy(api)


async def test_a_timeout_in_range_is_accepted(api: Any) -> None:
    body = {"locations": [{"id": "a", "address": "1 Main St"}], "sources": ["GG"], "timeout": 60.0}
    await api.post("/api/v1/bulk_enhance", json=body)


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1", "9" * 5000, "1e400", "x"])
async def test_hostile_enhance_timeouts_get_400(api: Any, timeout: str) -> None:
    query = {"sources": "GG", "address": "1 Main St", "timeout": timeout}
    got, answer = await send(api, "GET", "/api/v1/enhance", params=query)
    assert got == 400, answer
    assert "timeout" in answer["errors"]
    await healthy(api)


async def test_gzip_bombs_get_413(api: Any) -> None:
    bomb = gzip_bomb(60 * MIB)  # inflates past the default --max-body-bytes (50 MiB)
    assert len(bomb) < MIB
    got, answer = await send(
        api,
        "POST",
        "/api/v1/bulk_enhance",
        data=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert got == 413, answer
    await healthy(api)


async def test_broken_gzip_gets_400(api: Any) -> None:
    got, _ = await send(
        api,
        "POST",
        "/api/v1/bulk_enhance",
        data=b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert got == 400
    await healthy(api)


async def test_a_gzip_body_within_limits_is_read(api: Any) -> None:
    body = {"locations": [{"id": str(n), "address": "1 Main St"} for n in range(2000)]}
    body["sources"] = ["GG"]  # type: ignore[assignment]
    data = gzip.compress(json.dumps(body).encode())
    got, answer = await send(
        api,
        "POST",
        "/api/v1/bulk_enhance",
        data=data,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert got == 201, answer


async def test_declared_oversized_bodies_get_413(api: Any) -> None:
    async def chunks() -> Any:
        yield b"{"

    got, _ = await send(
        api,
        "POST",
        "/api/v1/bulk_enhance",
        data=chunks(),
        headers={"Content-Type": "application/json", "Content-Length": str(60 * MIB)},
    )
    assert got == 413
    await healthy(api)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"a": "' + "é".encode() * (2 * MIB + 10) + b'"}', id="non-ascii-over-4MiB"),
        pytest.param(b'{"a": "' + b"z" * (17 * MIB) + b'"}', id="ascii-over-16MiB"),
    ],
)
async def test_large_json_bodies_get_413(api: Any, body: bytes) -> None:
    got, answer = await send(
        api, "POST", "/_emulator/faults", data=body, headers={"Content-Type": "application/json"}
    )
    assert got == 413, answer
    await healthy(api)


async def test_hostile_csvs_and_form_fields_get_413(api: Any) -> None:
    sudid = (await api.post("/api/v1/sov/s-no-ping-hggcsk/initiate_update"))["id"]
    too_many = [
        b"item_key,a\n" + b"k,1\n" * 100_001,  # rows
        b"item_key" + b",a" * 200 + b"\n" + (b"k" + b",1" * 200 + b"\n") * 2_500,  # cells
        b"item_key,a\n" + b"k," + b"1" * (17 * MIB) + b"\n",  # bytes
    ]
    for rows in too_many:
        got, answer = await send(
            api, "POST", f"/api/v1/sov/update/{sudid}/add_locations", data=upload(rows, "r.csv")
        )
        assert got == 413, answer
    form = aiohttp.FormData()
    form.add_field("extra_data", json.dumps({"k": "v" * (300 * 1024)}))
    got, answer = await send(api, "POST", f"/api/v1/sov/update/{sudid}/start", data=form)
    assert got == 413, answer
    fields = "&".join(f"f{n}=1" for n in range(5000))
    got, _ = await send(api, "POST", f"/api/v1/sov/update/{sudid}/start", data=fields)
    assert got == 413
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    for form_body in (b"extra_data=" + b"%41" * 300_000, b"extra_data=" + b"A" * (2 * MIB)):
        got, _ = await send(
            api, "POST", f"/api/v1/sov/update/{sudid}/start", data=form_body, headers=urlencoded
        )
        assert got == 413
    big_text = aiohttp.FormData()
    big_text.add_field("extra_data", "x" * (2 * MIB))
    got, _ = await send(api, "POST", f"/api/v1/sov/update/{sudid}/start", data=big_text)
    assert got == 413
    await healthy(api)


@pytest.mark.parametrize(
    ("header", "status", "length"),
    [
        pytest.param("bytes=" + "9" * 5000 + "-", 416, None, id="first-5000-digits"),
        pytest.param("bytes=0-" + "9" * 5000, 206, "all", id="last-5000-digits"),
        pytest.param("bytes=-" + "9" * 5000, 206, "all", id="suffix-5000-digits"),
        pytest.param("bytes=2-" + "9" * 5000, 206, "rest", id="open-ended"),
    ],
)
async def test_huge_range_numbers(api: Any, header: str, status: int, length: Any) -> None:
    path = "/api/v1/sov/s-no-ping-hggcsk/input/SOV.xlsx"
    status_doc = await api.get("/api/v1/sov/s-no-ping-hggcsk")
    name = status_doc["result"]["inputs"][0]["filename"] if "result" in status_doc else None
    if name:
        path = f"/api/v1/sov/s-no-ping-hggcsk/input/{name}"
    async with api.http.get(api.url(path)) as whole:
        assert whole.status == 200
        full = await whole.read()
    async with api.http.get(api.url(path), headers={"Range": header}) as response:
        assert response.status == status
        data = await response.read()
    if length == "all":
        assert data == full
    elif length == "rest":
        assert data == full[2:]
    await healthy(api)


# -- the readers' own limits, without HTTP ----------------------------------------------------


def cells_sheet(count: int) -> bytes:
    cells = b"".join(b'<c t="inlineStr"><is><t>v</t></is></c>' for _ in range(count))
    head = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'.encode()
    return with_sheet([head, cells, b"</row></sheetData></worksheet>"])


@pytest.mark.parametrize(
    ("data", "limits", "match"),
    [
        (cells_sheet(50), UploadLimits(max_cells=20), "cells"),
        (cells_sheet(50), UploadLimits(max_elements=60), "elements"),
        (cells_sheet(50), UploadLimits(max_text_chars=10), "characters"),
        (spaces_sheet(5 * MIB), UploadLimits(max_part_bytes=MIB), "too large"),
        (spaces_sheet(5 * MIB), UploadLimits(max_inflated_bytes=MIB), "too large"),
        (many_entries(30), UploadLimits(max_members=20), "entries"),
        (many_entries(300), UploadLimits(max_directory_bytes=1000), "directory"),
    ],
)
def test_each_workbook_limit(data: bytes, limits: UploadLimits, match: str) -> None:
    with pytest.raises(WorkbookError, match=match):
        read_xlsx(data, limits)
    read_xlsx(make_xlsx("S", ["a"], [["x"]]), limits)  # an ordinary workbook is still read


def test_other_compressions_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as book:
        for info in zipfile.ZipFile(io.BytesIO(make_xlsx("S", ["a"], [["x"]]))).infolist():
            book.writestr(info.filename, b"<x/>" if info.filename == SHEET else b"")
    with pytest.raises(WorkbookError):
        read_xlsx(out.getvalue())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, window=st.integers(1, 200), indent=st.sampled_from([None, 0, 2]))
def test_the_windowed_json_decoder_equals_json_loads(value: Any, window: int, indent: Any) -> None:
    text = json.dumps(value, indent=indent)
    windowed = UploadLimits(chunk_bytes=window, max_json_depth=1000, json_one_call_values=0)
    assert loads(text, windowed) == json.loads(text)
    assert loads(text, UploadLimits(max_json_depth=1000)) == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='[]{}",:0123456789.eE+-tfrunalsNI \\', max_size=80))
def test_the_windowed_json_decoder_refuses_what_json_refuses(text: str) -> None:
    limits = UploadLimits(chunk_bytes=7, max_json_depth=1000, json_one_call_values=0)
    try:
        expected = json.loads(text, parse_constant=lambda name: float(name))
    except (ValueError, RecursionError):
        with pytest.raises((JSONInvalid, JSONTooLarge)):
            loads(text, limits)
        return
    if "NaN" in text or "Infinity" in text:
        with pytest.raises(JSONInvalid):
            loads(text, limits)
    else:
        assert loads(text, limits) == expected


@pytest.mark.parametrize("one_call", [0, 1000])
@pytest.mark.parametrize("window", [8, 64 * 1024])
def test_json_depth_and_size_limits(window: int, one_call: int) -> None:
    limits = UploadLimits(
        chunk_bytes=window,
        max_json_depth=10,
        max_json_string_chars=100,
        json_one_call_values=one_call,
    )
    assert loads("[" * 10 + "]" * 10, limits) is not None
    with pytest.raises(JSONInvalid, match="deeper"):
        loads("[" * 11 + "]" * 11, limits)
    with pytest.raises(JSONTooLarge, match="string"):
        loads('["' + "a" * 101 + '"]', limits)
    with pytest.raises(JSONTooLarge, match="string"):
        loads('{"' + "a" * 101 + '": 1}', limits)
    with pytest.raises(JSONTooLarge, match="values"):
        loads("[" + "1," * 50 + "1]", UploadLimits(max_json_values=40))


# -- memory: peak RSS of processes ------------------------------------------------------------

_READER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from sovfixer_async.emulator.bodies import decode_json
    from sovfixer_async.emulator.uploads import prepare_workbook

    def peak():  # VmHWM: the peak resident set of this process (exec started it afresh)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    data = Path(sys.argv[2]).read_bytes()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak to what is resident now
    except OSError:
        pass
    before = peak()
    try:
        if sys.argv[1] == "xlsx":
            outcome = prepare_workbook(data)
            print(type(outcome).__name__)
        else:
            decode_json(data)
            print("decoded")
    except Exception as exc:
        print(type(exc).__name__)
    print(before, peak())
    """
)


def peak_rss_reading(kind: str, data: bytes, tmp_path: Path) -> tuple[str, int]:
    """(outcome, KiB the peak RSS grew by) of reading ``data`` in a fresh process (``VmHWM``;
    ``ru_maxrss`` would carry the forking parent's peak over into the child)."""
    path = tmp_path / "bomb"
    path.write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-c", _READER, kind, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    outcome, sizes = proc.stdout.strip().splitlines()
    before, after = map(int, sizes.split())
    return outcome, after - before


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    ("kind", "build", "outcome"),
    [
        # within every cap: fully inflated and parsed (60 MiB of XML)
        ("xlsx", lambda: spaces_sheet(60 * MIB), "tuple"),
        ("xlsx", lambda: spaces_sheet(240 * MIB), "WorkbookError"),
        ("xlsx", lambda: lie_about_size(spaces_sheet(240 * MIB), SHEET, 60 * MIB), "WorkbookError"),
        # 450,000 cells: under the cell cap, read and mapped to buildings
        (
            "xlsx",
            lambda: make_xlsx(
                "S", [f"c{n}" for n in range(10)], [[f"r{r}"] * 10 for r in range(45_000)]
            ),
            "tuple",
        ),
        ("json", lambda: b"[" + b"[]," * 330_000 + b"[]]", "decoded"),
        ("json", lambda: b"[" * 100_000, "BadRequest"),
        ("json", lambda: b"[" + b'"a",' * (12 * MIB) + b"1]", "TooLarge"),
    ],
)
def test_reading_a_bomb_stays_within_256_mib(
    kind: str, build: Any, outcome: str, tmp_path: Path
) -> None:
    got, grown_kib = peak_rss_reading(kind, build(), tmp_path)
    assert got == outcome
    assert grown_kib < 200 * 1024  # plus the interpreter and the bomb: under 256 MiB


def _peak_rss(pid: int) -> int:
    """``VmHWM`` (peak resident set) of process ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _post(url: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Authorization": "Token t", **headers})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_emulator_process_stays_under_256_mib() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sovfixer_async.emulator", "--port", "0", "--job-seconds", "0.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        bomb = spaces_sheet(240 * MIB)
        sent = [
            ("xlsx", bomb),
            ("xlsx", lie_about_size(bomb, SHEET, 60 * MIB)),
            ("xlsx", spaces_sheet(60 * MIB)),
            ("json", b"[" + b"[]," * 490_000 + b"[]]"),
            ("json", b'{"a": "' + b"z" * (15 * MIB) + b'"}'),
            ("gzip", gzip_bomb(1024 * MIB)),
            ("form", b"extra_data=" + b"%41" * (16 * MIB)),
        ]
        statuses = []
        for kind, data in sent:
            if kind == "xlsx":
                boundary = "b0undary"
                body = (
                    (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                        f'filename="bomb.xlsx"\r\n\r\n'
                    ).encode()
                    + data
                    + f"\r\n--{boundary}--\r\n".encode()
                )
                headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
                statuses.append(_post(url, "/api/v1/sov", body, headers))
            elif kind == "form":
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                statuses.append(_post(url, "/api/v1/submission", data, headers))
            else:
                headers = {"Content-Type": "application/json"}
                if kind == "gzip":
                    headers["Content-Encoding"] = "gzip"
                statuses.append(_post(url, "/api/v1/bulk_enhance", data, headers))
        assert statuses == [201, 201, 201, 400, 413, 413, 413]
        assert _peak_rss(proc.pid) < 256 * MIB
    finally:
        proc.terminate()
        proc.wait(timeout=30)
