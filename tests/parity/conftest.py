"""Issue 14 (Ping.Extraction parity) tests: an emulator whose token may act for TEAM_A,
clients with fast polling, and helpers to read what the emulator was sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sovfixer_async.emulator import run_emulator
from sovfixer_async.emulator.outputs import make_xlsx

# The client fixtures of tests/client, on this folder's emulator (it overrides `emulator`).
from ..client.conftest import Stats, client, client_for, make_client, stats

__all__ = ["Stats", "client", "client_for", "make_client", "stats"]

SOVID = "s-no-ping-hggcsk"
TEAM_A = "7c6f7e0a-team-a"
TEAM_B = "team-b-not-allowed"


@pytest.fixture
async def emulator() -> AsyncIterator[Any]:
    async with run_emulator(job_seconds=0.2, seed=11, delegate_teams=(TEAM_A, "42")) as emu:
        yield emu


def submitted(snapshot: dict[str, Any], route: str) -> list[dict[str, Any]]:
    """The logged fields of every request to ``route`` ("METHOD /template")."""
    return [entry for entry in snapshot["submitted"] if entry["route"] == route]


def workbook(path: Path, *names: str) -> Path:
    """A small SOV workbook at ``path`` with one building per name."""
    rows = [[name, f"{n} Main St", "Miami", "FL", 1000 * n] for n, name in enumerate(names, 1)]
    path.write_bytes(
        make_xlsx("Locations", ["Building Name", "Address", "City", "State", "TIV"], rows)
    )
    return path
