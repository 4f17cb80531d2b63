"""Local emulator of the Ping.Extraction (SOVFixer) and Ping.Data HTTP APIs.

It speaks raw JSON written from the API contract and imports nothing from the client side
of the package. Start it with ``python -m sovfixer_async.emulator --port 0`` or in-process::

    async with run_emulator(job_seconds=0.2) as emu:
        ...  # emu.url, e.g. "http://127.0.0.1:54321"

By default every job takes exactly ``job_seconds``, any number run at once and nothing is
throttled; ``--profile realistic`` (``run_emulator(profile="realistic")``) turns on the
traits of a real service together (see :data:`PROFILES`).
"""

from sovfixer_async.emulator.app import create_app
from sovfixer_async.emulator.route_faults import RouteFault
from sovfixer_async.emulator.runner import RunningEmulator, main, run_emulator, serve
from sovfixer_async.emulator.settings import (
    PROFILES,
    EmulatorSettings,
    add_arguments,
    build_parser,
    settings_from_args,
)

__all__ = [
    "PROFILES",
    "EmulatorSettings",
    "RouteFault",
    "RunningEmulator",
    "add_arguments",
    "build_parser",
    "create_app",
    "main",
    "run_emulator",
    "serve",
    "settings_from_args",
]
