"""Blocking-facade tests: plain (non-async) tests; the emulator runs on a loop thread of its
own (anyio's blocking portal), as it would in another process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.from_thread import start_blocking_portal

from sovfixer_async.emulator import RunningEmulator, run_emulator

TOKEN = "sync-test-token"
SOVID = "s-no-ping-hggcsk"


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with (
        start_blocking_portal(name="emulator") as portal,
        portal.wrap_async_context_manager(
            run_emulator(job_seconds=0.2, token=TOKEN, seed=5)
        ) as emu,
    ):
        yield emu


@pytest.fixture
def options(emulator: RunningEmulator) -> dict[str, str]:
    """``Client(**options)``: the emulator's URLs and token."""
    return {"api_url": emulator.url, "data_api_url": emulator.url, "token": TOKEN}
