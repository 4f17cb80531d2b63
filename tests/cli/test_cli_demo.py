"""``sovfixer-async demo`` end to end (small), and the ``emulator`` command as a process."""

from __future__ import annotations

import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.text import TextReceiveStream

pytestmark = pytest.mark.anyio

Run = Callable[..., Awaitable[Any]]  # the ``cli`` fixture (tests/cli/conftest.py)
COMMAND = [sys.executable, "-m", "sovfixer_async._cli"]


async def test_demo_end_to_end(cli: Run, tmp_path: Path) -> None:
    small = ["--locations", "1500", "--job-seconds", "0.3", "--updates", "3"]
    result = await cli("demo", *small, token=None)
    assert result.code == 0, result.stderr
    out = tmp_path / "sovfixer-demo"
    summary = result.stdout[result.stdout.index("family") :]
    for family in ("update", "output", "parse", "enhance", "total"):
        assert f"\n{family}" in summary
    assert "requests sent" in summary
    assert "wall time" in summary
    assert len(list((out / "updates").iterdir())) == 2  # the third update fails on purpose
    assert len(list((out / "outputs").iterdir())) == 3  # the SOV and the two SUDs
    lines = (out / "enhance" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 1500
    assert list((out / "parse").iterdir())

    again = await cli("--json", "demo", *small, "--locations", "20", token=None)
    assert again.code == 0, again.stderr
    [total] = again.of("summary")
    assert total["locations"] == 20
    assert total["requests"] > 20
    assert total["failed"] == 1
    assert len((out / "enhance" / "results.jsonl").read_text().splitlines()) == 20


async def test_demo_refuses_a_folder_it_did_not_make(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    result = await cli("demo", "--out", "mine", "--locations", "10", token=None)
    assert result.code == 2
    assert "not a folder this demo made" in result.stderr
    assert (tmp_path / "mine" / "keep.txt").read_text() == "precious"


async def test_emulator_command(cli: Run, cli_env: dict[str, str], tmp_path: Path) -> None:
    args = ["emulator", "--port", "0", "--token", "secret", "--job-seconds", "0.1"]
    with anyio.fail_after(30):
        async with await anyio.open_process([*COMMAND, *args], env=cli_env) as process:
            assert process.stdout is not None
            url = ""
            async for chunk in TextReceiveStream(process.stdout):
                url += chunk
                if "\n" in url:
                    break
            url = url.strip()
            assert url.startswith("http://127.0.0.1:")
            ok = await cli("formats", "--json", "--api-url", url, "--token", "secret")
            assert ok.code == 0, ok.stderr
            assert {"JSON"} <= {e["output_format"].upper() for e in ok.of("format")}
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0
    bad = await cli("emulator", "--fault-rate", "2")
    assert bad.code == 2
    assert bad.stderr.startswith("sovfixer-async emulator: error: invalid emulator setting")
    assert bad.stderr.count("\n") == 1
