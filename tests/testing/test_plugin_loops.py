"""The pytest plugin under each async test plugin a user may run: pytest-asyncio (strict and
auto modes) and anyio's, each in a pytest subprocess that must pass and must not hang."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
pytest.importorskip("pytest_asyncio")

#: A subprocess that takes longer than this hangs (a run takes about 2 s).
SUBPROCESS_TIMEOUT = 90
#: Per test inside the subprocess (pytest-timeout), so a hang names its test.
TEST_TIMEOUT = "30"

#: The body of the user's tests, whatever plugin runs them: ``{mark}`` marks the async tests,
#: ``{fixture}`` decorates the user's own async fixture.
USER_TESTS = """
import json
import urllib.request

import aiohttp
import pytest
{imports}

from sovfixer_async import Client, JobFailed, UpdateJob
from sovfixer_async.emulator import RunningEmulator

{header}
ROWS = [{{"sheet_name": "Sheet1", "sheet_row_number": 2, "bldg_name": "X"}}]


{fixture}
async def formats(sovfixer_client):
    return await sovfixer_client.list_output_formats()


{mark}
async def test_client_fixture_runs_a_job(sovfixer_client, sovfixer_emulator):
    assert isinstance(sovfixer_client, Client)
    assert sovfixer_client.config.api_url == sovfixer_emulator.url
    job = await sovfixer_client.update_sov("s-no-ping-hggcsk", ROWS)
    assert isinstance(job, UpdateJob)
    assert (await job.wait(timeout=20)).state == "COMPLETE"
    stats = await sovfixer_emulator.stats()
    assert stats["jobs_created"]["update"] == 1


{mark}
async def test_failure_is_reported(sovfixer_client):
    job = await sovfixer_client.update_sov("s-no-ping-hggcsk", [{{"item_key": "no-such"}}])
    with pytest.raises(JobFailed):
        await job.wait(timeout=20)


{mark}
async def test_user_fixture_on_the_client(formats):
    assert formats


{mark}
async def test_factory_and_faults(sovfixer_emulator_factory):
    emu = await sovfixer_emulator_factory(token="secret", fault_rate=1.0, seed=1)
    assert isinstance(emu, RunningEmulator)
    assert emu.set_faults(fault_rate=0.0)["fault_rate"] == 0.0
    headers = {{"Authorization": "Token secret"}}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(emu.url + "/api/v1/sov/s-no-ping-hggcsk") as r:
            assert r.status == 200
    assert emu.requests()
    emu.reset_stats()
    assert (await emu.stats())["jobs_created"]["parse"] == 0


def test_sync_test_reaches_the_emulator(sovfixer_emulator_factory):
    emu = sovfixer_emulator_factory.start(job_seconds=0.0)
    with urllib.request.urlopen(emu.url + "/_emulator/health", timeout=10) as r:
        assert r.status == 200
        assert json.loads(r.read())


def test_sync_test_cannot_use_the_client(sovfixer_client):
    pass
"""

PLAIN_FIXTURE = "@pytest.fixture"
ASYNCIO_FIXTURE = "@pytest_asyncio.fixture"


def user_tests(*, imports: str = "", header: str = "", fixture: str, mark: str) -> str:
    return USER_TESTS.format(imports=imports, header=header, fixture=fixture, mark=mark)


def run_user_project(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-q",
        f"--timeout={TEST_TIMEOUT}",
        "-W",
        "error::pytest.PytestUnraisableExceptionWarning",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        *args,
        timeout=SUBPROCESS_TIMEOUT,
    )


def assert_user_run(result: pytest.RunResult, errors: int = 1) -> None:
    result.assert_outcomes(passed=5, errors=errors)
    # The only failure is the sync test asking for the async client, with a message.
    result.stdout.fnmatch_lines(["*sovfixer_client needs an async test*"])
    result.stdout.no_fnmatch_line("*Timeout*")


def test_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    source = user_tests(
        imports="import pytest_asyncio",
        fixture=ASYNCIO_FIXTURE,
        mark="@pytest.mark.asyncio",
    )
    result = run_user_project(pytester, source, "-o", "asyncio_mode=strict")
    assert_user_run(result)
    # strict mode complains about async @pytest.fixture fixtures of asyncio tests: none here
    result.stdout.no_fnmatch_line("*requested async @pytest.fixture*")


def test_pytest_asyncio_auto_mode(pytester: pytest.Pytester) -> None:
    source = user_tests(fixture=PLAIN_FIXTURE, mark="")
    result = run_user_project(pytester, source, "-o", "asyncio_mode=auto")
    assert_user_run(result)


#: anyio's plugin: the module's tests on asyncio, and one class on trio, which aiohttp lacks.
ANYIO_HEADER = """pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class TestOnTrio:
    @pytest.fixture
    def anyio_backend(self):
        return "trio"

    async def test_trio_is_refused(self, sovfixer_client):
        pass
"""


def assert_anyio_run(result: pytest.RunResult) -> None:
    assert_user_run(result, errors=2)
    result.stdout.fnmatch_lines(
        ["*sovfixer_client runs on aiohttp, which needs asyncio, not 'trio'*"]
    )


def test_anyio_plugin(pytester: pytest.Pytester) -> None:
    source = user_tests(header=ANYIO_HEADER, fixture=PLAIN_FIXTURE, mark="")
    assert_anyio_run(run_user_project(pytester, source))


def test_anyio_plugin_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    source = user_tests(header=ANYIO_HEADER, fixture=PLAIN_FIXTURE, mark="")
    assert_anyio_run(run_user_project(pytester, source, "-p", "no:asyncio"))


def test_pytest_asyncio_module_loop_scope(pytester: pytest.Pytester) -> None:
    """A test on a module-scoped loop gets a client opened in that loop."""
    source = """
import asyncio

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")
LOOPS = []


async def test_one(sovfixer_client):
    LOOPS.append(asyncio.get_running_loop())
    assert await sovfixer_client.list_output_formats()


async def test_two(sovfixer_client):
    LOOPS.append(asyncio.get_running_loop())
    assert await sovfixer_client.list_output_formats()
    assert LOOPS[0] is LOOPS[1]
"""
    result = run_user_project(pytester, source, "-o", "asyncio_mode=strict")
    result.assert_outcomes(passed=2)
