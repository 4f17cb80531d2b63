"""``mypy --strict`` checks the typing examples of both facades (typing_examples.py), and
catches a wrong type through the blocking facade (one mypy run for both)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).with_name("typing_examples.py")
MYPY = [sys.executable, "-m", "mypy", "--strict"]

BAD = """\
from typing import assert_type
import sovfixer_async.sync as sync
def f(client: sync.Client) -> None:
    assert_type(client.update_sov("s-1", "x.csv"), sync.OutputJob)
    client.usage(start=3)
"""


@pytest.mark.slow  # a cold mypy run takes 5-10 s
def test_typing_examples_pass_and_a_wrong_type_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    done = subprocess.run(
        [*MYPY, "--cache-dir", str(tmp_path / "cache"), str(EXAMPLES), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith(str(bad)) for line in errors), done.stdout
    assert [line.split(":")[1] for line in errors] == ["4", "5"], done.stdout
    assert "[assert-type]" in errors[0]
    assert '"start"' in errors[1]
    assert "[arg-type]" in errors[1]
