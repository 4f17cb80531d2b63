"""Downloads against the emulator: a large output through truncations, restarts without
Range support, and connection resets, arriving byte-identical (sha256 = the ETag)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._downloads import download
from sovfixer_async._transport import Transport
from sovfixer_async.emulator import RunningEmulator, run_emulator

pytestmark = pytest.mark.anyio

SOV = "s-no-ping-hggcsk"


@asynccontextmanager
async def emulated(**settings: Any) -> AsyncIterator[tuple[RunningEmulator, Transport]]:
    async with run_emulator(job_seconds=0.2, seed=11, **settings) as emu:
        cfg = ClientConfig(
            api_url=emu.url, data_api_url=emu.url, token="anything", retry=RetryPolicy.no_wait()
        )
        transport = Transport(cfg)
        await transport.open()
        try:
            yield emu, transport
        finally:
            await transport.close()


async def json_output(transport: Transport) -> tuple[str, str]:
    """``get_or_create_output`` for the seed SOV's JSON: (url, scrubbed_filename)."""
    body = (
        await transport.request(
            "POST",
            "extraction",
            f"/api/v1/sov/{SOV}/get_or_create_output",
            json={"output_format": "json"},
        )
    ).json()
    with anyio.fail_after(60):
        while body["request"]["status"] not in ("COMPLETE", "FAILED"):
            await anyio.sleep(0.05)
            path = f"/api/v1/sov/get_or_create_output/{body['request']['id']}"
            body = (await transport.request("GET", "extraction", path)).json()
    assert body["request"]["status"] == "COMPLETE", body
    result = body["result"]
    return result["url"], result["scrubbed_filename"]


async def served_etag(transport: Transport, url: str) -> str:
    """The ETag of a clean full GET (body not read)."""
    async with transport.session.get(
        url, headers=transport.auth_headers(url), allow_redirects=False
    ) as resp:
        assert resp.status == 200
        return resp.headers["ETag"]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


async def test_200_mb_through_truncations_arrives_identical(tmp_path: Path) -> None:
    async with emulated(output_bytes=200_000_000) as (emu, transport):
        url, name = await json_output(transport)
        emu.set_faults(truncate_rate=0.5)
        # Each truncation keeps half of what was left, so every attempt brings bytes; near
        # the end aiohttp may drop a short tail that arrived with the reset, so allow more
        # stalled attempts than the default to keep a 1-in-32 run from failing.
        result = await download(transport, url, tmp_path, filename=name, max_stalled_attempts=20)
        emu.set_faults(truncate_rate=0.0)
        etag = await served_etag(transport, url)
        stats = await emu.stats()
    assert result.size >= 200_000_000
    assert f'"{result.sha256}"' == etag
    assert await anyio.to_thread.run_sync(sha256_of, result.path) == result.sha256
    assert result.resumed
    assert result.attempts > 1
    assert stats["faults_injected"]["truncate"] >= 1
    assert result.attempts == stats["faults_injected"]["truncate"] + 1
    assert [p.name for p in tmp_path.iterdir()] == [name]


async def test_no_range_forces_clean_restarts(tmp_path: Path) -> None:
    async with emulated(output_bytes=3_000_000, no_range=True) as (emu, transport):
        url, name = await json_output(transport)
        emu.set_faults(truncate_rate=0.5)
        result = await download(transport, url, tmp_path, filename=name, max_stalled_attempts=30)
        emu.set_faults(truncate_rate=0.0)
        etag = await served_etag(transport, url)
        log = [r for r in emu.requests() if "/output/" in str(r.get("path", ""))]
        stats = await emu.stats()
    assert f'"{result.sha256}"' == etag
    assert stats["faults_injected"]["truncate"] >= 1
    assert result.attempts == stats["faults_injected"]["truncate"] + 1
    assert not result.resumed
    assert all(not r.get("range") for r in log)
    assert [p.name for p in tmp_path.iterdir()] == [name]


async def test_connection_resets_on_gets(tmp_path: Path) -> None:
    async with emulated(output_bytes=1_000_000) as (emu, transport):
        url, name = await json_output(transport)
        emu.set_faults(reset_rate=0.5)
        results = []
        while len(results) < 40 and (await emu.stats())["faults_injected"]["reset"] < 3:
            folder = tmp_path / str(len(results))
            results.append(await download(transport, url, folder, filename=name))
        emu.set_faults(reset_rate=0.0)
        etag = await served_etag(transport, url)
        stats = await emu.stats()
    assert stats["faults_injected"]["reset"] >= 3
    assert {f'"{r.sha256}"' for r in results} == {etag}
    # aiohttp itself retries a GET once when a reused connection is dropped before the
    # answer, so a reset costs a download attempt only when that retry is reset too.
    gets = stats["requests_by_route"]["GET /api/v1/sov/{id}/output/{filename}"]
    assert gets == len(results) + stats["faults_injected"]["reset"] + 1  # + served_etag
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(Path(str(i), name) for i in range(len(results)))
