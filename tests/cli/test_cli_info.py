"""The read-only commands (history, activity, usage, datasources) and the official command
names, through the real command against the emulator, ``--json`` parsed back."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.text import TextReceiveStream

from sovfixer_async import __version__
from sovfixer_async.emulator import RunningEmulator

pytestmark = pytest.mark.anyio

Run = Callable[..., Awaitable[Any]]  # the ``cli`` fixture (tests/cli/conftest.py)
SOVID = "s-no-ping-hggcsk"
COMMAND = [sys.executable, "-m", "sovfixer_async._cli"]


async def test_history_activity_and_downloads(cli: Run, urls: list[str], tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n")
    update = await cli("update", SOVID, "a.csv", "--client-ref", "ref-7", "--json", *urls)
    assert update.code == 0, update.stderr
    [done] = update.of("result")

    history = await cli("history", "--json", "-l", "1", "--start", "2000-01-01", *urls)
    assert history.code == 0, history.stderr
    records = history.of("record")
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) >= 2  # paged one by one, nothing twice
    assert ids[0] == SOVID  # oldest first
    [mine] = [r for r in records if r["id"] == done["id"]]
    assert (mine["client_ref"], mine["status"]) == ("ref-7", "C")
    after = await cli("history", "--cursor-id", ids[-2], *urls)
    assert after.code == 0, after.stderr
    assert after.stdout.splitlines() == [
        line for line in after.stdout.splitlines() if ids[-1] in line
    ]
    assert len(after.stdout.splitlines()) == 1

    activity = await cli(
        "activity", "--sovid", SOVID, "-D", "files", "--json", "-l", "1", "-n", "1", *urls
    )
    assert activity.code == 0, activity.stderr
    [entry] = activity.of("activity")
    assert entry["id"] == SOVID
    saved = [Path(e["path"]) for e in activity.of("downloaded")]
    assert saved, activity.stdout
    assert all(p.parent == Path("files") / SOVID for p in saved)
    assert all((tmp_path / p).is_file() for p in saved)
    assert any(p.name.startswith("r1-") for p in saved)  # an update's output, by revision
    again = await cli("activity", "--sovid", SOVID, "--download", "files", *urls)
    assert again.code == 2
    assert "--force" in again.stderr
    text = await cli("activity", "--id", SOVID, "--status", "C", *urls)
    assert text.code == 0, text.stderr
    assert text.stdout.startswith(f"{SOVID} C SOV ")


async def test_usage_datasources_aliases_and_version(cli: Run, urls: list[str]) -> None:
    usage = await cli("usage", "--start", "-30d", "--json", *urls)
    assert usage.code == 0, usage.stderr
    [answer] = usage.of("usage")
    assert "totals" in answer
    listed = await cli("list-datasources", "--json", *urls)
    assert listed.code == 0, listed.stderr
    codes = {e["code"] for e in listed.of("datasource")}
    assert {"PG", "PH"} <= codes
    one = await cli("get-datasource", "pg", *urls)
    assert one.code == 0, one.stderr
    assert one.stdout.startswith("Ping Geocoding (PG)")
    assert "required inputs: address" in one.stdout
    unknown = await cli("datasources", "NOPE", *urls)
    assert unknown.code == 2
    assert "unknown datasource 'NOPE'" in unknown.stderr
    formats = await cli("list-output-formats", "--json", *urls)
    assert formats.code == 0, formats.stderr
    assert formats.of("format")
    version = await cli("--version")
    assert (version.code, version.stdout.strip()) == (0, f"sovfixer-async {__version__}")


async def test_history_follow_prints_new_records_and_ends_quietly(
    emulator: RunningEmulator, cli: Run, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    url = emulator.url
    args = ["history", "--follow", "--interval", "0.2", "--json", "--api-url", url]
    (tmp_path / "a.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n")
    with anyio.fail_after(40):
        async with await anyio.open_process(
            [*COMMAND, *args], cwd=tmp_path, env=cli_env
        ) as process:
            assert process.stdout is not None
            stream = TextReceiveStream(process.stdout)
            text = ""
            while SOVID not in text:
                text += await stream.receive()
            update = await cli("update", SOVID, "a.csv", "--json", "--api-url", url)
            assert update.code == 0, update.stderr
            sudid = update.of("result")[0]["id"]
            while sudid not in text:  # the follower sees it on a later look
                text += await stream.receive()
            process.send_signal(signal.SIGINT)
            async for chunk in stream:
                text += chunk
            assert process.stderr is not None
            err = "".join([c async for c in TextReceiveStream(process.stderr)])
            code = await process.wait()
    assert code == 0, err
    assert "Traceback" not in err
    ids = [json.loads(line)["id"] for line in text.splitlines()]
    assert len(ids) == len(set(ids))  # no record twice across looks
    assert ids[0] == SOVID
    assert f"--cursor-id {ids[-1]}" in err


async def test_history_follow_outlives_a_server_error(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """A hostile history feed: a page, a 500, the same page again, then a new record."""
    from aiohttp import web

    looks: list[str | None] = []
    record = {"record_type": "ORIG", "status": "C", "completed_time": "2024-06-01T00:00:00Z"}

    async def feed(request: web.Request) -> web.Response:
        looks.append(request.query.get("cursor_id"))
        answers: list[tuple[int, list[str]]] = [
            (200, ["h-1"]),  # the first look
            (200, []),
            (500, []),  # a bad minute of the server
            (200, ["h-1"]),  # a page sent again: dropped
            (200, ["h-2"]),
        ]
        status, ids = answers[len(looks) - 1] if len(looks) <= len(answers) else (200, [])
        if status != 200:
            return web.json_response({"message": "boom"}, status=status)
        results = [{**record, "id": i, "sovid": i} for i in ids]
        return web.json_response({"results": results, "cursor_id": ids[-1] if ids else None})

    app = web.Application()
    app.router.add_get("/api/v1/sov/history", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        args = ["history", "-F", "--interval", "0.05", "--json", "--api-url", url]
        with anyio.fail_after(30):
            async with await anyio.open_process(
                [*COMMAND, *args], cwd=tmp_path, env=cli_env
            ) as process:
                assert process.stdout is not None
                stream = TextReceiveStream(process.stdout)
                text = ""
                while "h-2" not in text:
                    text += await stream.receive()
                process.send_signal(signal.SIGINT)
                async for chunk in stream:
                    text += chunk
                assert process.stderr is not None
                err = "".join([c async for c in TextReceiveStream(process.stderr)])
                code = await process.wait()
    finally:
        await runner.cleanup()
    assert code == 0, err
    assert [json.loads(line)["id"] for line in text.splitlines()] == ["h-1", "h-2"]
    assert "HTTP 500" in err
    assert "looking again" in err
    assert looks[1:4] == ["h-1", "h-1", "h-1"]  # the cursor is kept across the error
