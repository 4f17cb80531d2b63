"""``sovfixer_async.sync.Ledger`` from plain code and plain threads: planned items worked
by a blocking client against the emulator, on SQLite (and PostgreSQL when
``SOVFIXER_TEST_POSTGRES_URL`` is set, as in tests/ledger)."""

from __future__ import annotations

import concurrent.futures
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

import sovfixer_async
from sovfixer_async import InvalidInputError, JobSubmitted, PollPolicy, RetryPolicy, SOVFixerError
from sovfixer_async import ledger as async_ledger
from sovfixer_async.emulator import RunningEmulator, run_emulator
from sovfixer_async.emulator.outputs import make_xlsx
from sovfixer_async.ledger import ACTIVE, DONE, FAILED, HELD, LedgerError
from sovfixer_async.sync import Client, Ledger

from ..ledger.helpers import ledger_url

__all__ = ["ledger_url"]

TOKEN = "sync-ledger-token"
SOVID = "s-no-ping-hggcsk"
ROWS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,From the sync ledger\n"
BULK = "POST /api/v1/bulk_enhance"
T = TypeVar("T")


class Emulator:
    """The emulator on a loop thread of its own; ``call`` runs a function in that loop."""

    def __init__(self, emulator: RunningEmulator, portal: BlockingPortal):
        self.url = emulator.url
        self._emulator = emulator
        self._portal = portal

    def call(self, fn: Callable[[RunningEmulator], T]) -> T:
        return self._portal.call(lambda: fn(self._emulator))

    def jobs_created(self, kind: str) -> int:
        stats = self._portal.call(self._emulator.stats)
        return int(stats["jobs_created"].get(kind, 0))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with (
        start_blocking_portal(name="emulator") as portal,
        portal.wrap_async_context_manager(
            run_emulator(job_seconds=0.2, token=TOKEN, seed=7)
        ) as emu,
    ):
        yield Emulator(emu, portal)


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    with Client(
        api_url=emulator.url,
        data_api_url=emulator.url,
        token=TOKEN,
        retry=RetryPolicy.no_wait(),
        poll=PollPolicy.fast(),
        reconcile_grace=0.05,
    ) as c:
        yield c


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        yield opened


def workbook(name: str = "HQ") -> bytes:
    return make_xlsx(
        "Locations",
        ["Building Name", "Address", "City", "State", "TIV"],
        [[name, "1 Main St", "Miami", "FL", 1_000_000]],
    )


def locations(n: int) -> list[dict[str, Any]]:
    return [{"id": f"loc-{i}", "address": f"{i} main st, miami, fl"} for i in range(n)]


def ledger_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sovfixer-async-ledger")]


def test_plan_work_status_and_results(
    ledger: Ledger, client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    parse = ledger.plan_parse(workbook(), filename="acme.xlsx", output_formats=["JSON"])
    update = ledger.plan_update(SOVID, ROWS)
    output = ledger.plan_output(SOVID, "JSON")
    run = ledger.plan_enhance(locations(25), sources=["PG"], batch_size=10)
    assert {type(i) for i in (parse, update, output)} == {int}
    assert (len(run.item_ids), run.locations) == (3, 25)
    assert ledger.status().total("planned") == 6

    assert ledger.work(client, tmp_path / "out", exit_when_done=True, idle=0.05) is None

    status = ledger.status()
    assert status.counts == {
        "parse": {DONE: 1},
        "update": {DONE: 1},
        "output": {DONE: 1},
        "enhance_batch": {DONE: 3},
    }
    assert emulator.jobs_created("parse") == 1
    assert emulator.jobs_created("update") == 1
    assert emulator.jobs_created("bulk_enhance") == 3
    assert (tmp_path / "out" / f"parse-{parse}").is_dir()
    assert ledger.held() == []

    results = ledger.results(run.run_id)
    assert isinstance(results, Iterator)
    assert not isinstance(results, list | tuple)
    first_id, first = next(results)
    assert [r.is_success for r in first.values()] == [True]
    rest = dict(results)
    assert sorted([first_id, *rest]) == sorted(loc["id"] for loc in locations(25))
    assert ledger.prune(older_than=0) == 6
    assert ledger.status().total() == 0


def test_results_stream_lazily_and_stop_when_closed_early(
    ledger: Ledger, client: Client, tmp_path: Path
) -> None:
    run = ledger.plan_enhance(locations(30), sources=["PG"], batch_size=5)
    ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    results = ledger.results(run.run_id)
    assert next(results)[0] == "loc-0"
    results.close()  # the async stream is closed in the ledger's loop
    assert sum(1 for _ in ledger.results(run.run_id)) == 30
    unknown = ledger.results("no-such-run")
    with pytest.raises(LedgerError, match="no bulk run"):
        next(unknown)


def test_held_batch_resolved_by_resubmit(
    ledger: Ledger, client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.call(lambda emu: emu.add_route_fault(f"{BULK} ambiguous times=1"))
    run = ledger.plan_enhance(locations(20), sources=["PG"], batch_size=10)
    ledger.work(client, tmp_path, exit_when_done=True, idle=0.05, concurrency=1)
    (held,) = ledger.held()
    assert held.kind == "enhance_batch"
    assert "ambiguous" in held.reason
    assert ledger.status().counts["enhance_batch"] == {DONE: 1, HELD: 1}
    assert emulator.jobs_created("bulk_enhance") == 2  # never resent silently
    with pytest.raises(InvalidInputError):
        ledger.resolve(held.id)
    ledger.resolve(held.id, resubmit=True)
    ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert ledger.status().counts["enhance_batch"] == {DONE: 2}
    assert emulator.jobs_created("bulk_enhance") == 3
    assert all(
        [r.is_success for r in by.values()] == [True] for _, by in ledger.results(run.run_id)
    )


def test_work_in_a_thread_while_another_plans_then_close_stops_it(
    ledger: Ledger, client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    """The worker runs in the client's loop, plans and status in the ledger's: both at once,
    from two plain threads; ``close()`` from a third thread ends ``work()`` normally."""
    ended: list[BaseException | None] = []

    def worker() -> None:
        try:
            ledger.work(client, tmp_path, idle=0.05)  # no exit_when_done: until closed
            ended.append(None)
        except BaseException as exc:
            ended.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    ids = [ledger.plan_parse(workbook(f"B{i}"), filename=f"b{i}.xlsx") for i in range(3)]
    ids.append(ledger.plan_output(SOVID, "JSON"))
    done = threading.Event()

    def watch() -> None:
        while ledger.status().total(DONE) < len(ids):
            done.wait(0.02)
        done.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    watcher.join(timeout=60)
    assert done.is_set()
    assert thread.is_alive()  # still claiming: it was not told to exit when done
    closer = threading.Thread(target=ledger.close)
    closer.start()
    closer.join(timeout=60)
    thread.join(timeout=60)
    assert ended == [None]
    assert ledger.closed
    assert ledger_threads() == []
    with pytest.raises(SOVFixerError, match="the ledger is closed"):
        ledger.status()
    with pytest.raises(SOVFixerError, match="the ledger is closed"):
        ledger.work(client, tmp_path)
    ledger.close()  # twice is fine
    assert client.list_output_formats()  # the client goes on
    assert emulator.jobs_created("parse") == 3


def test_two_threads_work_one_ledger_through_one_client(
    ledger: Ledger, client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    ids = [ledger.plan_parse(workbook(f"T{i}"), filename=f"t{i}.xlsx") for i in range(4)]
    ids += [ledger.plan_update(SOVID, ROWS) for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(ledger.work, client, tmp_path, exit_when_done=True, idle=0.05)
            for _ in range(2)
        ]
        assert [r.result(timeout=60) for r in runs] == [None, None]
    assert ledger.status().counts == {"parse": {DONE: 4}, "update": {DONE: 2}}
    assert emulator.jobs_created("parse") == 4
    assert emulator.jobs_created("update") == 2
    assert ledger.status().live_workers == 0


def test_close_mid_job_hands_the_item_back_and_no_job_is_paid_twice(
    ledger_url: str, client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    submitted = threading.Event()
    client.subscribe(lambda e: submitted.set() if isinstance(e, JobSubmitted) else None)
    ledger = Ledger.open(ledger_url)
    item_id = ledger.plan_parse(workbook(), filename="mid.xlsx")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        working = pool.submit(ledger.work, client, tmp_path, idle=0.05)
        assert submitted.wait(60)
        ledger.close()  # mid-job, most likely: whenever it lands, nothing is lost
        assert working.result(timeout=60) is None
    with Ledger.open(ledger_url) as again:
        state = next(iter(again.status().counts["parse"]))
        assert state in (*ACTIVE, DONE)
        again.work(client, tmp_path, exit_when_done=True, idle=0.05)
        assert again.status().counts == {"parse": {DONE: 1}}
        assert again.status().live_workers == 0
    assert emulator.jobs_created("parse") == 1
    assert again.closed
    assert isinstance(item_id, int)


class Interrupted(BaseException):
    """What a Ctrl-C would raise in the thread blocked in ``work()``."""


def test_an_interrupted_work_hands_its_item_back_before_it_raises(
    ledger: Ledger, client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted

    submitted = threading.Event()
    client.subscribe(lambda e: submitted.set() if isinstance(e, JobSubmitted) else None)
    ledger.plan_parse(workbook(), filename="ctrl-c.xlsx")
    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        main = threading.main_thread().ident or 0
        sender = threading.Thread(
            target=lambda: submitted.wait(60) and signal.pthread_kill(main, signal.SIGUSR1)
        )
        sender.start()
        with pytest.raises(Interrupted):
            ledger.work(client, tmp_path, idle=0.05)
        sender.join(60)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    status = ledger.status()
    assert status.live_workers == 0  # it left the ledger before raising
    assert FAILED not in status.counts["parse"]
    ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)  # at once: no lease left
    assert ledger.status().counts == {"parse": {DONE: 1}}
    assert emulator.jobs_created("parse") == 1


def test_closing_the_client_stops_work_with_cancelled_error(
    ledger: Ledger, client: Client, tmp_path: Path
) -> None:
    submitted = threading.Event()
    client.subscribe(lambda e: submitted.set() if isinstance(e, JobSubmitted) else None)
    ledger.plan_parse(workbook(), filename="c.xlsx")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        working = pool.submit(ledger.work, client, tmp_path, idle=0.05)
        assert submitted.wait(60)
        client.close()
        with pytest.raises(concurrent.futures.CancelledError):
            working.result(timeout=60)
    status = ledger.status()
    assert FAILED not in status.counts["parse"]  # handed back, or done
    assert status.live_workers == 0  # the worker left as its loop stopped
    with pytest.raises(SOVFixerError, match="the client is closed"):
        ledger.work(client, tmp_path)


def test_work_takes_a_blocking_client_and_bad_options_fail_before_anything(
    ledger: Ledger, emulator: Emulator, tmp_path: Path
) -> None:
    async_client = sovfixer_async.Client(api_url=emulator.url, token=TOKEN)
    with pytest.raises(InvalidInputError, match=r"sync\.Client"):
        ledger.work(async_client, tmp_path)  # type: ignore[arg-type]
    with Client(api_url=emulator.url, data_api_url=emulator.url, token=TOKEN) as client:
        with pytest.raises(InvalidInputError, match="concurrency"):
            ledger.work(client, tmp_path, concurrency=0)
        with pytest.raises(InvalidInputError, match="max_jobs"):
            ledger.work(client, tmp_path, max_jobs={"nope": 1})
    assert ledger.status().live_workers == 0


def test_open_failure_leaves_no_thread_and_hides_the_password(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="does not exist"):
        Ledger.open(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")
    with pytest.raises(LedgerError) as caught:
        Ledger.open("postgresql://user:hunter2@127.0.0.1:1/db?connect_timeout=1")
    assert "hunter2" not in str(caught.value)
    assert ledger_threads() == []
    with pytest.raises(TypeError, match=r"Ledger\.open"):
        Ledger("sqlite:///x.db")  # type: ignore[arg-type]


def test_repr_and_url_hide_the_password(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        assert "l.db" in repr(ledger)
        assert "open" in repr(ledger)
        assert str(ledger.url).startswith("sqlite:///")
        assert isinstance(ledger.async_ledger, async_ledger.Ledger)
    assert "closed" in repr(ledger)
