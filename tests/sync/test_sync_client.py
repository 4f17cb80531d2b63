"""``sovfixer_async.sync.Client`` from plain code and plain threads, against the emulator."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import sovfixer_async
from sovfixer_async import (
    InvalidInputError,
    JobCompleted,
    JobFailed,
    JobSubmitted,
    SOVFixerError,
)
from sovfixer_async.emulator import RunningEmulator
from sovfixer_async.emulator.outputs import make_xlsx
from sovfixer_async.sync import (
    BulkEnhanceRun,
    Client,
    OutputJob,
    ParseJob,
    UpdateJob,
    as_completed,
)

SOVID = "s-no-ping-hggcsk"
CORRECTIONS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Normal House\n"


def test_update_wait_download_and_resume(options: dict[str, str], tmp_path: Path) -> None:
    events: list[Any] = []
    with Client(on_event=events.append, **options) as client:
        job = client.update_sov(SOVID, CORRECTIONS, output_formats=["json"])
        assert isinstance(job, UpdateJob)
        assert job.kind == "update"
        assert json.loads(job.token)["id"] == job.id
        status = job.wait()
        assert status.done
        assert job.done
        assert job.state == "COMPLETE"
        paths = job.download(tmp_path / "out")
        assert [p.parent for p in paths] == [tmp_path / "out"]
        assert paths[0].is_file()
        assert job.files[0].size == paths[0].stat().st_size
        again = client.resume(job.token)
        assert isinstance(again, UpdateJob)
        assert not again.done  # no I/O until asked
        assert again.refresh().done
    assert client.closed
    assert any(isinstance(e, JobSubmitted) and e.job_id == job.id for e in events)
    with pytest.raises(SOVFixerError, match="closed"):
        client.list_output_formats()
    client.close()  # twice is fine


def test_errors_are_the_async_sdks(options: dict[str, str]) -> None:
    with Client(**options) as client:
        with pytest.raises(InvalidInputError, match="unknown output format"):
            client.get_or_create_output(SOVID, "nope")
        job = client.update_sov(SOVID, b"sheet_name,sheet_row_number,bldg_name\nSheet1,99,Ghost\n")
        with pytest.raises(JobFailed) as failed:
            job.wait()
        assert failed.value.job_id == job.id


def test_several_threads_share_one_client(options: dict[str, str], tmp_path: Path) -> None:
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    with Client(**options) as client:

        def work(n: int) -> None:
            try:
                job = client.get_or_create_output(SOVID, "json", overwrite_existing=True)
                assert isinstance(job, OutputJob)
                job.wait()
                results[n] = job.download(tmp_path / f"t{n}")
                formats = client.list_output_formats()
                assert formats
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads)
        requests = client.stats.requests
    assert errors == []
    assert sorted(results) == list(range(6))
    for n, paths in results.items():
        assert [p.parent for p in paths] == [tmp_path / f"t{n}"]
    assert requests >= 6 * 3


def test_as_completed_parse_and_iterators(
    options: dict[str, str], tmp_path: Path, emulator: RunningEmulator
) -> None:
    for name in ("a.xlsx", "b.xlsx"):
        (tmp_path / name).write_bytes(
            make_xlsx("Sheet1", ["Street", "City"], [["1 Main St", "Miami"]])
        )
    with Client(**options) as client:
        jobs = [client.parse_sov(tmp_path / n) for n in ("a.xlsx", "b.xlsx")]
        assert all(isinstance(j, ParseJob) for j in jobs)
        seen = list(as_completed(jobs))
        assert sorted(j.id for j in seen) == sorted(j.id for j in jobs)
        assert {id(j) for j in seen} == {id(j) for j in jobs}  # the same twins come back
        assert all(j.done for j in jobs)
        assert list(client.as_completed([])) == []
        history = list(client.history(page_size=2))
        assert {j.id for j in jobs} <= {r.sovid for r in history}
        activity = client.activity(page_size=1)
        first = next(activity)
        assert first.id is not None
        activity.close()  # leaving early closes the generator in the loop
        usage = client.usage()
        assert usage.totals is not None


def test_bulk_run_results_iterate(options: dict[str, str], tmp_path: Path) -> None:
    rows = [{"id": f"loc-{i}", "address": f"{i} Main St, Miami, FL"} for i in range(30)]
    with Client(**options) as client:
        run = client.bulk_enhance(rows, sources=["PG"], batch_size=7)
        assert isinstance(run, BulkEnhanceRun)
        assert len(run.batches) == 5
        status = run.wait()
        assert status.num_requested == 30
        ids = [location_id for location_id, _ in run.results()]
        assert ids == [r["id"] for r in rows]
        assert run.merged_path is not None
        resumed = client.resume(run.token)
        assert isinstance(resumed, BulkEnhanceRun)
        assert [b.id for b in resumed.batches] == [b.id for b in run.batches]
        answer = client.enhance(sources=["PG"], address="1 Main St, Miami, FL")
        assert "PG" in answer.location_data


def test_handles_of_two_clients_do_not_mix(options: dict[str, str]) -> None:
    with Client(**options) as one, Client(**options) as two:
        a = one.get_or_create_output(SOVID, "json")
        b = two.get_or_create_output(SOVID, "json")
        with pytest.raises(InvalidInputError, match="one client"):
            list(as_completed([a, b]))
        with pytest.raises(InvalidInputError, match="this client"):
            list(one.as_completed([b]))


def test_same_methods_as_the_async_client() -> None:
    public = {n for n in dir(sovfixer_async.Client) if not n.startswith("_")}
    assert public <= {n for n in dir(Client) if not n.startswith("_")}


def test_events_iterate_and_a_failed_start_leaves_no_thread(options: dict[str, str]) -> None:
    with Client(**options) as client:
        events = client.events()
        job = client.get_or_create_output(SOVID, "json", overwrite_existing=True)
        waiter = threading.Thread(target=job.wait)  # polls the job while we read events
        waiter.start()
        seen = []
        for event in events:
            seen.append(event)
            if isinstance(event, JobCompleted) and event.job_id == job.id:
                break
        events.close()
        waiter.join(30)
        assert job.done
    assert isinstance(seen[-1], JobCompleted)
    before = set(threading.enumerate())
    with pytest.raises(TypeError, match="no_such_option"):
        Client(no_such_option=1, **options)
    assert set(threading.enumerate()) - before == set()  # its loop thread was stopped, joined


def test_close_does_not_hang_on_another_threads_wait(options: dict[str, str]) -> None:
    client = Client(**options)
    outcome: list[BaseException | None] = []
    listening = threading.Event()

    def listen() -> None:
        events = client.events()
        listening.set()
        try:
            next(events)  # no job runs: this waits until the client closes
            outcome.append(None)
        except BaseException as exc:  # what the waiting thread sees
            outcome.append(exc)

    thread = threading.Thread(target=listen)
    thread.start()
    listening.wait(10)
    time.sleep(0.3)  # let the call reach the loop (if not, close() is simply earlier)
    client.close()
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], BaseException)


def test_webhook_receiver_ends_a_wait(options: dict[str, str]) -> None:
    with Client(**options) as client, client.webhook_receiver() as hooks:
        job = client.update_sov(SOVID, CORRECTIONS, callback_url=hooks)
        assert job.wait().done
        for _ in range(200):  # the callback may land just after a poll saw the end
            if hooks.delivered:
                break
            time.sleep(0.05)
        assert hooks.delivered >= 1
