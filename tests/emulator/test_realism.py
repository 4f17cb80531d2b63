"""Realistic traits of the emulator (issue 13): log-normal job times, per-kind capacity with
FIFO queues, coarse progress, the realistic profile, and the job records of the stats.

Time is the emulator's own clock, replaced by a hand-moved one (``FakeClock``): every
assertion is about what the server answers at a given instant, none about how long
anything took.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import pytest

from sovfixer_async.emulator import EmulatorSettings, build_parser, settings_from_args
from sovfixer_async.emulator import timing as timing_module
from sovfixer_async.emulator.settings import PROFILES
from sovfixer_async.emulator.timing import JobTiming, coarse_share

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ONE = {"locations": [{"id": "a", "address": "1 main st"}], "sources": ["PG"]}
CSV = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n"


class FakeClock:
    """The emulator's clock, moved by hand (starts at the real time: ISO dates stay sane)."""

    def __init__(self) -> None:
        self.now = float(math.floor(time.time()))
        self.start = self.now

    def __call__(self) -> float:
        return self.now

    def at(self, offset: float) -> None:
        self.now = self.start + offset


async def emulator_with_clock(factory: Any, **settings: Any) -> tuple[Any, FakeClock]:
    emu = await factory(**settings)
    clock = FakeClock()
    emu.state.clock = clock
    return emu, clock


# --- log-normal job times -------------------------------------------------------------------


def test_lognormal_draws_are_reproducible_by_seed() -> None:
    def draws(seed: int | None, n: int = 400) -> list[float]:
        timing = JobTiming(EmulatorSettings(job_seconds=3.0, job_spread=0.7, seed=seed))
        return [timing.duration() for _ in range(n)]

    first, again, other = draws(11), draws(11), draws(12)
    assert first == again
    assert first != other
    # Around the median, with the spread of sigma 0.7 (seeded: these bounds cannot flake).
    assert 2.5 < statistics.median(first) < 3.5
    assert 0.55 < statistics.stdev(math.log(d) for d in first) < 0.85
    assert min(first) > 0


def test_no_spread_is_exact() -> None:
    timing = JobTiming(EmulatorSettings(job_seconds=1.5, seed=1))
    assert {timing.duration() for _ in range(50)} == {1.5}


async def test_seeded_emulators_give_jobs_the_same_times(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    runs = []
    for _ in range(2):
        emu = await sovfixer_emulator_factory(job_seconds=2.0, job_spread=0.7, seed=5)
        api = make_api(emu)
        for _ in range(6):
            await api.post("/api/v1/bulk_enhance", json=ONE)
        runs.append([job.duration for job in emu.state.bulk_jobs.values()])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 6  # spread: every job its own time


# --- capacity and FIFO queues --------------------------------------------------------------


async def test_capacity_queues_jobs_in_fifo_order(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu, clock = await emulator_with_clock(sovfixer_emulator_factory, job_seconds=10, capacity=2)
    api = make_api(emu)
    ids = [(await api.post("/api/v1/bulk_enhance", json=ONE))["id"] for _ in range(5)]

    async def statuses() -> list[tuple[str, int]]:
        out = []
        for ident in ids:
            request = (await api.get(f"/api/v1/bulk_enhance/{ident}"))["request"]
            out.append((request["status"], request["num_completed"]))
        return out

    # Two run, three wait in line with no progress.
    assert await statuses() == [("PENDING", 0)] * 2 + [("QUEUED", 0)] * 3
    clock.at(9)
    running = await statuses()
    assert [s for s, _ in running] == ["IN_PROGRESS"] * 2 + ["QUEUED"] * 3
    assert [n for _, n in running[2:]] == [0, 0, 0]
    # At 10 s the first two end and the next two (in order of creation) take their slots.
    clock.at(10)
    assert [s for s, _ in await statuses()] == ["COMPLETE"] * 2 + ["PENDING"] * 2 + ["QUEUED"]
    # Nobody looks between 10 s and 28 s: the queue still moved as if watched.
    clock.at(28)
    assert [s for s, _ in await statuses()] == ["COMPLETE"] * 4 + ["IN_PROGRESS"]
    clock.at(30)
    assert [s for s, _ in await statuses()] == ["COMPLETE"] * 5

    stats = await emu.stats()
    records = {r["id"]: r for r in stats["job_records"]}
    began = [records[i]["began"] - clock.start for i in ids]
    ended = [records[i]["ended"] - clock.start for i in ids]
    assert began == [0, 0, 10, 10, 20]
    assert ended == [10, 10, 20, 20, 30]
    # Server time runs from creation, queueing included; the floor is the last end.
    assert [records[i]["created"] for i in ids] == [clock.start] * 5
    assert stats["last_job_ended"] == clock.start + 30
    assert stats["first_job_created"] == clock.start
    assert stats["jobs_finished"] == {"bulk_enhance": 5}


async def test_capacity_is_per_kind_and_updates_queue_from_start(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu, clock = await emulator_with_clock(sovfixer_emulator_factory, job_seconds=4, capacity=1)
    api = make_api(emu)
    sudids = []
    for _ in range(2):
        sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
        await api.post(
            f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(CSV)
        )
        sudids.append(sudid)
    output = await api.post(f"/api/v1/sov/{SOVID}/get_or_create_output", json={
        "output_format": "JSON", "overwrite_existing": True,
    })  # fmt: skip
    assert output["request"]["status"] == "PENDING"
    clock.at(1)
    for sudid in sudids:  # started one second apart
        await api.post(f"/api/v1/sov/update/{sudid}/start", json={})
        clock.at(2)
    second = (await api.get(f"/api/v1/sov/update/{sudids[1]}"))["request"]
    assert (second["status"], second["pct_complete"]) == ("PENDING", 0)
    assert second["last_health_status"] == "Queued."
    # The output job (another kind) ran on its own slot meanwhile.
    clock.at(4)
    done = await api.get(f"/api/v1/sov/get_or_create_output/{output['request']['id']}")
    assert done["request"]["status"] == "COMPLETE"
    clock.at(9)  # first update: 1..5; second: 5..9
    assert (await api.get(f"/api/v1/sov/update/{sudids[1]}"))["request"]["status"] == "COMPLETE"
    records = {r["id"]: r for r in (await emu.stats())["job_records"]}
    first, then = records[sudids[0]], records[sudids[1]]
    assert (first["submitted"] - clock.start, first["began"] - clock.start) == (1, 1)
    assert (then["submitted"] - clock.start, then["began"] - clock.start) == (2, 5)
    assert then["ended"] - clock.start == 9


# --- progress ------------------------------------------------------------------------------


def test_coarse_share_steps() -> None:
    assert [coarse_share(x / 10) for x in range(11)] == [
        0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0,
    ]  # fmt: skip
    assert coarse_share(0.5) == 0.2
    assert coarse_share(-1) == 0.0
    assert coarse_share(2) == 1.0


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        # The update's IN_PROGRESS phase is its second half (5..10 s).
        ("coarse", {5.5: 0, 6.5: 0, 7.5: 20, 8.5: 40, 9.0: 60, 9.9: 90}),
        ("linear", {5.5: 10, 6.5: 30, 7.5: 50, 8.5: 70, 9.0: 80, 9.9: 98}),
    ],
)
async def test_update_progress_curve(
    sovfixer_emulator_factory: Any, make_api: Any, progress: str, expected: dict[float, int]
) -> None:
    emu, clock = await emulator_with_clock(
        sovfixer_emulator_factory, job_seconds=10, progress=progress
    )
    api = make_api(emu)
    sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
    await api.post(f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(CSV))
    await api.post(f"/api/v1/sov/update/{sudid}/start", json={})
    seen = {}
    for offset in expected:
        clock.at(offset)
        seen[offset] = (await api.get(f"/api/v1/sov/update/{sudid}"))["request"]["pct_complete"]
    assert seen == expected


async def test_coarse_bulk_progress_is_in_tenths(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu, clock = await emulator_with_clock(
        sovfixer_emulator_factory, job_seconds=9, progress="coarse"
    )
    api = make_api(emu)
    body = {"locations": [{"id": str(i), "address": f"{i} main st"} for i in range(50)],
            "sources": ["PG"]}  # fmt: skip
    ident = (await api.post("/api/v1/bulk_enhance", json=body))["id"]
    counts = []
    for tenth in range(60, 90):  # IN_PROGRESS is the last third: 6..9 s
        clock.at(tenth / 10)
        counts.append((await api.get(f"/api/v1/bulk_enhance/{ident}"))["request"]["num_completed"])
    assert set(counts) <= {0, 5, 10, 15, 20, 25, 30, 35, 40, 45}
    assert counts == sorted(counts)
    assert counts[0] == 0
    assert counts[-1] >= 40


# --- profile, flags, records ---------------------------------------------------------------


def test_realistic_profile_values() -> None:
    settings = EmulatorSettings.from_profile("realistic")
    assert (settings.job_seconds, settings.job_spread, settings.capacity) == (3.0, 0.7, 40)
    assert (settings.rate_limit, settings.burst, settings.progress) == (100.0, 200, "coarse")
    assert PROFILES["realistic"]["burst"] == 200
    with pytest.raises(ValueError, match="unknown profile"):
        EmulatorSettings.from_profile("nope")


def test_flags_build_the_traits_and_override_the_profile() -> None:
    parse = build_parser().parse_args
    plain = settings_from_args(parse([]))
    assert (plain.job_spread, plain.capacity, plain.rate_limit, plain.progress) == (
        0.0, None, None, "linear",
    )  # fmt: skip
    assert plain.job_seconds == EmulatorSettings().job_seconds
    realistic = settings_from_args(parse(["--profile", "realistic"]))
    assert realistic == EmulatorSettings.from_profile("realistic", port=realistic.port)
    mixed = settings_from_args(
        parse(["--profile", "realistic", "--job-seconds", "0.5", "--capacity", "0"])
    )
    assert (mixed.job_seconds, mixed.capacity, mixed.job_spread) == (0.5, None, 0.7)
    own = settings_from_args(parse([
        "--job-spread", "0.3", "--capacity", "7", "--progress", "coarse",
        "--rate-limit", "5", "--burst", "9", "--seed", "2",
    ]))  # fmt: skip
    assert (own.job_spread, own.capacity, own.progress) == (0.3, 7, "coarse")
    assert (own.rate_limit, own.burst) == (5.0, 9)
    for bad in (["--job-spread", "-1"], ["--capacity", "-2"], ["--rate-limit", "-1"]):
        with pytest.raises(ValueError, match="invalid emulator setting"):
            settings_from_args(parse(bad))


async def test_job_records_are_bounded_and_note_when_seen(
    sovfixer_emulator_factory: Any, make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timing_module, "RECORDS_KEPT", 3)
    emu, clock = await emulator_with_clock(sovfixer_emulator_factory, job_seconds=1)
    api = make_api(emu)
    ids = [(await api.post("/api/v1/bulk_enhance", json=ONE))["id"] for _ in range(5)]
    clock.at(1)
    await api.get(f"/api/v1/bulk_enhance/{ids[4]}")  # advances every job; one is seen
    clock.at(3)
    await api.get(f"/api/v1/bulk_enhance/{ids[4]}")
    stats = await api.control("/_emulator/stats")
    assert stats["jobs_finished"] == {"bulk_enhance": 5}
    assert [r["id"] for r in stats["job_records"]] == ids[2:]
    seen = {r["id"]: r["seen"] for r in stats["job_records"]}
    assert seen == {ids[2]: None, ids[3]: None, ids[4]: clock.start + 1}
    reset = await api.control("/_emulator/stats/reset", json={})
    assert reset["job_records"] == []
    assert reset["last_job_ended"] is None


async def test_realistic_profile_runs_in_process(make_api: Any) -> None:
    from sovfixer_async.emulator import run_emulator

    async with run_emulator(profile="realistic", job_seconds=0.05, seed=1) as emu:
        assert emu.settings.capacity == 40
        assert emu.settings.job_seconds == 0.05
        api = make_api(emu)
        settings = await api.control("/_emulator/settings")
        assert settings["rate_limit"] == 100.0
        assert settings["progress"] == "coarse"
        with pytest.raises(ValueError, match="not both"):
            async with run_emulator(EmulatorSettings(), profile="realistic"):
                pass
