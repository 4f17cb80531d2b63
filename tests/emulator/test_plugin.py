"""The pytest plugin (``sovfixer_async.testing``) as a user's project sees it."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import aiohttp
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_fixture(sovfixer_emulator):
    assert sovfixer_emulator.settings.job_seconds == 0.2
    headers = {"Authorization": "Token mine"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.get(sovfixer_emulator.url + "/api/v1/sov/s-no-ping-hggcsk") as r:
            assert r.status == 200


async def test_factory(sovfixer_emulator_factory):
    one = await sovfixer_emulator_factory(token="a")
    two = await sovfixer_emulator_factory(job_seconds=0.0)
    assert one.url != two.url
    assert one.settings.token == "a" and two.settings.job_seconds == 0.0


def test_plain_tests_still_run():
    assert True
"""


def test_plugin_fixtures_in_a_user_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-q", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    result.assert_outcomes(passed=3)
