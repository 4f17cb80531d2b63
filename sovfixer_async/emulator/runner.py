"""Running the emulator: in-process (:func:`run_emulator`) or as a process (:func:`main`)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web
from attrs import define

from sovfixer_async.emulator.app import create_app
from sovfixer_async.emulator.faults import FAULTS
from sovfixer_async.emulator.protocol import BadRequest
from sovfixer_async.emulator.route_faults import RouteFault
from sovfixer_async.emulator.settings import EmulatorSettings, build_parser, settings_from_args
from sovfixer_async.emulator.state import STATE, EmulatorState
from sovfixer_async.emulator.stats import STATS


@define(eq=False)
class RunningEmulator:
    """A started emulator: its base URL, settings, app, and helpers for tests."""

    url: str
    settings: EmulatorSettings
    app: web.Application

    @property
    def state(self) -> EmulatorState:
        return self.app[STATE]

    async def stats(self) -> dict[str, Any]:
        """What ``GET /_emulator/stats`` answers."""
        return self.app[STATS].snapshot()

    def reset_stats(self) -> None:
        self.app[STATS].reset()

    def set_faults(self, **knobs: float) -> dict[str, float]:
        """Merge fault knobs (fault_rate, reset_rate, truncate_rate, ambiguous_rate, latency_ms).

        Raises ValueError for an unknown knob or a value out of range; returns all knobs.
        """
        faults = self.app[FAULTS].knobs
        try:
            faults.merge(knobs)
        except BadRequest as exc:
            raise ValueError(exc.message) from None
        return faults.as_dict()

    def add_route_fault(self, *rules: RouteFault | str) -> list[dict[str, Any]]:
        """Add per-route faults (``RouteFault`` or ``"METHOD /glob ACTION [times=N] [rate=P]"``).

        Raises ValueError for a bad rule; returns every rule in force.
        """
        routes = self.app[FAULTS].routes
        routes.add([r if isinstance(r, RouteFault) else RouteFault.parse(r) for r in rules])
        return routes.as_list()

    def clear_route_faults(self) -> None:
        self.app[FAULTS].routes.clear()

    def requests(self) -> list[dict[str, Any]]:
        """The recent API requests, oldest first (see ``GET /_emulator/requests``)."""
        return list(self.app[STATS].requests)


#: Seconds a connection keeps reading a body it answered early (413) before it closes.
LINGER = 1.0


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@asynccontextmanager
async def _serving(settings: EmulatorSettings) -> AsyncIterator[RunningEmulator]:
    app = create_app(settings)
    # An early 413 leaves the rest of a hostile body unread: aiohttp reads and drops it for
    # up to ``lingering_time`` (10 s by default) so that the client sees the answer, and
    # shutting down waits for that; 1 s is plenty on any network a test runs on.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, lingering_time=LINGER)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        address = runner.addresses[0]
        yield RunningEmulator(_base_url(settings.host, int(address[1])), settings, app)
    finally:
        await runner.cleanup()


@asynccontextmanager
async def run_emulator(
    settings: EmulatorSettings | None = None, *, profile: str | None = None, **overrides: Any
) -> AsyncIterator[RunningEmulator]:
    """Run an emulator in this event loop (127.0.0.1, a free port unless told otherwise).

    ``overrides`` replace fields of ``settings``, e.g. ``run_emulator(job_seconds=0.2)``;
    ``profile="realistic"`` starts from that profile instead of the defaults.
    """
    if settings is not None and profile is not None:
        raise ValueError("give settings or a profile, not both")
    base = settings if settings is not None else EmulatorSettings()
    if profile is not None:
        base = EmulatorSettings.from_profile(profile)
    async with _serving(attrs.evolve(base, **overrides)) as emulator:
        yield emulator


async def serve(settings: EmulatorSettings) -> None:
    """Serve until SIGINT/SIGTERM, printing the base URL once ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # e.g. Windows: KeyboardInterrupt instead
            pass
    try:
        async with _serving(settings) as emulator:
            print(emulator.url, flush=True)
            await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sovfixer_async.emulator``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"emulator: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    return 0
