"""A ``.part`` file left by a killed process is resumed (same URL and validator, with a
``Range`` request) or emptied and reused by the next download to that target; one held
by a live download is never touched."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from sovfixer_async._downloads import download
from sovfixer_async._downloads._part import PartState
from sovfixer_async._transport import Transport

from .conftest import PATH, FileServer, leftovers, open_transport, payload

pytestmark = pytest.mark.anyio


def leave_part(folder: Path, data: bytes, state: PartState | bytes | None) -> Path:
    """What a process killed mid-download leaves: ``<name>.part`` and its state."""
    part = folder / "out.json.part"
    part.write_bytes(data)
    if state is not None:
        raw = state.dump() if isinstance(state, PartState) else state
        (folder / "out.json.part.state").write_bytes(raw)
    return part


async def test_stale_part_is_resumed_with_a_range_request(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    url = server.url + PATH
    leave_part(tmp_path, server.data[:120_000], PartState(url, server.etag or "", len(server.data)))
    result = await download(transport, url, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert result.sha256 == hashlib.sha256(server.data).hexdigest()
    assert result.resumed
    assert result.attempts == 1
    assert [(h.get("Range"), h.get("If-Range")) for h in server.seen] == [
        ("bytes=120000-", server.etag)
    ]
    assert leftovers(tmp_path) == []


async def test_stale_part_resumed_by_last_modified(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    """No ETag: the ``Last-Modified`` date is the validator, in the state and in If-Range."""
    server.etag = None
    server.last_modified = "Tue, 01 Dec 2026 10:00:00 GMT"
    url = server.url + PATH
    leave_part(tmp_path, server.data[:5000], PartState(url, server.last_modified, None))
    result = await download(transport, url, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert result.resumed
    assert server.seen[0]["If-Range"] == server.last_modified
    assert leftovers(tmp_path) == []


async def test_complete_stale_part_is_finished_by_a_416(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    url = server.url + PATH
    leave_part(tmp_path, server.data, PartState(url, server.etag or "", len(server.data)))
    result = await download(transport, url, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert server.seen[0]["Range"] == f"bytes={len(server.data)}-"
    assert leftovers(tmp_path) == []


async def test_stale_part_of_an_older_version_is_replaced(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    """The file changed on the server since: If-Range gets the whole new body."""
    url = server.url + PATH
    old = payload(200_000, seed=5)
    leave_part(tmp_path, old[:150_000], PartState(url, '"old-version"', len(old)))
    result = await download(transport, url, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert not result.resumed
    assert server.seen[0]["If-Range"] == '"old-version"'
    assert leftovers(tmp_path) == []


UNUSABLE_STATES = [
    pytest.param(None, id="no state"),
    pytest.param(b"\x00not json", id="garbage"),
    pytest.param(b"[1, 2]", id="not an object"),
    pytest.param(
        b'{"v": 1, "url": "URL", "validator": "\\"x\\"\\r\\nX-Evil: 1", "total": 9}', id="crlf"
    ),
    pytest.param(b'{"v": 1, "url": "URL", "validator": "\\"x\\"", "total": -1}', id="negative"),
    pytest.param(b'{"v": 1, "url": "URL", "validator": "\\"x\\"", "total": 10}', id="shorter"),
    pytest.param(b'{"v": 2, "url": "URL", "validator": "\\"x\\"", "total": null}', id="version"),
    pytest.param(b'{"v": 1, "url": "http://elsewhere/x", "validator": "\\"x\\""}', id="other url"),
]


@pytest.mark.parametrize("state", UNUSABLE_STATES)
async def test_stale_part_without_a_usable_state_is_emptied(
    server: FileServer, transport: Transport, tmp_path: Path, state: bytes | None
) -> None:
    url = server.url + PATH
    if state is not None:
        state = state.replace(b"URL", url.encode())
    leave_part(tmp_path, b"from a crashed process" * 100, state)
    result = await download(transport, url, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert "Range" not in server.seen[0]
    assert all("X-Evil" not in h for h in server.seen)
    assert leftovers(tmp_path) == []


async def test_part_held_by_a_live_download_is_left_alone(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    """A part locked by another download (here: another open file, as another process
    would hold it) is not adopted: this download writes beside it."""
    part = leave_part(tmp_path, b"someone else's bytes", None)
    with part.open("r+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
        assert part.read_bytes() == b"someone else's bytes"
    assert result.path.read_bytes() == server.data
    assert "Range" not in server.seen[0]
    assert leftovers(tmp_path) == ["out.json.part"]


async def test_symlinked_part_is_not_followed(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "out.json.part").symlink_to(outside)
    result = await download(transport, server.url + PATH, dest, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert outside.read_bytes() == b"precious"


KILLED = textwrap.dedent(
    """
    import sys, anyio
    from sovfixer_async._config import ClientConfig, RetryPolicy
    from sovfixer_async._downloads import download
    from sovfixer_async._transport import Transport

    async def main() -> None:
        url, dest = sys.argv[1], sys.argv[2]
        cfg = ClientConfig(api_url=url, data_api_url=url, token="t", retry=RetryPolicy.no_wait())
        transport = Transport(cfg)
        await transport.open()
        await download(transport, url + "/api/v1/sov/s-1/output/out.json", dest,
                       filename="out.json")

    anyio.run(main)
    """
)


async def test_part_of_a_killed_process_is_resumed(server: FileServer, tmp_path: Path) -> None:
    """A real process is killed (SIGKILL) mid-download; the next download resumes its part."""
    server.set_data(payload(3 << 20))
    server.gate = anyio.Event()  # the server stalls after 1 MiB
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = await anyio.open_process(
        [sys.executable, "-c", KILLED, server.url, str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None,
    )
    part, state = tmp_path / "out.json.part", tmp_path / "out.json.part.state"
    try:
        with anyio.fail_after(60):
            while not (state.exists() and part.exists() and part.stat().st_size >= 1 << 20):
                assert proc.returncode is None, "the downloading process ended early"
                await anyio.sleep(0.02)
    finally:
        proc.kill()
        await proc.wait()
        server.gate.set()
    kept = part.stat().st_size
    server.gate = None
    server.seen.clear()
    async with open_transport(server.url) as t:
        result = await download(t, server.url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert result.resumed
    assert server.seen[0]["Range"] == f"bytes={kept}-"
    assert leftovers(tmp_path) == []
