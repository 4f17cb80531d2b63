"""pytest plugin of sovfixer_async: fixtures that run the local emulator in the test's loop.

Registered as the ``sovfixer_async`` pytest11 entry point, so any project that installs
sovfixer-async gets these fixtures. They need anyio's pytest plugin on the asyncio backend
(define ``anyio_backend`` returning ``"asyncio"``; aiohttp does not run on trio)::

    pytestmark = pytest.mark.anyio

    async def test_update(sovfixer_emulator):
        client = Client(api_url=sovfixer_emulator.url, data_api_url=sovfixer_emulator.url, ...)

    async def test_faults(sovfixer_emulator_factory):
        emu = await sovfixer_emulator_factory(fault_rate=0.2, seed=1)

This module imports only pytest at import time; the emulator loads when a fixture first runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sovfixer_async.emulator import RunningEmulator

#: Settings of the ``sovfixer_emulator`` fixture: jobs finish in a fifth of a second.
FAST_SETTINGS: dict[str, Any] = {"job_seconds": 0.2, "callback_retry_seconds": 0.1}

EmulatorFactory = Callable[..., Awaitable["RunningEmulator"]]


@pytest.fixture
async def sovfixer_emulator_factory(anyio_backend: Any) -> AsyncIterator[EmulatorFactory]:
    """An async factory: ``await factory(**settings)`` starts one more emulator.

    Keyword arguments are :class:`~sovfixer_async.emulator.EmulatorSettings` fields laid over
    the fast defaults; every emulator started is stopped when the test ends.
    """
    backend = anyio_backend[0] if isinstance(anyio_backend, tuple) else anyio_backend
    if backend != "asyncio":
        pytest.fail(f"the sovfixer emulator runs on aiohttp, which needs asyncio, not {backend!r}")
    from sovfixer_async.emulator import EmulatorSettings, run_emulator

    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> RunningEmulator:
            settings = EmulatorSettings(**{**FAST_SETTINGS, **overrides})
            return await stack.enter_async_context(run_emulator(settings))

        yield start


@pytest.fixture
async def sovfixer_emulator(sovfixer_emulator_factory: EmulatorFactory) -> RunningEmulator:
    """A running emulator with fast settings (``job_seconds=0.2``) on 127.0.0.1."""
    return await sovfixer_emulator_factory()
