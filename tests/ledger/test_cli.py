"""``sovfixer-async ledger ...`` and ``worker`` in subprocesses, against the emulator."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async.emulator import run_emulator

from .helpers import SOVID, workbook

pytestmark = pytest.mark.anyio
TOKEN = "ledger-cli-token"
COMMAND = [sys.executable, "-m", "sovfixer_async._cli"]


@pytest.fixture
async def emulator() -> Any:
    async with run_emulator(job_seconds=0.1, token=TOKEN, seed=5) as emu:
        yield emu


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOVFIXER_")}
    env.update(HOME=str(tmp_path), SOVFIXER_AUTH_TOKEN=TOKEN, PYTHONUNBUFFERED="1", **extra)
    return env


async def run(tmp_path: Path, *args: str, **extra: str) -> tuple[int, str, str]:
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [*COMMAND, *args], cwd=tmp_path, env=env_for(tmp_path, **extra), check=False
        )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.slow
async def test_plan_work_status_and_results_from_the_shell(emulator: Any, tmp_path: Path) -> None:
    (tmp_path / "book.xlsx").write_bytes(workbook())
    (tmp_path / "locs.csv").write_text(
        "id,address\n" + "".join(f"l{i},{i} main st miami fl\n" for i in range(12))
    )
    urls = ["--api-url", emulator.url, "--data-api-url", emulator.url]
    ledger = f"sqlite:///{tmp_path / 'jobs.db'}"
    code, out, err = await run(tmp_path, "ledger", "plan", "parse", "book.xlsx", "--ledger", ledger)
    assert code == 0, err
    assert "item 1" in out
    code, out, err = await run(
        tmp_path, "ledger", "plan", "output", SOVID, "JSON", "--json", SOVFIXER_LEDGER_URL=ledger
    )
    assert code == 0, err
    assert events(out)[0]["kind"] == "output"
    code, out, err = await run(
        tmp_path,
        "ledger",
        "plan",
        "enhance",
        "locs.csv",
        "--sources",
        "PG",
        "--batch-size",
        "5",
        "--json",
        "--ledger",
        ledger,
    )
    assert code == 0, err
    (planned,) = events(out)
    assert (planned["locations"], len(planned["items"])) == (12, 3)
    code, out, err = await run(
        tmp_path,
        "worker",
        "--ledger",
        ledger,
        "--out",
        "out",
        "--exit-when-done",
        "--max-jobs",
        "enhance=2",
        "--max-requests",
        "8",
        *urls,
    )
    assert code == 0, err
    code, out, err = await run(tmp_path, "ledger", "status", "--json", "--ledger", ledger)
    assert code == 0, err
    (status,) = events(out)
    assert status["counts"] == {
        "parse": {"done": 1},
        "output": {"done": 1},
        "enhance_batch": {"done": 3},
    }
    code, out, err = await run(tmp_path, "ledger", "results", planned["run_id"], "--ledger", ledger)
    assert code == 0, err
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == sorted(
        f"l{i}" for i in range(12)
    )
    assert (tmp_path / "out" / "parse-1").is_dir()


async def test_held_and_resolve_from_the_shell(emulator: Any, tmp_path: Path) -> None:
    emulator.add_route_fault("POST /api/v1/bulk_enhance ambiguous times=1")
    (tmp_path / "locs.csv").write_text("id,address\na,1 main st miami fl\n")
    ledger = f"sqlite:///{tmp_path / 'jobs.db'}"
    urls = ["--api-url", emulator.url, "--data-api-url", emulator.url]
    await run(
        tmp_path, "ledger", "plan", "enhance", "locs.csv", "--sources", "PG", "--ledger", ledger
    )
    code, _, err = await run(
        tmp_path, "worker", "--ledger", ledger, "--out", "out", "--exit-when-done", *urls
    )
    assert code == 0, err
    code, out, err = await run(tmp_path, "ledger", "held", "--json", "--ledger", ledger)
    (held,) = events(out)
    assert "ambiguous" in held["reason"]
    code, out, err = await run(
        tmp_path, "ledger", "resolve", str(held["id"]), "--resubmit", "--ledger", ledger
    )
    assert code == 0, err
    code, out, err = await run(tmp_path, "ledger", "held", "--json", "--ledger", ledger)
    assert events(out) == []


async def test_the_ledger_password_never_reaches_the_terminal(tmp_path: Path) -> None:
    secret = "hunter2-not-for-logs"
    url = f"postgresql://ops:{secret}@127.0.0.1:1/jobs?connect_timeout=2"
    for args in (["ledger", "status", "-v"], ["ledger", "held", "--ledger", url, "--json"]):
        code, out, err = await run(tmp_path, *args, SOVFIXER_LEDGER_URL=url)
        assert code != 0
        assert secret not in out + err
        assert "ledger" in err


async def test_a_missing_ledger_url_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "ledger", "status")
    assert code == 2
    assert "SOVFIXER_LEDGER_URL" in err
