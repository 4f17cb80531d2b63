"""Bad input and bad configuration: one line on stderr, exit status 2 (usage) or 1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

Run = Callable[..., Awaitable[Any]]  # the ``cli`` fixture (tests/cli/conftest.py)
SOVID = "s-no-ping-hggcsk"


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


async def test_no_command(cli: Run) -> None:
    none = await cli()
    assert none.code == 2
    assert "usage:" in none.stderr


async def test_missing_file(cli: Run, urls: list[str]) -> None:
    result = await cli("update", SOVID, "nope.csv", *urls)
    assert result.code == 2
    assert "file not found: nope.csv" in one_error_line(result.stderr)
    enhance = await cli("enhance", "nope.csv", "-s", "PG", *urls)
    assert enhance.code == 2
    assert "file not found" in one_error_line(enhance.stderr)


async def test_malformed_csv_names_file_and_line(cli: Run, urls: list[str], tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("sheet_name,sheet_row_number\nSheet1,2\nSheet1,3,x\n")
    result = await cli("update", SOVID, "bad.csv", *urls)
    assert result.code == 2
    assert "bad.csv line 3: 3 fields but the header has 2" in one_error_line(result.stderr)
    (tmp_path / "rows.csv").write_text("sheet_name,bldg_name\nSheet1,A\n")
    result = await cli("update", SOVID, "rows.csv", *urls)
    assert result.code == 2
    assert "rows.csv line 2.sheet_row_number" in one_error_line(result.stderr)


async def test_unknown_format(cli: Run, urls: list[str], tmp_path: Path) -> None:
    result = await cli("output", SOVID, "-o", "nope", *urls)
    assert result.code == 2
    line = one_error_line(result.stderr)
    assert "unknown output format 'nope'" in line
    assert "JSON" in line
    (tmp_path / "a.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n")
    update = await cli("--json", "update", SOVID, "a.csv", "-o", "json", "-o", "nope", *urls)
    assert update.code == 2
    [error] = update.of("error")
    assert error["type"] == "InvalidInputError"
    assert error["exit"] == 2


async def test_unknown_source(cli: Run, urls: list[str], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": "1", "address": "1 Main St"}\n')
    result = await cli("enhance", "in.jsonl", "-s", "NOPE", *urls)
    assert result.code == 2
    assert "NOPE" in one_error_line(result.stderr)


async def test_missing_token(cli: Run, urls: list[str]) -> None:
    result = await cli("formats", *urls, token=None)
    assert result.code == 2
    line = one_error_line(result.stderr)
    assert "no sovfixer API token found" in line
    assert "SOVFIXER_AUTH_TOKEN" in line


async def test_token_file_is_read(cli: Run, urls: list[str], tmp_path: Path) -> None:
    (tmp_path / ".pingintel.ini").write_text(
        "[sovfixer]\nSOVFIXER_AUTH_TOKEN_STG = cli-test-token\n"
    )
    result = await cli("formats", "-e", "staging", *urls, token=None)
    assert result.code == 0, result.stderr


async def test_wrong_token(cli: Run, urls: list[str]) -> None:
    result = await cli("formats", "--token", "wrong", *urls)
    assert result.code == 1
    assert "HTTP 401" in one_error_line(result.stderr)
    assert "wrong" not in result.stderr


async def test_status_with_a_bare_id(cli: Run, urls: list[str]) -> None:
    result = await cli("status", "0b7c4a86-4b43-4bd4-9d0f-1b0f3a6a1c55", *urls)
    assert result.code == 2
    assert "resume token" in one_error_line(result.stderr)
    garbled = await cli("resume", "{not json", *urls)
    assert garbled.code == 2
    assert "not a resume token" in one_error_line(garbled.stderr)


async def test_verbose_shows_the_traceback(cli: Run, urls: list[str]) -> None:
    result = await cli("-v", "output", SOVID, "-o", "nope", *urls)
    assert result.code == 2
    assert "Traceback" in result.stderr
