"""Resume tokens and ids are untrusted: no path outside the SDK's own folders, no URL
path but the one meant (issue 11, items 1 and 2)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import BulkEnhanceRun, Client, InvalidInputError, NotFoundError, UpdateJob
from sovfixer_async._cli.commands import job_folder

from .conftest import client_for

pytestmark = pytest.mark.anyio


def bulk_token(run_id: str, batches: list[str], **extra: Any) -> str:
    return json.dumps(
        {"v": 1, "kind": "bulk_run", "id": run_id, "api": "data", "batches": batches, **extra}
    )


@pytest.mark.parametrize(
    "run_id",
    ["../../victim", "/tmp/victim", "victim", "..", "", "00000000-0000-0000-0000-00000000000Z"],
)
async def test_forged_bulk_run_id_is_refused_and_deletes_nothing(
    make_client: Any, tmp_path: Path, run_id: str
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    work = tmp_path / "work" / "root"
    work.mkdir(parents=True)
    token = bulk_token(run_id.replace("victim", str(victim)), ["b-1"])
    async with make_client(work_dir=work) as client:
        with pytest.raises(InvalidInputError, match="token"):
            client.resume(token)
    assert (victim / "precious.txt").read_text() == "keep me"


async def test_token_work_dir_is_never_used(make_client: Any, tmp_path: Path) -> None:
    """A 0.1 token's work_dir is ignored: nothing is read from or written into it."""
    async with make_client() as first:
        run = await first.bulk_enhance(
            [{"id": f"l{i}", "address": f"{i} main st"} for i in range(4)],
            sources=["PG"],
            batch_size=2,
        )
        await run.wait(timeout=30)
        old = json.loads(run.token)
    assert "work_dir" not in old
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "batch-00001.json").write_text('{"locations": [{"id": "forged"}]}')
    forged = bulk_token(old["id"], old["batches"], work_dir=str(elsewhere))
    async with make_client() as second:
        again = second.resume(forged)
        assert isinstance(again, BulkEnhanceRun)
        assert not again.work_dir.is_relative_to(elsewhere)
        await again.wait(timeout=30)
        ids = [lid async for lid, _ in again.results()]
    assert ids == ["l0", "l1", "l2", "l3"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["batch-00001.json"]
    assert elsewhere.exists()


async def test_an_unmarked_folder_of_the_run_id_is_not_adopted(
    make_client: Any, tmp_path: Path
) -> None:
    run_id = str(uuid.uuid4())
    theirs = tmp_path / run_id
    theirs.mkdir()
    (theirs / "data.txt").write_text("not ours")
    async with make_client(work_dir=tmp_path) as client:
        with pytest.raises(InvalidInputError, match="not made by sovfixer_async"):
            client.resume(bulk_token(run_id, ["b-1"]))
    assert (theirs / "data.txt").read_text() == "not ours"


async def test_only_marked_folders_are_removed(make_client: Any, tmp_path: Path) -> None:
    async with make_client(work_dir=tmp_path, keep_work_files=True) as first:
        run = first.resume(bulk_token(str(uuid.uuid4()), ["b-1"]))
        assert isinstance(run, BulkEnhanceRun)
        kept = run.work_dir
    assert (kept / ".sovfixer-async").is_file()
    async with make_client(work_dir=tmp_path) as second:
        again = second.resume(run.token)
        assert isinstance(again, BulkEnhanceRun)
        assert again.work_dir == kept  # an earlier client's marked folder is reused ...
    assert kept.exists()  # ... and left to whoever made it
    assert tmp_path.exists()


@pytest.mark.parametrize(
    "token",
    [
        '{"v": true, "kind": "update", "id": "x"}',
        '{"v": 2, "kind": "update", "id": ".."}',
        '{"v": 2, "kind": "update", "id": "a\\u0000b"}',
        json.dumps({"v": 2, "kind": "update", "id": "x" * 5000}),
        '{"v": 2, "id": "x"}',
        "[" * 100_000,
        bulk_token(str(uuid.uuid4()), ["ok", 7]),
        bulk_token(str(uuid.uuid4()), []),
        bulk_token(str(uuid.uuid4()), "b-1"),  # type: ignore[arg-type]
    ],
)
async def test_untrusted_tokens_are_input_errors(client: Client, token: str) -> None:
    with pytest.raises(InvalidInputError):
        client.resume(token)


# -- ids in URL paths -------------------------------------------------------------------


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[str]]]:
    """A server that records every raw request path and answers 404."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.json_response({"detail": "Not found."}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


ROWS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,3,X\n"
HOSTILE_IDS = ["../../admin", "a/b", "x?delete=1", "y#frag", "%2e%2e", "a b", "ü/../é", "://h"]


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
async def test_ids_from_tokens_are_one_path_segment(
    recorder: tuple[str, list[str]], job_id: str
) -> None:
    url, seen = recorder
    token = json.dumps({"v": 2, "kind": "update", "id": job_id, "api": "extraction"})
    async with client_for(url) as client:
        job = client.resume(token)
        assert isinstance(job, UpdateJob)
        with pytest.raises(NotFoundError):
            await job.refresh()
    assert len(seen) == 1
    prefix = "/api/v1/sov/update/"
    assert seen[0].startswith(prefix)
    rest = seen[0][len(prefix) :]
    assert not set("/?#") & set(rest)
    assert unquote(rest) == job_id


@pytest.mark.parametrize("sovid", HOSTILE_IDS)
async def test_user_ids_are_one_path_segment(recorder: tuple[str, list[str]], sovid: str) -> None:
    url, seen = recorder
    async with client_for(url) as client:
        with pytest.raises(NotFoundError):
            await client.update_sov(sovid, ROWS)
        with pytest.raises(NotFoundError):
            await client.history_item(sovid)
    for path, prefix in zip(seen, ["/api/v1/sov/", "/api/v1/sov/history/"], strict=True):
        assert path.startswith(prefix)
        rest = path[len(prefix) :].removesuffix("/initiate_update")
        assert not set("/?#") & set(rest)
        assert unquote(rest) == sovid


@pytest.mark.parametrize("bad", ["", ".", "..", "a\nb", "x" * 2000])
async def test_ids_that_cannot_be_a_segment_are_input_errors(
    recorder: tuple[str, list[str]], bad: str
) -> None:
    url, seen = recorder
    async with client_for(url) as client:
        with pytest.raises(InvalidInputError, match="sovid"):
            await client.update_sov(bad, ROWS)
    assert seen == []


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job_id=st.text(min_size=1, max_size=80))
def test_cli_job_folders_stay_inside_out(tmp_path: Path, job_id: str) -> None:
    folder = Path(job_folder(str(tmp_path), job_id))
    assert folder.parent == tmp_path
    assert folder.name not in ("", ".", "..")
    assert job_folder(str(tmp_path), job_id) == str(folder)  # deterministic: resumable
