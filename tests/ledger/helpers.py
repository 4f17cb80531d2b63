"""Shared inputs and look-ups of the ledger tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sovfixer_async.emulator.outputs import make_xlsx
from sovfixer_async.ledger import Ledger, _store

POSTGRES_ENV = "SOVFIXER_TEST_POSTGRES_URL"
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


def _postgres_schema(base: str) -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger's URL on each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    yield from _postgres_schema(base)
