"""Progress lines (share, rate, time left), resumed handles, and hand-over hints, in-process
(no server: the reporter is fed events and handles; the meter is given a fake clock)."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from attrs import define
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async import DownloadFinished, JobCompleted, JobSubmitted
from sovfixer_async._cli import _still_running
from sovfixer_async._cli.commands import resume_token
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.meter import Family, Meter, clock, human_rate
from sovfixer_async._cli.parser import UsageError, build_parser, globals_of, glue_dash_values
from sovfixer_async._cli.progress import Reporter


@define
class FakeClock:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


@define
class FakeHandle:
    id: str
    kind: str = "update"
    done: bool = False

    @property
    def token(self) -> str:
        return json.dumps({"v": 2, "kind": self.kind, "id": self.id, "api": "extraction"})


def test_family_shows_share_rate_and_time_left() -> None:
    now = FakeClock()
    fam = Family("update", total=10, meter=Meter(now=now))
    assert fam.speed() == "  0%"  # nothing measured yet
    now.t = 2.0
    fam.completed = 4
    assert fam.speed() == " 40%, 2.00 jobs/s, ETA 0:03"
    now.t = 4.0
    fam.completed = 8
    fam.running["x"] = 0.5  # a running job's own progress counts
    speed = fam.speed()
    assert speed.startswith(" 85%, 2.1")
    assert speed.endswith("ETA 0:01")
    now.t = 5.0
    fam.completed = 10
    fam.running.clear()
    assert fam.speed() == "100%, in 0:05"
    assert fam.bar(width=10) == "[##########]"


def test_a_resumed_run_does_not_count_old_work_as_speed() -> None:
    now = FakeClock()
    meter = Meter(now=now)
    meter.sample(900)  # already done when first seen
    now.t = 10
    meter.sample(1000)
    assert meter.rate == pytest.approx(10.0)
    assert meter.eta(1000, 2000) == pytest.approx(100.0)


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_clock_and_rate_texts(seconds: float) -> None:
    text = clock(seconds)
    parts = [int(p) for p in text.split(":")]
    assert sum(p * 60**i for i, p in enumerate(reversed(parts))) == round(seconds)
    assert human_rate(seconds, "jobs").endswith(" jobs/s")


def test_resumed_handle_has_no_phantom_rows() -> None:
    out = io.StringIO()
    rep = Reporter("plain", per_job=False, out=out)
    rep.family("update", total=1)
    rep.track(FakeHandle("s-1-r0002"))  # resumed: no JobSubmitted came before
    rep.on_event(JobCompleted("update", "s-1-r0002"))
    rep.on_event(DownloadFinished("http://x/f", Path("f.json"), "s-1-r0002", 10, "ab"))
    assert list(rep.families) == ["update"]  # the download is the update's, no "download" row
    fam = rep.families["update"]
    assert (fam.submitted, fam.completed, fam.files) == (1, 1, 1)
    assert "1/1 done" in out.getvalue()
    assert "100%" in out.getvalue()


def context(argv: list[str]) -> tuple[Context, io.StringIO]:
    err = io.StringIO()
    args = build_parser().parse_args(argv)
    return Context(globals_of(args), Reporter("plain", out=io.StringIO(), err=err)), err


def test_hints_hold_no_token_and_name_every_job() -> None:
    ctx, err = context(["--api-url", "http://a b", "--token", "s3cret", "-e", "staging", "formats"])
    rep = ctx.reporter
    running = FakeHandle("s-1-r0001")
    rep.track(running)
    ctx.outs[running.id] = "my out"
    saved = FakeHandle("s-1-r0002")
    rep.track(saved)
    rep.delivered.add(saved.id)
    # created on the server, no handle yet (Ctrl-C between two requests)
    rep.on_event(JobSubmitted("update", "s-1-r0003", FakeHandle("s-1-r0003").token))
    tokens = _still_running(ctx)
    text = err.getvalue()
    assert "s3cret" not in text
    assert "SOVFIXER_AUTH_TOKEN_STG" in text
    hints = [shlex.split(line) for line in text.splitlines() if line.startswith("sovfixer-async ")]
    assert [json.loads(h[2])["id"] for h in hints] == ["s-1-r0001", "s-1-r0003"]
    assert hints[0][3:] == ["--out", "my out", "--api-url", "http://a b", "-e", "staging"]
    assert len(tokens) == 2


def test_resume_token_from_a_kind_and_an_id() -> None:
    token = json.loads(resume_token("b-1", "status", "bulk_enhance"))
    assert token == {"v": 2, "kind": "bulk_enhance", "id": "b-1", "api": "data"}
    assert json.loads(resume_token("s-1", "resume", "parse"))["api"] == "extraction"
    with pytest.raises(UsageError, match="--kind"):
        resume_token("s-1", "status")
    with pytest.raises(UsageError, match="plain job id"):
        resume_token('{"v":2}', "status", "update")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["usage", "--start", "-30d", "--end", "-1h"], ["usage", "--start=-30d", "--end=-1h"]),
        (["usage", "--start", "2024-01-01"], ["usage", "--start", "2024-01-01"]),
        (["x", "--start", "--", "y"], ["x", "--start", "--", "y"]),
    ],
)
def test_dash_values(argv: list[str], expected: list[str]) -> None:
    assert glue_dash_values(argv) == expected


def test_official_names_and_spellings() -> None:
    parse = build_parser().parse_args(
        ["fix", "a.xlsx", "-W", "wf", "--client-ref", "r", "--nowait", "-I", "X", "--noinput"]
    )
    assert (parse.command, parse.workflow, parse.client_ref, parse.no_wait) == (
        "parse",
        "wf",
        "r",
        True,
    )
    assert parse.integrations == ["X"]
    activity = build_parser().parse_args(["activity", "-D", "dir", "--sovid", "s-1"])
    assert (activity.download, activity.sovid) == ("dir", "s-1")
    enhance: Any = build_parser().parse_args(
        ["bulk-enhance", "-f", "a.txt", "-s", "PG", "-x", "k=v", "-c", "US"]
    )
    assert (enhance.command, enhance.file, enhance.extra, enhance.country) == (
        "enhance",
        "a.txt",
        [("k", "v")],
        "US",
    )
