"""Every Python example of README.md runs against the emulator.

Blocks starting with ``# runnable`` are executed (in a worker thread, with its own event
loop) against an in-process emulator: ``SOVFIXER_AUTH_TOKEN`` is set and ``Client(`` gets the
emulator's URLs, unless the block names its own ``api_url``. ``# runnable: pytest`` blocks are
test files, run by pytest in a subprocess with the ``sovfixer_async.testing`` plugin.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest

from sovfixer_async.emulator import run_emulator
from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def runnable(kind: str) -> list[pytest.param]:  # type: ignore[valid-type]
    blocks = [b for b in python_blocks() if b.startswith("# runnable")]
    chosen = [b for b in blocks if b.startswith("# runnable: pytest") == (kind == "pytest")]
    return [pytest.param(b, id=f"block{i}") for i, b in enumerate(chosen)]


def test_every_python_example_is_runnable() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 12
    assert [b.splitlines()[0] for b in blocks if not b.startswith("# runnable")] == []


def files(folder: Path) -> None:
    """The input files the examples name."""
    (folder / "corrections.csv").write_text(
        "sheet_name,sheet_row_number,bldg_name\nSheet1,2,Normal House\n"
    )
    rows = [f'loc-{i},"{i} Main St, Miami, FL 33101"' for i in range(30)]
    (folder / "locations.csv").write_text("id,address\n" + "\n".join(rows) + "\n")
    header = ["Location Name", "Street", "City", "State"]
    (folder / "sov.xlsx").write_bytes(make_xlsx("Sheet1", header, [["A", "1 Main", "Miami", "FL"]]))


@pytest.mark.parametrize("block", runnable("script"))
async def test_readme_example(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SOVFIXER_AUTH_TOKEN", "readme-token")
    async with run_emulator(job_seconds=0.2) as emu:
        code = block
        if "api_url" not in code:
            code = re.sub(
                r"\bClient\(", f"Client(api_url={emu.url!r}, data_api_url={emu.url!r}, ", code
            )
        compiled = compile(code, "README.md", "exec")
        with anyio.fail_after(30):
            await anyio.to_thread.run_sync(exec, compiled, {"__name__": "__main__"})


@pytest.mark.parametrize("block", runnable("pytest"))
async def test_readme_pytest_example(block: str, tmp_path: Path) -> None:
    (tmp_path / "test_readme_example.py").write_text(block)
    with anyio.fail_after(45):
        done = await anyio.run_process(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "test_readme_example.py",
            ],
            cwd=tmp_path,
            check=False,
        )
    assert done.returncode == 0, done.stdout.decode()[-3000:]
