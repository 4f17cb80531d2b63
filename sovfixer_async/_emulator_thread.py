"""An emulator served by an event loop of its own in a daemon thread (for the pytest plugin).

A test's client then reaches it from any loop (anyio's runner, pytest-asyncio's, a sync
test's own thread), since the emulator never waits for the test's loop to run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from attrs import define, field

from sovfixer_async.emulator import EmulatorSettings, RunningEmulator, run_emulator

#: How long starting or stopping an emulator thread, or a call into it, may take (seconds).
THREAD_TIMEOUT = 30.0

_T = TypeVar("_T")


@define(eq=False)
class ThreadedEmulator(RunningEmulator):
    """A :class:`RunningEmulator` served by another thread: its helpers run in that thread."""

    loop: asyncio.AbstractEventLoop = field(repr=False)
    thread_id: int = field(repr=False)

    def _call(self, fn: Callable[[], _T]) -> _T:
        if threading.get_ident() == self.thread_id:
            return fn()
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(THREAD_TIMEOUT)

    async def stats(self) -> dict[str, Any]:
        snapshot = functools.partial(RunningEmulator.stats, self)
        if threading.get_ident() == self.thread_id:
            return await snapshot()
        return asyncio.run_coroutine_threadsafe(snapshot(), self.loop).result(THREAD_TIMEOUT)

    def reset_stats(self) -> None:
        self._call(functools.partial(RunningEmulator.reset_stats, self))

    def set_faults(self, **knobs: float) -> dict[str, float]:
        return self._call(functools.partial(RunningEmulator.set_faults, self, **knobs))

    def requests(self) -> list[dict[str, Any]]:
        return self._call(functools.partial(RunningEmulator.requests, self))


class EmulatorThread:
    """One emulator in a daemon thread: :meth:`start` returns it once it listens."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._settings = settings
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._emulator: ThreadedEmulator | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sovfixer-emulator", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start() or stop(), in the caller's thread
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_emulator(self._settings) as running:
            self._emulator = ThreadedEmulator(
                running.url, running.settings, running.app, self._loop, threading.get_ident()
            )
            self._ready.set()
            await self._stop.wait()

    def start(self) -> ThreadedEmulator:
        self._thread.start()
        if not self._ready.wait(THREAD_TIMEOUT):
            raise RuntimeError(f"the emulator did not start within {THREAD_TIMEOUT} s")
        if self._emulator is None:
            raise RuntimeError(f"the emulator did not start: {self._error!r}") from self._error
        return self._emulator

    def stop(self) -> None:
        """Stop the emulator and join its thread; raises what failed in it, if anything."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed on its own
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(THREAD_TIMEOUT)
        if self._thread.is_alive():
            warnings.warn(
                f"the emulator thread did not stop within {THREAD_TIMEOUT} s",
                RuntimeWarning,
                stacklevel=2,
            )
        elif self._error is not None and self._emulator is not None:
            raise RuntimeError(f"the emulator failed: {self._error!r}") from self._error
