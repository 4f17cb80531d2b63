"""CLI tests: the real command (``python -m sovfixer_async._cli``) in a subprocess, against an
emulator running in the test's event loop on a free port."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from attrs import frozen

from sovfixer_async.emulator import RunningEmulator, run_emulator

TOKEN = "cli-test-token"
#: The command, as a console script would run it (the same ``main``).
COMMAND = [sys.executable, "-m", "sovfixer_async._cli"]
SOVID = "s-no-ping-hggcsk"
PYCACHE = Path(tempfile.gettempdir()) / "sovfixer-async-cli-tests-pycache"


@frozen
class Result:
    code: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        """Every stdout line parsed as JSON (``--json`` output)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event]


def clean_env(home: Path, token: str | None = TOKEN) -> dict[str, str]:
    """The environment minus every token variable, HOME in tmp (no ~/.pingintel.ini)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOVFIXER_AUTH_TOKEN", "PING_DATA_AUTH_TOKEN", "PINGDATA_AUTH"))
    }
    env["HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    # Compiled modules are kept between the many short runs (outside the source tree).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if token is not None:
        env["SOVFIXER_AUTH_TOKEN"] = token
    return env


Run = Callable[..., Awaitable[Result]]


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with run_emulator(job_seconds=0.3, token=TOKEN, seed=3) as emu:
        yield emu


@pytest.fixture
def cli(tmp_path: Path) -> Run:
    """``await cli(*args, env=None, token=TOKEN)``: run the command in ``tmp_path``."""

    async def run(
        *args: str, env: dict[str, str] | None = None, token: str | None = TOKEN
    ) -> Result:
        with anyio.fail_after(45):
            done = await anyio.run_process(
                [*COMMAND, *args],
                cwd=tmp_path,
                env=env if env is not None else clean_env(tmp_path, token),
                check=False,
            )
        return Result(done.returncode, done.stdout.decode(), done.stderr.decode())

    return run


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The command's environment: no token variables but ours, HOME in ``tmp_path``."""
    return clean_env(tmp_path)


@pytest.fixture
def urls(emulator: RunningEmulator) -> list[str]:
    """The global options that point the command at the test's emulator."""
    return ["--api-url", emulator.url, "--data-api-url", emulator.url]
