"""Local emulator of the Ping.Extraction (SOVFixer) and Ping.Data HTTP APIs.

It speaks raw JSON written from the API contract and imports nothing from the client side
of the package. Start it with ``python -m sovfixer_async.emulator --port 0`` or in-process::

    async with run_emulator(job_seconds=0.2) as emu:
        ...  # emu.url, e.g. "http://127.0.0.1:54321"
"""

from sovfixer_async.emulator.app import create_app
from sovfixer_async.emulator.runner import RunningEmulator, main, run_emulator, serve
from sovfixer_async.emulator.settings import (
    EmulatorSettings,
    add_arguments,
    build_parser,
    settings_from_args,
)

__all__ = [
    "EmulatorSettings",
    "RunningEmulator",
    "add_arguments",
    "build_parser",
    "create_app",
    "main",
    "run_emulator",
    "serve",
    "settings_from_args",
]
