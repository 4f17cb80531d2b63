"""``ledger.work()`` against the emulator over HTTP: parse, update and output items carried
to done, exactly one server job per parse and update item whatever was lost on the way."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from sovfixer_async import Client
from sovfixer_async.ledger import DONE, FAILED, Ledger

from .helpers import (
    ROWS,
    SOVID,
    claim,
    item,
    parse_jobs_with,
    set_fields,
    update_jobs_with,
    workbook,
)

pytestmark = pytest.mark.anyio


async def test_parse_update_and_output_items_are_carried_to_done(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    parse = await ledger.plan_parse(workbook(), filename="acme.xlsx", output_formats=["JSON"])
    update = await ledger.plan_update(SOVID, ROWS)
    output = await ledger.plan_output(SOVID, "JSON")
    await ledger.work(client, tmp_path / "out", exit_when_done=True, idle=0.05)
    status = await ledger.status()
    assert status.counts == {"parse": {DONE: 1}, "update": {DONE: 1}, "output": {DONE: 1}}
    for item_id in (parse, update, output):
        done = await item(ledger, item_id)
        assert done.state == DONE
        assert done.job_id is not None
    stats = await emulator.stats()
    assert stats["jobs_created"]["parse"] == 1
    assert stats["jobs_created"]["update"] == 1
    rows = await ledger._db.run(
        lambda tx: tx.q("SELECT item_id, name, size, sha256 FROM ledger_outputs ORDER BY id")
    )
    assert {r[0] for r in rows} >= {parse, output}
    for item_id, name, size, digest in rows:
        kind = (await item(ledger, item_id)).kind
        data = (tmp_path / "out" / f"{kind}-{item_id}" / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, digest)


async def test_an_ambiguous_parse_is_found_by_its_client_ref_not_sent_twice(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    emulator.add_route_fault("POST /api/v1/sov ambiguous times=1")
    item_id = await ledger.plan_parse(workbook(), filename="a.xlsx")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, item_id)
    assert done.state == DONE
    assert done.client_ref is not None
    assert parse_jobs_with(emulator, done.client_ref) == 1
    assert (await emulator.stats())["jobs_created"]["parse"] == 1


@pytest.mark.parametrize("server_has_it", [True, False])
async def test_a_successor_finds_the_lost_workers_parse_or_sends_it_once(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path, server_has_it: bool
) -> None:
    item_id = await ledger.plan_parse(workbook(), filename="lost.xlsx")
    await claim(ledger, "lost-worker", 1, lease=-1.0)  # its lease already ran out
    await set_fields(ledger, item_id, state="submitting", client_ref="ref-lost-1")
    if server_has_it:  # the lost worker's POST landed before it died
        await client.parse_sov(workbook(), filename="lost.xlsx", client_ref="ref-lost-1")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert (await item(ledger, item_id)).state == DONE
    assert parse_jobs_with(emulator, "ref-lost-1") == 1


@pytest.mark.parametrize("lost_after", ["initiate", "start"])
async def test_a_successor_finishes_or_adopts_the_lost_workers_update(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path, lost_after: str
) -> None:
    item_id = await ledger.plan_update(SOVID, ROWS)
    await claim(ledger, "lost-worker", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting", client_ref="ref-upd-1")
    if lost_after == "initiate":
        emulator.add_route_fault("POST /api/v1/sov/update/*/add_locations 400 times=1")
        with pytest.raises(Exception, match="add_locations"):  # initiated, never finished
            await client.update_sov(SOVID, ROWS, client_ref="ref-upd-1")
    else:  # the whole submission went through; the worker died before recording it
        await client.update_sov(SOVID, ROWS, client_ref="ref-upd-1")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, item_id)
    assert done.state == DONE
    assert update_jobs_with(emulator, "ref-upd-1") == 1


async def test_an_update_whose_add_locations_fails_is_finished_by_the_worker(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    emulator.add_route_fault("POST /api/v1/sov/update/*/add_locations 400 times=1")
    item_id = await ledger.plan_update(SOVID, ROWS)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, item_id)
    assert done.state == DONE
    assert done.client_ref is not None
    assert update_jobs_with(emulator, done.client_ref) == 1


async def test_an_output_request_found_mid_submission_is_sent_again_and_counted(
    ledger: Ledger, client: Client, tmp_path: Path
) -> None:
    item_id = await ledger.plan_output(SOVID, "JSON")
    await claim(ledger, "lost-worker", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert (await item(ledger, item_id)).state == DONE
    assert (await ledger.status()).duplicates == 1


async def test_hostile_values_read_back_fail_the_item_not_the_worker(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    bad_token = await ledger.plan_output(SOVID, "JSON")
    await set_fields(
        ledger, bad_token, state="submitted", token='{"v":2,"kind":"output","id":"../../x\\u0000"}'
    )
    bad_name = await ledger.plan_parse(workbook(), filename="ok.xlsx")
    await set_fields(ledger, bad_name, input_name="../../etc/evil.xlsx")
    bad_size = await ledger.plan_parse(workbook(), filename="ok.xlsx")
    await set_fields(ledger, bad_size, input_size=3)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    for item_id in (bad_token, bad_name):
        failed = await item(ledger, item_id)
        assert failed.state == FAILED, failed.reason
    assert (await emulator.stats())["jobs_created"]["parse"] == 0
    assert not list(tmp_path.parent.glob("etc"))
    with pytest.raises(Exception, match="size"):
        await item(ledger, bad_size)


async def test_a_reused_client_ref_is_held_and_an_operator_adopts_one_job(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    item_id = await ledger.plan_parse(workbook(), filename="twice.xlsx", client_ref="reused")
    await claim(ledger, "lost-worker", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting", client_ref="reused")
    first = await client.parse_sov(workbook(), filename="twice.xlsx", client_ref="reused")
    await client.parse_sov(workbook(), filename="twice.xlsx", client_ref="reused")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    (held,) = await ledger.held()
    assert held.id == item_id
    assert "client_ref" in held.reason
    await ledger.resolve(item_id, adopt=first.id)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, item_id)
    assert (done.state, done.job_id) == (DONE, first.id)
    assert parse_jobs_with(emulator, "reused") == 2  # made by hand above, none by the ledger


async def test_a_resubmitted_parse_gets_a_fresh_client_ref_and_is_found_by_it(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    item_id = await ledger.plan_parse(workbook(), filename="twice.xlsx", client_ref="reused")
    await claim(ledger, "lost-worker", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting", client_ref="reused")
    for _ in range(2):
        await client.parse_sov(workbook(), filename="twice.xlsx", client_ref="reused")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert [h.id for h in await ledger.held()] == [item_id]
    await ledger.resolve(item_id, resubmit=True)
    fresh = (await item(ledger, item_id)).client_ref
    assert fresh is not None
    assert fresh != "reused"
    # the worker that resubmits it is lost mid-POST, after its POST landed: its successor
    # finds that one job by the fresh reference (the old one names two: held again)
    await claim(ledger, "lost-again", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting")
    await client.parse_sov(workbook(), filename="twice.xlsx", client_ref=fresh)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, item_id)
    assert (done.state, done.client_ref) == (DONE, fresh)
    assert parse_jobs_with(emulator, fresh) == 1
    assert parse_jobs_with(emulator, "reused") == 2
