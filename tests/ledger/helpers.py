"""Shared inputs and look-ups of the ledger tests."""

from __future__ import annotations

from functools import partial
from typing import Any

from sovfixer_async.emulator.outputs import make_xlsx
from sovfixer_async.ledger import Ledger, _store

SOVID = "s-no-ping-hggcsk"
ROWS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,From the ledger\n"


def workbook(name: str = "HQ") -> bytes:
    return make_xlsx(
        "Locations",
        ["Building Name", "Address", "City", "State", "TIV"],
        [[name, "1 Main St", "Miami", "FL", 1_000_000]],
    )


def locations(n: int, prefix: str = "loc") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "address": f"{i} main st, miami, fl"} for i in range(n)]


async def item(ledger: Ledger, item_id: int) -> _store.Item:
    return await ledger._db.run(lambda tx: _store.load(tx, item_id))


async def claim(ledger: Ledger, owner: str, n: int, lease: float = 30.0) -> list[tuple[int, int]]:
    return await ledger._db.run(partial(_store.claim, owner=owner, n=n, lease=lease, caps={}))


async def set_fields(ledger: Ledger, item_id: int, **fields: Any) -> None:
    """Write columns of an item directly (as a lost worker left them, or a hostile DBA)."""
    names = sorted(fields)
    sets = ", ".join(f"{name} = ?" for name in names)
    await ledger._db.run(
        lambda tx: tx.q(
            f"UPDATE ledger_items SET {sets} WHERE id = ?", [*(fields[n] for n in names), item_id]
        )
    )


def parse_jobs_with(emulator: Any, client_ref: str) -> int:
    return sum(1 for sov in emulator.state.sovs.values() if sov.client_ref == client_ref)


def update_jobs_with(emulator: Any, client_ref: str) -> int:
    return sum(1 for u in emulator.state.updates.values() if u.client_ref == client_ref)
