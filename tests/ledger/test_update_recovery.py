"""An update a lost worker left behind is finished as planned: its start carries the
planned options, and a server that refuses both its rows and a second start (contract 3.6:
400 or 409 when already started) has it running: it is waited for, not failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sovfixer_async import Client
from sovfixer_async.ledger import DONE, Ledger

from .helpers import ROWS, SOVID, claim, item, set_fields, update_jobs_with

pytestmark = pytest.mark.anyio


def update_with(emulator: Any, client_ref: str) -> Any:
    (found,) = [u for u in emulator.state.updates.values() if u.client_ref == client_ref]
    return found


async def test_a_found_unstarted_update_starts_with_the_planned_extra_data(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    item_id = await ledger.plan_update(SOVID, ROWS, extra_data={"insured_name": "Acme Re"})
    await claim(ledger, "lost-worker", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting", client_ref="ref-upd-extra")
    emulator.add_route_fault("POST /api/v1/sov/update/*/add_locations 400 times=1")
    with pytest.raises(Exception, match="add_locations"):  # initiated, then the worker died
        await client.update_sov(SOVID, ROWS, client_ref="ref-upd-extra")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert (await item(ledger, item_id)).state == DONE
    found = update_with(emulator, "ref-upd-extra")
    assert found.extra_data == {"insured_name": "Acme Re"}
    assert update_jobs_with(emulator, "ref-upd-extra") == 1


async def test_a_started_update_whose_second_start_answers_400_is_waited_for(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    item_id = await ledger.plan_update(SOVID, ROWS)
    await claim(ledger, "lost-worker", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting", client_ref="ref-upd-400")
    await client.update_sov(SOVID, ROWS, client_ref="ref-upd-400")  # it all went through
    # This server answers a second start 400, not the emulator's 409 (contract 3.6 allows both)
    emulator.add_route_fault("POST /api/v1/sov/update/*/start 400")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, item_id)
    assert done.state == DONE, done.reason
    assert update_jobs_with(emulator, "ref-upd-400") == 1


async def test_an_update_whose_start_is_refused_while_its_rows_were_taken_fails(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    # Rows taken but start refused: a real refusal, not "already started".
    item_id = await ledger.plan_update(SOVID, ROWS)
    emulator.add_route_fault("POST /api/v1/sov/update/*/start 400")
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    failed = await item(ledger, item_id)
    assert failed.state == "failed"
    assert failed.job_id is not None  # the job the server has is handed over
