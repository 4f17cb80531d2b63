"""Issue 12 items 3 and 5: a bulk run keeps going past a batch that fails to submit, and
yields one result per location, in this process or a fresh one, while its manifest lasts.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async import (
    AmbiguousSubmissionError,
    BadRequestError,
    BulkEnhanceRun,
    Event,
    JobSubmitted,
)

pytestmark = pytest.mark.anyio

SUBMIT = "POST /api/v1/bulk_enhance"


def locations(n: int) -> list[dict[str, Any]]:
    return [{"id": f"loc-{i}", "address": f"{i} main st, miami, fl"} for i in range(n)]


def state_runs() -> Path:
    import os

    return Path(os.environ["XDG_STATE_HOME"]) / "sovfixer-async" / "runs"


async def all_results(run: BulkEnhanceRun) -> dict[str, list[str | None]]:
    return {
        lid: [r.error_message for r in results.values() if r.is_success is False]
        async for lid, results in run.results()
    }


async def test_a_20_batch_run_with_one_ambiguous_batch_completes_the_other_19(
    emulator: Any, make_client: Any
) -> None:
    emulator.add_route_fault(f"{SUBMIT} ambiguous times=1")
    async with make_client() as client:
        run = await client.bulk_enhance(locations(100), sources=["PG"], batch_size=5)
        assert len(run.batches) == 19
        [unknown] = run.unknown
        assert run.pending == ()
        status = await run.wait(timeout=60)
        assert status.unknown == (unknown,)
        assert len(status.batches) == 19
        assert status.state == "COMPLETE"
        results = await all_results(run)
        assert list(results) == [f"loc-{i}" for i in range(100)]  # every location, in order
        lost = {f"loc-{i}" for i in range((unknown - 1) * 5, unknown * 5)}
        for lid in lost:
            assert results[lid]
            assert "unknown" in str(results[lid][0])
        assert json.loads(run.token)["unknown"] == [unknown]
    counts = await emulator.stats()
    assert counts["jobs_created"]["bulk_enhance"] == 20  # the ambiguous one was made ...
    assert counts["requests_by_route"][SUBMIT] == 20  # ... and never resent
    assert not (state_runs() / run.id).exists()  # merged, nothing to send: forgotten


async def test_a_refused_batch_is_pending_and_submit_pending_sends_it(
    emulator: Any, make_client: Any
) -> None:
    emulator.add_route_fault(f"{SUBMIT} 400 times=1")
    async with make_client() as client:
        run = await client.bulk_enhance(locations(30), sources=["PG"], batch_size=10)
        [pending] = run.pending
        assert len(run.batches) == 2
        assert (state_runs() / run.id / f"body-{pending:05d}.json").is_file()
        first = await run.wait(timeout=60)  # results now: the pending batch's lines failed
        assert first.pending == (pending,)
        assert sum(1 for errors in (await all_results(run)).values() if errors) >= 10
        assert (state_runs() / run.id / "manifest.json").is_file()  # kept: one to send
        await run.submit_pending()
        assert run.pending == ()
        assert len(run.batches) == 3
        status = await run.wait(timeout=60)
        assert (status.pending, status.unknown) == ((), ())
        results = await all_results(run)
        assert list(results) == [f"loc-{i}" for i in range(30)]
        assert not any("not accepted" in str(e) for e in results.values())
    counts = await emulator.stats()
    assert counts["jobs_created"]["bulk_enhance"] == 3
    assert not (state_runs() / run.id).exists()


async def test_no_batch_accepted_raises_with_the_run_on_error_handle(
    emulator: Any, make_client: Any
) -> None:
    emulator.add_route_fault(f"{SUBMIT} 400")
    async with make_client() as client:
        with pytest.raises(BadRequestError) as info:
            await client.bulk_enhance(locations(20), sources=["PG"], batch_size=10)
        run = info.value.handle
        assert isinstance(run, BulkEnhanceRun)
        assert run.pending == (1, 2)
        assert any("submit_pending" in note for note in info.value.__notes__)
        emulator.clear_route_faults()
        await run.submit_pending()
        await run.wait(timeout=60)
        assert len(await all_results(run)) == 20


async def test_an_all_ambiguous_run_raises_listing_the_unknown_batches(
    emulator: Any, make_client: Any
) -> None:
    emulator.add_route_fault(f"{SUBMIT} ambiguous")
    async with make_client() as client:
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.bulk_enhance(locations(20), sources=["PG"], batch_size=10)
        run = info.value.handle
        assert isinstance(run, BulkEnhanceRun)
        assert run.unknown == (1, 2)
        await run.submit_pending()  # nothing pending: the unknown ones are not resent
    counts = await emulator.stats()
    assert counts["requests_by_route"][SUBMIT] == 2


CHILD = """
import asyncio, json, sys
from sovfixer_async import Client, MissingLocationsError, PollPolicy, RetryPolicy

async def main(url: str, token: str, submit: bool) -> None:
    async with Client(api_url=url, data_api_url=url, token="t",
                      retry=RetryPolicy.no_wait(), poll=PollPolicy.fast()) as client:
        run = client.resume(token)
        if submit:
            await run.submit_pending()
        try:
            await run.wait(timeout=60)
        except MissingLocationsError as exc:
            print(json.dumps({"missing": list(exc.batches)}))
            return
        results = {}
        async for lid, per_source in run.results():
            results[lid] = [r.error_message for r in per_source.values() if not r.is_success]
        print(json.dumps({"results": results, "pending": list(run.pending)}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "1"))
"""


async def in_a_fresh_process(url: str, token: str, *, submit: bool = False) -> dict[str, Any]:
    done = await anyio.run_process(
        [sys.executable, "-c", CHILD, url, token, "1" if submit else "0"], check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def a_run_with_a_pending_batch(emulator: Any, make_client: Any) -> tuple[str, int, str]:
    """A 3-batch run, batch ``pending`` refused; its client closed (work files gone)."""
    emulator.add_route_fault(f"{SUBMIT} 400 times=1")
    async with make_client() as first:
        run = await first.bulk_enhance(locations(30), sources=["PG"], batch_size=10)
        [pending] = run.pending
        token = run.token
        work = run.work_dir
    assert not work.exists()
    return run.id, pending, token


async def test_a_resumed_run_in_a_fresh_process_yields_every_location(
    emulator: Any, make_client: Any
) -> None:
    run_id, pending, token = await a_run_with_a_pending_batch(emulator, make_client)
    got = await in_a_fresh_process(emulator.url, token)
    results = got["results"]
    assert list(results) == [f"loc-{i}" for i in range(30)]
    refused = [f"loc-{i}" for i in range((pending - 1) * 10, pending * 10)]
    assert all("not accepted" in results[lid][0] for lid in refused)
    assert got["pending"] == [pending]
    assert (state_runs() / run_id / "manifest.json").is_file()  # still one to send
    # Another process sends the pending batch: its body was kept in the state folder.
    sent = await in_a_fresh_process(emulator.url, token, submit=True)
    assert list(sent["results"]) == [f"loc-{i}" for i in range(30)]
    assert not any("not accepted" in str(e) for e in sent["results"].values())
    assert sent["pending"] == []
    assert not (state_runs() / run_id).exists()
    counts = await emulator.stats()
    assert counts["jobs_created"]["bulk_enhance"] == 3


async def test_a_resumed_run_without_its_manifest_names_the_batches_it_cannot_list(
    emulator: Any, make_client: Any
) -> None:
    run_id, pending, token = await a_run_with_a_pending_batch(emulator, make_client)
    shutil.rmtree(state_runs() / run_id)
    got = await in_a_fresh_process(emulator.url, token)
    assert got == {"missing": [f"batch {pending} (pending)"]}


async def test_no_temporary_work_file_after_a_cancelled_client_exit(
    make_client: Any, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with anyio.CancelScope() as scope:
        async with make_client(work_dir=work) as client:
            run = await client.bulk_enhance(locations(40), sources=["PG"], batch_size=10)
            await run.batches[0].wait(timeout=30)
            await run._settle(run.slots[0])  # one part written, one output fetched
            assert list(run.work_dir.rglob("*.jsonl"))
            scope.cancel()
            await anyio.sleep(30)
    assert scope.cancelled_caught
    assert list(work.iterdir()) == []  # the user's folder stays, empty
    assert (state_runs() / run.id / "manifest.json").is_file()  # until the run is merged


async def test_a_cancelled_submission_announces_the_run_and_can_be_finished(
    emulator: Any, make_client: Any
) -> None:
    seen: list[JobSubmitted] = []
    async with make_client() as client:
        with anyio.CancelScope() as scope:

            def on_event(event: Event) -> None:
                if isinstance(event, JobSubmitted):
                    seen.append(event)
                    if event.kind == "bulk_enhance":
                        scope.cancel()  # Ctrl-C after the first batch was accepted

            client.subscribe(on_event)
            await client.bulk_enhance(locations(50), sources=["PG"], batch_size=10, concurrency=1)
        assert scope.cancelled_caught
        runs = [e for e in seen if e.kind == "bulk_run"]
        assert len(runs) == 1
        assert runs[0].token is not None
        batches = [e.job_id for e in seen if e.kind == "bulk_enhance"]
        assert json.loads(runs[0].token)["batches"] == batches  # every job made is named
        run = client.resume(runs[0].token)
        assert isinstance(run, BulkEnhanceRun)
        assert len(run.unknown) <= 1  # the one in flight when cancelled, if any
        await run.submit_pending(unknown=True)
        await run.wait(timeout=60)
        assert list(await all_results(run)) == [f"loc-{i}" for i in range(50)]
