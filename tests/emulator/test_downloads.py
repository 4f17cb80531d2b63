"""Downloads (contract 3.3, 4.3, 12.1): ETag, Range, If-Range, padding, never compressed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async.emulator.downloads import UNSATISFIABLE, parse_range

pytestmark = pytest.mark.anyio

SEED_OUTPUT = "/api/v1/sov/s-no-ping-hggcsk/output/parse_sov_testfile.json"


async def fetch(api: Any, path: str, **headers: str) -> tuple[int, Any, bytes]:
    async with api.http.get(api.url(path), headers=headers, auto_decompress=False) as r:
        return r.status, r.headers, await r.read()


async def test_full_download_headers(api: Any) -> None:
    status, headers, body = await fetch(api, SEED_OUTPUT, **{"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Disposition"] == 'attachment; filename="parse_sov_testfile.json"'
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert int(headers["Content-Length"]) == len(body)
    assert "Content-Encoding" not in headers
    json.loads(body)
    # Deterministic: the same bytes every time.
    assert (await fetch(api, SEED_OUTPUT))[2] == body


async def test_range_requests(api: Any) -> None:
    _, headers, body = await fetch(api, SEED_OUTPUT)
    etag, total = headers["ETag"], len(body)

    status, h, part = await fetch(api, SEED_OUTPUT, Range="bytes=10-19")
    assert (status, part, h["Content-Range"]) == (206, body[10:20], f"bytes 10-19/{total}")
    assert int(h["Content-Length"]) == 10

    status, h, part = await fetch(api, SEED_OUTPUT, Range="bytes=100-")
    assert (status, part) == (206, body[100:])
    status, h, part = await fetch(api, SEED_OUTPUT, Range="bytes=-5")
    assert (status, part) == (206, body[-5:])

    status, h, _ = await fetch(api, SEED_OUTPUT, Range=f"bytes={total}-")
    assert status == 416
    assert h["Content-Range"] == f"bytes */{total}"

    # If-Range: a matching ETag honours the Range, another one gets the full body.
    status, _, part = await fetch(api, SEED_OUTPUT, Range="bytes=0-3", **{"If-Range": etag})
    assert (status, part) == (206, body[:4])
    status, _, part = await fetch(api, SEED_OUTPUT, Range="bytes=0-3", **{"If-Range": '"old"'})
    assert (status, part) == (200, body)

    # Several ranges or nonsense: the whole file.
    assert (await fetch(api, SEED_OUTPUT, Range="bytes=0-1,5-6"))[0] == 200
    assert (await fetch(api, SEED_OUTPUT, Range="lines=1-2"))[0] == 200

    log = (await api.control("/_emulator/requests"))["requests"]
    ranged = [r for r in log if r["range"]]
    assert ranged[0]["range"] == "bytes=10-19"
    assert any(r["if_range"] == etag for r in log)
    assert all(r["authorization"] for r in log)


async def test_no_range_setting(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(no_range=True))
    status, headers, body = await fetch(api, SEED_OUTPUT, Range="bytes=0-3")
    assert status == 200
    assert "Accept-Ranges" not in headers
    assert len(body) == int(headers["Content-Length"]) > 4


async def test_output_bytes_pads_valid_files(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(output_bytes=300_000))
    _, _, body = await fetch(api, SEED_OUTPUT)
    assert len(body) >= 300_000
    assert json.loads(body)["id"] == "s-no-ping-hggcsk"
    status, _, tail = await fetch(api, SEED_OUTPUT, Range="bytes=299990-")
    assert (status, tail) == (206, body[299_990:])


async def test_unknown_files_are_404(api: Any) -> None:
    for path in (
        "/api/v1/sov/s-no-ping-hggcsk/output/other.json",
        "/api/v1/sov/s-nope/output/parse_sov_testfile.json",
        "/api/v1/bulk_enhance/nope/output/output-data-nope.json",
    ):
        status, _, body = await fetch(api, path)
        assert status == 404
        assert json.loads(body)["detail"]


@given(total=st.integers(0, 1000), first=st.integers(0, 1200), length=st.integers(0, 1200))
def test_parse_range_stays_within_the_file(total: int, first: int, length: int) -> None:
    for header in (f"bytes={first}-{first + length}", f"bytes={first}-", f"bytes=-{length}"):
        parsed = parse_range(header, total)
        if parsed is None or parsed == UNSATISFIABLE:
            continue
        start, end = parsed
        assert 0 <= start <= end < total
    assert parse_range(f"bytes={total}-", total) == UNSATISFIABLE
