"""``mypy --strict`` accepts the typing examples, and would notice a wrong type in them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path(__file__).with_name("examples.py")

WRONG = """
from typing import assert_type

from sovfixer_async import Client, OutputJob


async def wrong(client: Client) -> None:
    job = await client.update_sov("s", b"item_key\\nk\\n")
    assert_type(job, OutputJob)
"""


def test_mypy_strict_accepts_the_examples_and_only_them(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_example.py"
    wrong.write_text(WRONG, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(EXAMPLES), str(wrong)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert "wrong_example.py:9:" in errors[0], errors  # (a cached run may name an old tmp dir)
    assert "[assert-type]" in errors[0]
