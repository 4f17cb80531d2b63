"""pytest plugin of sovfixer_async: the local emulator and a ready client, for users' tests.

Registered as the ``sovfixer_async`` pytest11 entry point, so any project that installs
sovfixer-async gets these fixtures:

- ``sovfixer_emulator``: a running emulator with fast jobs (0.2 s) on 127.0.0.1;
- ``sovfixer_emulator_factory``: ``await factory(**settings)`` (or ``factory.start(...)`` in
  a sync test) starts one more emulator with any :class:`~sovfixer_async.emulator.EmulatorSettings`;
- ``sovfixer_client``: a :class:`~sovfixer_async.Client` on ``sovfixer_emulator`` that does
  not wait (fast polls, retries without back-off), opened and closed in the test's loop.

Each emulator runs in a background thread with an event loop of its own, so the emulator
fixtures are plain (sync) fixtures that work under any async test plugin or none: anyio's
pytest plugin, pytest-asyncio in strict or auto mode, or a sync test with a sync HTTP client.
(They used to run the emulator in the loop of anyio's runner, which pytest-asyncio tests never
run: a request to it then hung.) ``sovfixer_client`` is async and so is opened by the plugin
that runs the test: anyio's for tests marked ``anyio``, pytest-asyncio's otherwise.

The emulator's helpers (``set_faults``, ``stats``, ``reset_stats``, ``requests``) run in the
emulator's thread; ``emulator.state`` is the live state of that thread: read it, don't edit it.

This module imports only pytest at import time (and pytest-asyncio when it is installed); the
emulator and the client load when a fixture first runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from sovfixer_async import Client
    from sovfixer_async.emulator import RunningEmulator

__all__ = ["CLIENT_TOKEN", "FAST_SETTINGS", "EmulatorFactory", "client_on", "start_emulator_thread"]

#: Settings of the ``sovfixer_emulator`` fixture: jobs finish in a fifth of a second.
FAST_SETTINGS: dict[str, Any] = {"job_seconds": 0.2, "callback_retry_seconds": 0.1}

#: The token ``sovfixer_client`` sends when the emulator accepts any token.
CLIENT_TOKEN = "sovfixer-test-token"


def start_emulator_thread(**overrides: Any) -> tuple[RunningEmulator, Callable[[], None]]:
    """Start an emulator in a thread of its own: ``(emulator, stop)``.

    ``overrides`` are :class:`~sovfixer_async.emulator.EmulatorSettings` fields laid over
    :data:`FAST_SETTINGS`. Call ``stop()`` once (it joins the thread).
    """
    from sovfixer_async._emulator_thread import EmulatorThread
    from sovfixer_async.emulator import EmulatorSettings

    thread = EmulatorThread(EmulatorSettings(**{**FAST_SETTINGS, **overrides}))
    return thread.start(), thread.stop


class EmulatorFactory:
    """Starts emulators in background threads; :meth:`close` stops every one it started.

    ``await factory(**settings)`` in an async test (any loop, any plugin), or
    ``factory.start(**settings)`` in a sync one.
    """

    def __init__(self) -> None:
        self._stops: list[Callable[[], None]] = []

    def start(self, **overrides: Any) -> RunningEmulator:
        emulator, stop = start_emulator_thread(**overrides)
        self._stops.append(stop)
        return emulator

    async def __call__(self, **overrides: Any) -> RunningEmulator:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(functools.partial(self.start, **overrides))

    def close(self) -> None:
        stops, self._stops = self._stops, []
        errors: list[BaseException] = []
        for stop in reversed(stops):
            try:
                stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def sovfixer_emulator_factory() -> Iterator[EmulatorFactory]:
    """A factory of emulators: ``await factory(**settings)`` or ``factory.start(**settings)``.

    Keyword arguments are :class:`~sovfixer_async.emulator.EmulatorSettings` fields laid over
    the fast defaults; every emulator started is stopped when the test ends.
    """
    factory = EmulatorFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def sovfixer_emulator(sovfixer_emulator_factory: EmulatorFactory) -> RunningEmulator:
    """A running emulator with fast settings (``job_seconds=0.2``) on 127.0.0.1."""
    return sovfixer_emulator_factory.start()


def client_on(emulator: RunningEmulator, **options: Any) -> Client:
    """A :class:`~sovfixer_async.Client` on ``emulator`` that does not wait (not yet opened).

    Polls are fast (:meth:`PollPolicy.fast`), retries have no back-off
    (:meth:`RetryPolicy.no_wait`); ``options`` override any client keyword.
    """
    from sovfixer_async import Client, PollPolicy, RetryPolicy

    token = emulator.settings.token or CLIENT_TOKEN
    defaults: dict[str, Any] = {
        "api_url": emulator.url,
        "data_api_url": emulator.url,
        "token": token,
        "data_token": token,
        "poll": PollPolicy.fast(),
        "retry": RetryPolicy.no_wait(),
    }
    return Client(**{**defaults, **options})


async def _open_client(sovfixer_emulator: RunningEmulator) -> AsyncIterator[Client]:
    async with client_on(sovfixer_emulator) as client:
        yield client


async def _hold_client(sovfixer_emulator: RunningEmulator) -> AsyncIterator[Client]:
    """The client, held open by a task of its own in the running loop.

    pytest-asyncio runs a fixture's setup and its teardown in two tasks, but the client's task
    group must be entered and exited in one task (anyio's rule): a holder task does both.
    """
    import asyncio

    opened: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def hold() -> None:
        async with client_on(sovfixer_emulator) as client:
            opened.set_result(client)
            await release.wait()

    holder = asyncio.create_task(hold(), name="sovfixer_client")
    first: list[asyncio.Future[Any]] = [opened, holder]
    await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    if not opened.done():
        opened.cancel()
        await holder  # raises what failed while opening the client
    try:
        yield opened.result()
    finally:
        release.set()
        await holder


def _held_client() -> Callable[[RunningEmulator], AsyncIterator[Client]]:
    """A new function object running :func:`_hold_client`."""

    async def held_client(sovfixer_emulator: RunningEmulator) -> AsyncIterator[Client]:
        async for client in _hold_client(sovfixer_emulator):
            yield client

    return held_client


#: pytest-asyncio's event-loop scopes: the client is opened in the loop of the test's scope.
LOOP_SCOPES: tuple[Literal["function", "class", "module", "package", "session"], ...] = (
    "function",
    "class",
    "module",
    "package",
    "session",
)

# One fixture body, registered once per async plugin (and per pytest-asyncio loop scope): each
# plugin opens only the fixtures it owns, in the loop it runs the test in.
_sovfixer_client_anyio = pytest.fixture(name="_sovfixer_client_anyio")(_open_client)

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is optional
    pytest_asyncio = None  # type: ignore[assignment]
else:
    for _scope in LOOP_SCOPES:
        _name = f"_sovfixer_client_asyncio_{_scope}"
        # pytest-asyncio marks the function it is given: each scope gets a function of its own.
        globals()[_name] = pytest_asyncio.fixture(_held_client(), loop_scope=_scope, name=_name)
    del _scope, _name


_NEEDS_ASYNC_TEST = (
    "sovfixer_client needs an async test run by anyio's pytest plugin "
    "(pytest.mark.anyio) or by pytest-asyncio (pytest.mark.asyncio, or auto mode)"
)


def _asyncio_loop_scope(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope") if marker else None
    return str(scope or request.config.getini("asyncio_default_test_loop_scope") or "function")


@pytest.fixture
def sovfixer_client(request: pytest.FixtureRequest, sovfixer_emulator: RunningEmulator) -> Client:
    """A :class:`~sovfixer_async.Client` on ``sovfixer_emulator`` that does not wait.

    Opened and closed in the test's event loop, by anyio's plugin (tests marked ``anyio``,
    asyncio backend) or by pytest-asyncio (strict or auto mode).
    """
    node = request.node
    function = getattr(node, "function", None)
    function = getattr(getattr(function, "hypothesis", None), "inner_test", function)
    if not inspect.iscoroutinefunction(function):
        pytest.fail(_NEEDS_ASYNC_TEST)
    if node.get_closest_marker("anyio") is not None or "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        name = backend[0] if isinstance(backend, tuple) else backend
        if name != "asyncio":
            pytest.fail(f"sovfixer_client runs on aiohttp, which needs asyncio, not {name!r}")
        return request.getfixturevalue("_sovfixer_client_anyio")  # type: ignore[no-any-return]
    if node.get_closest_marker("asyncio") is not None:
        if pytest_asyncio is None:  # pragma: no cover
            pytest.fail("the test is marked asyncio but pytest-asyncio is not installed")
        fixture = f"_sovfixer_client_asyncio_{_asyncio_loop_scope(request)}"
        return request.getfixturevalue(fixture)  # type: ignore[no-any-return]
    pytest.fail(_NEEDS_ASYNC_TEST)
