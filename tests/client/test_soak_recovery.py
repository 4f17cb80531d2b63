"""Issue 12's soak: a fleet of submissions under 429/503, resets, truncations and
ambiguous 502s, each failure handled as the README says. Afterwards, against what the
emulator made: no job lost (every server job has a handle, or was reported unknown), no
duplicate parse or update, every bulk location accounted for exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async import (
    AmbiguousSubmissionError,
    BulkEnhanceRun,
    Client,
    OutputJob,
    ParseJob,
    PollPolicy,
    RetryPolicy,
    SOVFixerError,
    UpdateJob,
)
from sovfixer_async.emulator import run_emulator

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
PDF = b"%PDF-1.4 soak"
TRIES = 20


class Fleet:
    def __init__(self, client: Client):
        self.client = client
        self.updates: list[UpdateJob] = []
        self.parses: list[ParseJob] = []
        self.outputs: list[OutputJob] = []
        self.unknown_outputs = 0
        self.run: BulkEnhanceRun | None = None

    async def update(self, n: int) -> None:
        rows = f"sheet_name,sheet_row_number,bldg_name\nSheet1,{2 + n % 20},Soak {n}\n".encode()
        job: Any = None
        for _ in range(TRIES):
            try:
                job = await self.client.update_sov(SOVID, rows, client_ref=f"soak-u-{n:03d}")
                break
            except AmbiguousSubmissionError as exc:
                job = exc.handle or await self.client.reconcile(exc)
            except SOVFixerError as exc:
                job = exc.handle  # None: nothing was made, so trying again is safe
            if job is not None:
                break
        assert isinstance(job, UpdateJob)
        for _ in range(TRIES):
            if job.stage == "started":
                break
            try:
                if job.stage in (None, "initiated"):
                    await job.add_locations(rows)  # rows sent twice: the later overrides
                await job.start()
            except SOVFixerError:
                continue
        self.updates.append(job)
        await job.wait(timeout=300)

    async def parse(self, n: int) -> None:
        for _ in range(TRIES):
            try:
                job: Any = await self.client.parse_sov(
                    PDF, filename=f"soak-{n}.pdf", client_ref=f"soak-p-{n:03d}"
                )
            except AmbiguousSubmissionError as exc:
                job = await self.client.reconcile(exc)
            except SOVFixerError:
                continue  # refused: nothing was made
            if job is not None:
                self.parses.append(job)
                return
        raise AssertionError(f"parse {n} never submitted")

    async def output(self, n: int) -> None:
        fmt = ("JSON", "AUDITOR")[n % 2]
        for _ in range(TRIES):
            try:
                job = await self.client.get_or_create_output(SOVID, fmt, overwrite_existing=True)
            except AmbiguousSubmissionError:
                self.unknown_outputs += 1  # no client_ref: reported, never resubmitted
                return
            except SOVFixerError:
                continue
            self.outputs.append(job)
            await job.wait(timeout=300)
            return

    async def bulk(self, locations: list[dict[str, Any]]) -> None:
        try:
            run = await self.client.bulk_enhance(locations, sources=["PG"], batch_size=50)
        except SOVFixerError as exc:
            run = exc.handle
        assert isinstance(run, BulkEnhanceRun)
        for _ in range(TRIES):
            if not run.pending:
                break
            await run.submit_pending()
        self.run = run
        await run.wait(timeout=300)


UPDATES = PARSES = 60
OUTPUTS = 80
LOCATIONS = 5000


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [12, 13, 14])
async def test_soak_no_job_lost_no_duplicate_every_location_accounted(
    tmp_path: Path, seed: int
) -> None:
    retry = RetryPolicy(
        attempts=30,
        backoff_initial=0.01,
        backoff_max=0.05,
        max_retry_after=0.05,
        budget_ratio=5.0,
    )
    locations = [{"id": f"l{i}", "address": f"{i} elm st"} for i in range(LOCATIONS)]
    async with run_emulator(
        job_seconds=0.3,
        seed=seed,
        fault_rate=0.2,
        reset_rate=0.1,
        truncate_rate=0.3,
        ambiguous_rate=0.15,
        route_faults=(
            "POST /api/v1/sov/update/*/add_locations reset rate=0.1",
            "POST /api/v1/sov/update/*/add_locations ambiguous rate=0.1",
            "POST /api/v1/bulk_enhance 400 rate=0.1",
            "POST /api/v1/bulk_enhance reset_after rate=0.05",
            "POST /api/v1/sov reset_after rate=0.1",
            "POST /api/v1/sov/*/initiate_update reset rate=0.1",
        ),
    ) as emu:
        async with Client(
            api_url=emu.url,
            data_api_url=emu.url,
            token="t",
            retry=retry,
            poll=PollPolicy.fast(),
            reconcile_grace=0.05,
        ) as client:
            fleet = Fleet(client)
            async with anyio.create_task_group() as tg:
                for n in range(UPDATES):
                    tg.start_soon(fleet.update, n)
                for n in range(PARSES):
                    tg.start_soon(fleet.parse, n)
                for n in range(OUTPUTS):
                    tg.start_soon(fleet.output, n)
                tg.start_soon(fleet.bulk, locations)
            run = fleet.run
            assert run is not None
            results = [(lid, per_source) async for lid, per_source in run.results()]
            for n, job in enumerate(fleet.updates):
                await job.download(tmp_path / f"u{n}")
        state = emu.state
        counts = await emu.stats()

    # Updates: one server job per client_ref, each one ours and finished.
    made_updates = {j.id: j.client_ref for j in state.updates.values()}
    assert Counter(made_updates.values()) == Counter(f"soak-u-{n:03d}" for n in range(UPDATES))
    assert {j.id for j in fleet.updates} == set(made_updates)
    assert all(j.state == "COMPLETE" for j in fleet.updates)
    # Parses: likewise.
    made_parses = {s.id: s.client_ref for s in state.sovs.values() if s.client_ref}
    assert Counter(made_parses.values()) == Counter(f"soak-p-{n:03d}" for n in range(PARSES))
    assert {j.id for j in fleet.parses} == set(made_parses)
    # Outputs: each made one has a handle, or was reported unknown.
    made_outputs = set(state.output_jobs)
    assert {j.id for j in fleet.outputs} <= made_outputs
    assert len(made_outputs) == len(fleet.outputs) + fleet.unknown_outputs
    assert len(fleet.outputs) + fleet.unknown_outputs == OUTPUTS
    # Bulk: every made batch is accepted or listed unknown; every location once.
    made_batches = set(state.bulk_jobs)
    accepted = {b.id for b in run.batches}
    assert accepted <= made_batches
    assert len(made_batches) == len(accepted) + len(run.unknown)
    assert run.pending == ()
    assert [lid for lid, _ in results] == [loc["id"] for loc in locations]
    unknown_ids = {f"l{i}" for n in run.unknown for i in range((n - 1) * 50, n * 50)}
    for lid, per_source in results:
        if lid in unknown_ids:
            assert "unknown" in (per_source["PG"].error_message or "")
    # The faults did happen.
    assert counts["faults_injected"]["ambiguous"] > 0
    assert counts["faults_injected"]["route"] > 0
    assert counts["faults_injected"]["reset"] > 0
    assert counts["faults_injected"]["fault"] > 0
    assert fleet.unknown_outputs > 0
