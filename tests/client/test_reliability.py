"""Every workflow through an emulator that drops, refuses and cuts requests.

The promises under test: no duplicate jobs, every job finishes, every file arrives whole.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async import AmbiguousSubmissionError, RetryPolicy, as_completed
from sovfixer_async.emulator import run_emulator

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"


async def test_ambiguous_submission_is_not_repeated(emulator: Any, make_client: Any) -> None:
    emulator.set_faults(ambiguous_rate=1.0)
    async with make_client() as client:
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.get_or_create_output(SOVID, "JSON", overwrite_existing=True)
    assert "get_or_create_output" in str(info.value)
    assert SOVID in str(info.value)
    counts = await emulator.stats()
    assert counts["jobs_created"]["output"] == 1  # the server acted once; we did not resubmit
    assert counts["faults_injected"]["ambiguous"] == 1


async def run_workload(
    url: str, tmp_path: Path, *, updates: int, outputs: int, locations: int
) -> dict[str, Any]:
    """Submit everything at once, wait for it, download every file; return what happened."""
    from sovfixer_async import Client, PollPolicy

    # The emulator's random faults answer 429 with a constant Retry-After of 1 s whatever the
    # send rate: no rate limit to adapt to. The adaptive limiter pauses the client for each
    # but, finding that its cuts do not lower the share refused, keeps its rate.
    retry = RetryPolicy(attempts=30, backoff_initial=0.01, backoff_max=0.05, budget_ratio=5.0)
    async with Client(
        api_url=url, data_api_url=url, token="t", retry=retry, poll=PollPolicy.fast()
    ) as client:
        handles: list[Any] = []

        async def add(factory: Any) -> None:
            handles.append(await factory())

        async with anyio.create_task_group() as tg:
            for n in range(updates):
                row = f"sheet_name,sheet_row_number,bldg_name\nSheet1,{2 + n % 25},S{n}\n"
                tg.start_soon(add, lambda r=row: client.update_sov(SOVID, r.encode()))
            for n in range(outputs):
                fmt = ("JSON", "AUDITOR")[n % 2]
                tg.start_soon(
                    add,
                    lambda f=fmt: client.get_or_create_output(SOVID, f, overwrite_existing=True),
                )
            tg.start_soon(
                add,
                lambda: client.bulk_enhance(
                    [{"id": f"l{i}", "address": f"{i} elm st"} for i in range(locations)],
                    sources=["PG", "PH"],
                    batch_size=500,
                ),
            )
        done = [h async for h in as_completed(handles, timeout=120)]
        files: list[Any] = []
        for n, handle in enumerate(done):
            await handle.download(tmp_path / f"h{n}")
            files.extend(handle.files)
        results = 0
        for handle in done:
            if hasattr(handle, "results"):
                results += sum([1 async for _ in handle.results()])
    return {"handles": done, "files": files, "results": results}


@pytest.mark.slow
async def test_faults_cost_nothing_but_time(tmp_path: Path) -> None:
    async with run_emulator(
        job_seconds=0.3,
        seed=11,
        fault_rate=0.2,
        reset_rate=0.1,
        truncate_rate=0.3,
        output_bytes=300_000,
    ) as emu:
        got = await run_workload(emu.url, tmp_path, updates=10, outputs=20, locations=1500)
        counts = await emu.stats()
    assert len(got["handles"]) == 31
    assert got["results"] == 1500
    assert counts["jobs_created"]["update"] == 10  # no duplicates despite the faults
    assert counts["jobs_created"]["output"] == 20
    assert counts["jobs_created"]["bulk_enhance"] == 3
    assert counts["faults_injected"]["fault"] > 0
    assert counts["faults_injected"]["reset"] > 0
    assert counts["faults_injected"]["truncate"] > 0
    for result in got["files"]:
        assert hashlib.sha256(result.path.read_bytes()).hexdigest() == result.sha256
        assert (
            result.size >= 300_000
            or result.path.suffix == ".jsonl"
            or "output-data" in str(result.path)
        )
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_soak_under_faults(tmp_path: Path) -> None:
    """Five times the default-run workload, with more faults (run by .ci/run)."""
    async with run_emulator(
        job_seconds=1.0,
        seed=3,
        fault_rate=0.3,
        reset_rate=0.2,
        truncate_rate=0.5,
        latency_ms=5,
        output_bytes=1_000_000,
    ) as emu:
        got = await run_workload(emu.url, tmp_path, updates=50, outputs=100, locations=7_500)
        counts = await emu.stats()
    assert len(got["handles"]) == 151
    assert got["results"] == 7_500
    assert counts["jobs_created"]["update"] == 50
    assert counts["jobs_created"]["output"] == 100
    assert counts["jobs_created"]["bulk_enhance"] == 15
    for result in got["files"]:
        assert hashlib.sha256(result.path.read_bytes()).hexdigest() == result.sha256
    assert not list(tmp_path.rglob("*.part"))
