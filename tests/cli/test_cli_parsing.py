"""Argument parsing, CSV reading and reporting, in-process (no subprocess, no server)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sovfixer_async import InvalidInputError, JobCompleted, JobSubmitted
from sovfixer_async._cli.commands import located, read_update_csvs, resume_token
from sovfixer_async._cli.parser import (
    UsageError,
    build_emulator_parser,
    build_parser,
    find_command,
    globals_of,
)
from sovfixer_async._cli.progress import Reporter, choose_mode, human_bytes


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-url", "http://a", "--token", "t", "-e", "STAGING", "output", "s-1", "-o", "json"],
        [
            "output",
            "s-1",
            "-o",
            "json",
            "--api-url",
            "http://a",
            "--api-token",
            "t",
            "-e",
            "staging",
        ],
        ["--api-url", "http://a", "output", "s-1", "--token", "t", "-o", "json", "-e", "staging"],
    ],
)
def test_global_options_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    g = globals_of(args)
    assert (args.command, args.sovid, args.format) == ("output", "s-1", "json")
    assert (g.api_url, g.token, g.environment) == ("http://a", "t", "staging")
    assert g.data_api_url is None
    assert g.json is False
    assert g.verbose == 0


def test_an_option_after_the_command_does_not_reset_one_before() -> None:
    args = build_parser().parse_args(["--json", "-v", "formats", "--max-connections", "4"])
    g = globals_of(args)
    assert g.json
    assert g.verbose == 1
    assert g.max_connections == 4


def test_emulator_token_is_the_emulators_own() -> None:
    args = build_emulator_parser().parse_args(["--token", "secret", "--port", "0"])
    assert (args.token, args.port) == ("secret", 0)
    argv = ["--api-url", "emulator", "-v", "emulator", "--port", "0"]
    assert find_command(argv) == 3


def test_repeatable_options_and_aliases() -> None:
    args = build_parser().parse_args(
        [
            "update",
            "s-1",
            "a.csv",
            "b.csv",
            "-o",
            "json",
            "--output-format",
            "AIR",
            "-E",
            "insured_name=Acme Corp",
            "--extra",
            "k=v=w",
            "--nowait",
        ]
    )
    assert args.csv == ["a.csv", "b.csv"]
    assert args.formats == ["json", "AIR"]
    assert args.extra == [("insured_name", "Acme Corp"), ("k", "v=w")]
    assert args.no_wait


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["output", "s-1"], "required"),
        (["-e", "moon", "formats"], "unknown environment"),
        (["update", "s-1", "a.csv", "-E", "novalue"], "KEY=VALUE"),
        (["enhance", "in.csv", "--batch-size", "0"], ">= 1"),
        (["nope"], "invalid choice"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_status_wants_a_token_not_an_id() -> None:
    with pytest.raises(UsageError, match="resume token"):
        resume_token("0b7c4a86-4b43-4bd4-9d0f-1b0f3a6a1c55", "status")
    assert resume_token('{"v":1}', "status") == '{"v":1}'


def test_csv_rows_of_several_files_keep_their_origin(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(
        "sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n\nSheet1,3,B\n"
    )
    (tmp_path / "b.csv").write_text("\ufeffitem_key,bldg_name\nk-1,C\n")
    rows, origins = read_update_csvs([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])
    assert [r.get("bldg_name") for r in rows] == ["A", "B", "C"]
    assert origins == [
        (str(tmp_path / "a.csv"), 2),
        (str(tmp_path / "a.csv"), 4),
        (str(tmp_path / "b.csv"), 2),
    ]
    error = located(InvalidInputError("bad", field="locations[2].bldg_name"), origins)
    assert str(error) == f"{tmp_path / 'b.csv'} line 2.bldg_name: bad"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header row"),
        ("a,a\n1,2\n", "repeated"),
        ("sheet_name,sheet_row_number\nSheet1,2,extra\n", "line 2: 3 fields"),
        ('sheet_name,sheet_row_number\n"Sheet1,2\n', "malformed CSV"),
        ("sheet_name,sheet_row_number\n", "no rows"),
    ],
)
def test_malformed_csvs(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        read_update_csvs([str(path)])


def test_missing_csv(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="file not found"):
        read_update_csvs([str(tmp_path / "nope.csv")])


def test_json_reporter_writes_one_object_per_line() -> None:
    out = io.StringIO()
    rep = Reporter("json", out=out, err=io.StringIO())
    rep.on_event(JobSubmitted("update", "s-1-r0001"))
    rep.on_event(JobCompleted("update", "s-1-r0001"))
    rep.result("result", "ignored in json", id="s-1-r0001")
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["completed", "result"]
    assert rep.families["update"].completed == 1


def test_plain_reporter_family_lines() -> None:
    out = io.StringIO()
    rep = Reporter("plain", per_job=False, out=out)
    rep.family("update", total=2)
    rep.on_event(JobSubmitted("update", "a"))
    rep.on_event(JobCompleted("update", "a"))
    assert "update   1/2 done, 0 failed, 0 files, 0 B" in out.getvalue()


def test_modes_and_sizes() -> None:
    assert choose_mode(json_output=True, quiet=True, stream=io.StringIO()) == "json"
    assert choose_mode(json_output=False, quiet=True, stream=io.StringIO()) == "quiet"
    assert choose_mode(json_output=False, quiet=False, stream=io.StringIO()) == "plain"
    assert [human_bytes(n) for n in (12, 1536, 2_500_000)] == ["12 B", "1.5 kB", "2.5 MB"]
