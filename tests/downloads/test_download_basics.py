"""Downloads: where the file goes, never clobbering, redirects and credentials."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from sovfixer_async._downloads import DownloadResult, download
from sovfixer_async._errors import (
    DestinationExistsError,
    DownloadError,
    InvalidInputError,
)
from sovfixer_async._events import DownloadProgress, Event, EventBus
from sovfixer_async._transport import Transport

from .conftest import PATH, TOKEN, FileServer, leftovers, open_transport, payload, serve

pytestmark = pytest.mark.anyio


# -- the happy path ------------------------------------------------------------------------


async def test_download_into_directory(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result == DownloadResult(
        path=tmp_path / "out.json",
        url=server.url + PATH,
        size=len(server.data),
        sha256=hashlib.sha256(server.data).hexdigest(),
        attempts=1,
        resumed=False,
    )
    assert result.path.read_bytes() == server.data
    assert leftovers(tmp_path) == []
    headers = server.seen[0]
    assert headers["Accept-Encoding"] == "identity"
    assert headers["Authorization"] == f"Token {TOKEN}"
    assert "Range" not in headers
    assert transport.stats.requests == 1


async def test_relative_urls_go_to_the_matching_api(tmp_path: Path) -> None:
    extraction, data = FileServer(b"sov output"), FileServer(b"bulk output")
    async with (
        serve(extraction.handle) as url1,
        serve(data.handle) as url2,
        open_transport(url1, url2) as t,
    ):
        a = await download(t, PATH, tmp_path / "a.json")
        b = await download(t, "/api/v1/bulk_enhance/u-1/output/o.json", tmp_path / "b.json")
    assert a.url == url1 + PATH
    assert a.path.read_bytes() == b"sov output"
    assert b.path.read_bytes() == b"bulk output"
    assert len(extraction.seen) == len(data.seen) == 1


async def test_non_http_url_is_an_input_error(transport: Transport, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="url"):
        await download(transport, "file:///etc/passwd", tmp_path)


# -- where the file goes -------------------------------------------------------------------


async def test_destination_rules(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    url = server.url + "/api/v1/sov/s-1/output/from-url.json"
    # An existing directory: the name comes from Content-Disposition.
    r1 = await download(transport, url, tmp_path)
    assert r1.path == tmp_path / "out.json"
    # A trailing separator: a new directory (parents too); no disposition -> URL segment.
    server.disposition = None
    r2 = await download(transport, url, f"{tmp_path}/new/deeper/")
    assert r2.path == tmp_path / "new" / "deeper" / "from-url.json"
    # filename given and dest missing: dest is a directory named by filename.
    r3 = await download(transport, url, tmp_path / "d3", filename="given.json")
    assert r3.path == tmp_path / "d3" / "given.json"
    # Otherwise dest is the file itself (parents created).
    r4 = await download(transport, url, tmp_path / "p" / "exact.bin")
    assert r4.path == tmp_path / "p" / "exact.bin"
    # An existing file with a filename: still that file (here: overwritten on request).
    r5 = await download(transport, url, r4.path, filename="ignored.json", overwrite=True)
    assert r5.path == r4.path
    for r in (r1, r2, r3, r4):
        assert r.path.read_bytes() == server.data
    assert leftovers(tmp_path) == []


HOSTILE = [
    ('attachment; filename="../../etc/passwd"', "passwd"),
    ('attachment; filename="/abs/olute.json"', "olute.json"),
    ('attachment; filename="C:\\\\Windows\\\\evil.exe"', "evil.exe"),
    ('attachment; filename="C:evil.json"', "C_evil.json"),
    ('attachment; filename=".."', "fallback.json"),
    ('attachment; filename="a\\"b.json"', "a_b.json"),
    ("attachment; filename*=UTF-8''..%2F..%2Fnai%CC%88ve%00.json", "na\u00efve_.json"),
    ("attachment; filename*=UTF-8''%E2%80%AEfdp.exe", "_fdp.exe"),
    ('attachment; filename="CON.json"', "_CON.json"),
    ('attachment; filename="' + "x" * 400 + '.json"', "x" * 195 + ".json"),
]


@pytest.mark.parametrize(("disposition", "expected"), HOSTILE)
async def test_hostile_disposition_names_stay_inside_dest(
    server: FileServer, transport: Transport, tmp_path: Path, disposition: str, expected: str
) -> None:
    server.disposition = disposition
    dest = tmp_path / "dest"
    dest.mkdir()
    url = server.url + "/api/v1/sov/s-1/output/fallback.json"
    result = await download(transport, url, dest)
    assert result.path == dest / expected
    assert result.path.parent == dest
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [expected]


async def test_symlink_out_of_dest_is_refused(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.json"
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "out.json").symlink_to(outside)
    with pytest.raises(DownloadError, match="outside"):
        await download(transport, server.url + PATH, dest, filename="out.json", overwrite=True)
    assert not outside.exists()
    assert server.seen == []


# -- never clobber -------------------------------------------------------------------------


async def test_existing_file_refused_before_any_request(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    (tmp_path / "out.json").write_bytes(b"mine")
    with pytest.raises(DestinationExistsError):
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
    with pytest.raises(DestinationExistsError):
        await download(transport, server.url + PATH, tmp_path / "out.json")
    assert server.seen == []
    assert (tmp_path / "out.json").read_bytes() == b"mine"
    result = await download(transport, server.url + PATH, tmp_path / "out.json", overwrite=True)
    assert result.path.read_bytes() == server.data


async def test_existing_file_named_by_the_server_refused_at_headers(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    (tmp_path / "out.json").write_bytes(b"mine")
    with pytest.raises(DestinationExistsError):
        await download(transport, server.url + PATH, tmp_path)
    assert (tmp_path / "out.json").read_bytes() == b"mine"
    assert leftovers(tmp_path) == []


async def test_file_appearing_during_the_download_is_not_clobbered(
    server: FileServer, tmp_path: Path
) -> None:
    server.set_data(payload(3 << 20))
    target = tmp_path / "out.json"

    def squat(event: Event) -> None:
        if isinstance(event, DownloadProgress) and not target.exists():
            target.write_bytes(b"someone else")

    async with open_transport(server.url) as t:
        with pytest.raises(DestinationExistsError):
            await download(t, server.url + PATH, target, events=EventBus([squat]))
    assert target.read_bytes() == b"someone else"
    assert leftovers(tmp_path) == []


# -- redirects and credentials -------------------------------------------------------------


async def test_cross_origin_redirect_never_gets_the_token(tmp_path: Path) -> None:
    storage = FileServer(payload(100_000))
    seen_api: list[dict[str, str]] = []

    async with serve(storage.handle) as storage_url:

        async def api(request: web.Request) -> web.StreamResponse:
            seen_api.append(dict(request.headers))
            if request.path == "/hop":
                raise web.HTTPFound(storage_url + "/bucket/out.json?sig=abc")
            raise web.HTTPFound("/hop")  # same origin first

        async with serve(api) as api_url, open_transport(api_url) as t:
            result = await download(t, api_url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == storage.data
    assert [h.get("Authorization") for h in seen_api] == [f"Token {TOKEN}"] * 2
    assert "Authorization" not in storage.seen[0]
    assert storage.seen[0]["Accept-Encoding"] == "identity"


async def test_too_many_redirects(tmp_path: Path) -> None:
    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/again")

    async with serve(loop) as url, open_transport(url) as t:
        with pytest.raises(DownloadError, match="redirects"):
            await download(t, url + PATH, tmp_path, filename="x")
        assert t.stats.requests == 6
    assert leftovers(tmp_path) == []


async def test_other_origins_never_get_the_token(transport: Transport, tmp_path: Path) -> None:
    elsewhere = FileServer(b"public file")
    async with serve(elsewhere.handle) as url:
        result = await download(transport, url + "/file.bin", tmp_path)
    assert result.path == tmp_path / "out.json"  # named by Content-Disposition
    assert "Authorization" not in elsewhere.seen[0]


async def test_two_downloads_racing_for_one_target(server: FileServer, tmp_path: Path) -> None:
    server.set_data(payload(3 << 20))
    async with open_transport(server.url) as t, anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(
                lambda: download(t, server.url + PATH, tmp_path / "out.json", overwrite=True)
            )
    assert (tmp_path / "out.json").read_bytes() == server.data
    assert leftovers(tmp_path) == []
