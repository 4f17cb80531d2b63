"""Ctrl-C: the command stops at once, prints the resume tokens, and ``resume`` takes them."""

from __future__ import annotations

import json
import shlex
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from sovfixer_async.emulator import RunningEmulator, run_emulator

pytestmark = pytest.mark.anyio

TOKEN = "cli-test-token"
SOVID = "s-no-ping-hggcsk"
COMMAND = [sys.executable, "-m", "sovfixer_async._cli"]


@pytest.fixture
async def slow_emulator() -> AsyncIterator[RunningEmulator]:
    async with run_emulator(job_seconds=2.0, token=TOKEN) as emu:
        yield emu


class Lines:
    """Lines of a process's stdout, read as they come."""

    def __init__(self, process: Process):
        assert process.stdout is not None
        self.stream = TextReceiveStream(process.stdout)
        self.buffer = ""
        self.seen: list[str] = []

    async def until(self, needle: str) -> None:
        """Read up to and including the next line that holds ``needle``."""
        while True:
            while "\n" in self.buffer:
                line, self.buffer = self.buffer.split("\n", 1)
                self.seen.append(line)
                if needle in line:
                    return
            try:
                self.buffer += await self.stream.receive()
            except anyio.EndOfStream:
                raise AssertionError(f"{needle!r} never printed; got {self.seen}") from None

    async def rest(self) -> str:
        text = "\n".join(self.seen) + "\n" + self.buffer
        async for chunk in self.stream:
            text += chunk
        return text


async def interrupt(
    args: list[str], tmp_path: Path, env: dict[str, str], needle: str, count: int = 1
) -> tuple[int, str, str]:
    """Start the command, wait for ``count`` lines holding ``needle``, send SIGINT."""
    with anyio.fail_after(30):
        async with await anyio.open_process([*COMMAND, *args], cwd=tmp_path, env=env) as process:
            lines = Lines(process)
            for _ in range(count):
                await lines.until(needle)
            process.send_signal(signal.SIGINT)
            out = await lines.rest()
            assert process.stderr is not None
            err = "".join([chunk async for chunk in TextReceiveStream(process.stderr)])
            code = await process.wait()
    return code, out, err


async def test_sigint_prints_resume_tokens_that_resume_accepts(
    slow_emulator: RunningEmulator, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    url = slow_emulator.url
    (tmp_path / "a.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n")
    args = ["update", SOVID, "a.csv", "--api-url", url, "--data-api-url", url]
    code, out, err = await interrupt(args, tmp_path, cli_env, "submitted update")
    assert code == 130, err
    assert "Traceback" not in err
    hints = [line for line in err.splitlines() if line.startswith("sovfixer-async resume ")]
    assert len(hints) == 1, err
    words = shlex.split(hints[0])
    token = json.loads(words[2])
    assert token["kind"] == "update"
    assert token["id"] in out
    assert words[3:] == ["--api-url", url, "--data-api-url", url]

    with anyio.fail_after(30):
        done = await anyio.run_process(
            [*COMMAND, *words[1:], "--out", "resumed"],
            cwd=tmp_path,
            env=cli_env,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    assert f"done update {token['id']}" in done.stdout.decode()
    assert list((tmp_path / "resumed").iterdir())


async def test_sigint_json_lists_every_running_job(
    slow_emulator: RunningEmulator, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    from sovfixer_async.emulator.outputs import make_xlsx

    url = slow_emulator.url
    for name in ("a.xlsx", "b.xlsx"):
        (tmp_path / name).write_bytes(
            make_xlsx("Sheet1", ["Street", "City"], [["1 Main", "Miami"]])
        )
    args = ["--json", "parse", "a.xlsx", "b.xlsx", "--api-url", url, "--data-api-url", url]
    code, out, err = await interrupt(args, tmp_path, cli_env, '"event": "submitted"', count=2)
    assert code == 130, err
    [event] = [json.loads(line) for line in out.splitlines() if '"interrupted"' in line]
    assert event["signal"] == "SIGINT"
    assert len(event["tokens"]) == 2
    assert err.count("sovfixer-async resume ") == 2


async def test_sigint_enhance_resumes_into_the_same_file(
    slow_emulator: RunningEmulator, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    url = slow_emulator.url
    rows = [f'loc-{i},"{i} Main St, Miami, FL"' for i in range(12)]
    (tmp_path / "in.csv").write_text("id,address\n" + "\n".join(rows) + "\n")
    args = ["enhance", "in.csv", "-s", "PG", "--batch-size", "5", "--out", "res.jsonl"]
    args += ["--api-url", url, "--data-api-url", url]
    code, _, err = await interrupt(args, tmp_path, cli_env, "submitted bulk_run")
    assert code == 130, err
    [hint] = [line for line in err.splitlines() if line.startswith("sovfixer-async resume ")]
    words = shlex.split(hint)
    assert json.loads(words[2])["kind"] == "bulk_run"
    assert words[3:5] == ["--out", "res.jsonl"]
    assert not (tmp_path / "res.jsonl").exists()
    with anyio.fail_after(30):
        done = await anyio.run_process(
            [*COMMAND, *words[1:]], cwd=tmp_path, env=cli_env, check=False
        )
    assert done.returncode == 0, done.stderr.decode()
    merged = [json.loads(line) for line in (tmp_path / "res.jsonl").read_text().splitlines()]
    assert [m["id"] for m in merged] == [f"loc-{i}" for i in range(12)]  # as enhance writes
