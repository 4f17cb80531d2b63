"""Options of the official CLIs (``fix``/``update``/``enhance``), ``--kind`` ids, and the
hand-over of a job that ran when the command cannot finish (collision, closed pipe)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async.emulator import RunningEmulator
from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

Run = Callable[..., Awaitable[Any]]  # the ``cli`` fixture (tests/cli/conftest.py)
SOVID = "s-no-ping-hggcsk"
COMMAND = [sys.executable, "-m", "sovfixer_async._cli"]
TOKEN = "cli-test-token"
CSV = "sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n"


async def test_fix_options_nowait_then_kind_ids(
    cli: Run, urls: list[str], tmp_path: Path, emulator: RunningEmulator
) -> None:
    (tmp_path / "a.xlsx").write_bytes(make_xlsx("Sheet1", ["Street"], [["1 Main St"]]))
    hook = "http://127.0.0.1:9/hook"
    started = await cli(
        "fix",  # the official name of ``parse``
        "a.xlsx",
        "--callback-url",
        hook,
        "--update-callback-url",
        hook + "/updates",
        "--client-ref",
        "ref-fix",
        "-W",
        "default",
        "-d",
        "SOV",
        "--nowait",
        "--json",
        *urls,
    )
    assert started.code == 0, started.stderr
    [info] = started.of("started")
    sov = emulator.state.sovs[info["id"]]
    assert (sov.client_ref, sov.update_callback_url) == ("ref-fix", hook + "/updates")
    assert sov.parse.callback_url == hook
    assert started.of("result") == []  # not waited for

    status = await cli("status", info["id"], "--kind", "parse", "--json", *urls)
    assert status.code == 0, status.stderr
    [seen] = status.of("status")
    assert seen["id"] == info["id"]
    built, original = json.loads(seen["token"]), json.loads(info["token"])
    assert {k: built[k] for k in ("v", "kind", "id", "api")} == {
        k: original[k] for k in ("v", "kind", "id", "api")
    }  # the same job (a plain id cannot know the client_ref)
    resumed = await cli("resume", info["id"], "-k", "parse", "--out", "got", *urls)
    assert resumed.code == 0, resumed.stderr
    assert list((tmp_path / "got").iterdir())
    mixed = await cli("status", info["token"], "--kind", "parse", *urls)
    assert mixed.code == 2
    assert "--kind goes with a plain job id" in mixed.stderr


async def test_update_options_reach_the_server(
    cli: Run, urls: list[str], tmp_path: Path, emulator: RunningEmulator
) -> None:
    (tmp_path / "a.csv").write_text(CSV)
    result = await cli(
        "update",
        SOVID,
        "a.csv",
        "--update-type",
        "SCRUB",
        "--client-ref",
        "ref-upd",
        "--callback-url",
        "http://127.0.0.1:9/hook",
        "--integrations",
        "PG",
        "--extra_data",
        "insured_name=Acme",
        "--output-format",
        "json",
        "--json",
        *urls,
    )
    assert result.code == 0, result.stderr
    [done] = result.of("result")
    job = emulator.state.updates[done["id"]]
    assert (job.update_type, job.client_ref) == ("SCRUB", "ref-upd")
    assert job.extra_data.get("insured_name") == "Acme"
    helped = await cli("update", "--help")
    assert "SCRUB, AIR, RMS, RMS_ANALYSIS, API, COMPLETE, PINGREADY" in " ".join(
        helped.stdout.split()
    )


async def test_enhance_addresses_file_and_location_options(
    cli: Run, urls: list[str], tmp_path: Path
) -> None:
    (tmp_path / "addresses.txt").write_text("1 Main St, Miami, FL\n\n2 Elm St, Tampa, FL\n")
    bulk = await cli(
        "enhance",
        "-f",
        "addresses.txt",
        "-a",
        "9 Bay St, Miami, FL",
        "-s",
        "PG",
        "-c",
        "US",
        "-x",
        "const__num_stories=3",
        "--timeout",
        "5",
        "--batch-size",
        "2",
        "--json",
        *urls,
    )
    assert bulk.code == 0, bulk.stderr
    [done] = bulk.of("result")
    assert done["locations"] == 3
    merged = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [m["id"] for m in merged] == ["id_001", "id_002", "id_003"]  # -a first, as official

    now = await cli(
        "enhance", "-a", "1 Main St, Miami, FL", "-a", "2 Elm St", "-s", "PG", "--json", *urls
    )
    assert now.code == 0, now.stderr
    answers = now.of("enhance")
    assert [a["address"] for a in answers] == ["1 Main St, Miami, FL", "2 Elm St"]
    assert all("PG" in a["response"]["location_data"] for a in answers)
    point = await cli(
        "enhance", "--latitude", "25.77", "--longitude", "-80.19", "-s", "PG", "--json", *urls
    )
    assert point.code == 0, point.stderr
    [answer] = point.of("enhance")
    assert answer["address"] is None

    (tmp_path / "bad.txt").write_text("1 Main St\n\n2 Elm St\n")
    bad = await cli("enhance", "-f", "bad.txt", "-s", "PG", "-x", "bogus=1", "--force", *urls)
    assert bad.code == 2
    assert "bad.txt line 1.bogus" in bad.stderr
    for args, message in [
        (["-a", "x", "-x", "sources=PG"], "option of its own"),
        (["in.csv", "-a", "x"], "in INPUT, give them as columns"),
        (["-f", "bad.txt", "--latitude", "1"], "one location"),
        ([], "enhance needs INPUT"),
    ]:
        refused = await cli("enhance", *args, "-s", "PG", *urls)
        assert refused.code == 2, args
        assert message in refused.stderr, refused.stderr


async def test_collision_after_the_job_ran_hands_it_over(
    cli: Run, emulator: RunningEmulator, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    (tmp_path / "a.csv").write_text(CSV)
    flags = ["--api-url", emulator.url, "--data-api-url", emulator.url, "-E", "insured_name=Same"]
    first = await cli("update", SOVID, "a.csv", *flags, "-q")
    assert first.code == 0, first.stderr
    # The token is given as a flag only: the hint must not repeat it, and says what to do.
    env = {k: v for k, v in cli_env.items() if k != "SOVFIXER_AUTH_TOKEN"}
    second = await cli("update", SOVID, "a.csv", *flags, "--token", TOKEN, env=env)
    assert second.code == 2
    assert "Same.json exists" in second.stderr
    assert TOKEN not in second.stderr + second.stdout
    assert "SOVFIXER_AUTH_TOKEN" in second.stderr
    [hint] = [
        line for line in second.stderr.splitlines() if line.startswith("sovfixer-async resume ")
    ]
    words = shlex.split(hint)
    assert json.loads(words[2])["kind"] == "update"
    with anyio.fail_after(30):
        pasted = await anyio.run_process(
            [*COMMAND, *words[1:]], cwd=tmp_path, env=cli_env, check=False
        )
    assert pasted.returncode == 0, pasted.stderr.decode()
    out = Path(words[words.index("--out") + 1])
    assert [p.name for p in (tmp_path / out).iterdir()] == ["Same.json"]


async def test_json_into_a_closed_pipe_exits_quietly(
    cli: Run, emulator: RunningEmulator, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """``history --follow --json | head -1``: the next record meets a closed pipe."""
    (tmp_path / "a.csv").write_text(CSV)
    url = emulator.url
    args = ["history", "--follow", "--interval", "0.1", "--json", "--api-url", url]
    read_end, write_end = os.pipe()  # a pipe of ours, to close its reading end for real
    try:
        with anyio.fail_after(30):
            async with await anyio.open_process(
                [*COMMAND, *args], cwd=tmp_path, env=cli_env, stdout=write_end
            ) as p:
                os.close(write_end)
                write_end = -1
                assert p.stderr is not None
                first = await anyio.to_thread.run_sync(os.read, read_end, 65536)
                os.close(read_end)  # the reader is gone, like ``| head -1``
                read_end = -1
                update = await cli("update", SOVID, "a.csv", "-q", "--api-url", url)
                assert update.code == 0, update.stderr
                err = b"".join([chunk async for chunk in p.stderr]).decode()
                code = await p.wait()
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
    assert json.loads(first.decode().splitlines()[0])["id"] == SOVID
    assert err == ""
    assert code == 141  # 128 + SIGPIPE, as a shell reports a program a closed pipe stopped
