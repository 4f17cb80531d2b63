"""``client.request``: the raw escape hatch, with the client's auth, retries, body cap and
typed errors, and a path that cannot leave the API (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import (
    AmbiguousSubmissionError,
    APIResponseValidationError,
    Client,
    InvalidInputError,
    NotFoundError,
    RawResponse,
    ResponseTooLargeError,
)
from sovfixer_async.emulator import RunningEmulator

from .conftest import client_for

pytestmark = pytest.mark.anyio


async def test_a_get_with_params(client: Client, emulator: RunningEmulator) -> None:
    response = await client.request("GET", "/api/v1/datasources/gg", api="data")
    assert isinstance(response, RawResponse)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["config"]["source_code"] == "GG"
    assert response.read().startswith(b"{")
    await client.request("GET", "/api/v1/sov/activity", params={"page_size": 3, "fields": ["id"]})
    last = emulator.requests()[-1]
    assert last["authorization"]
    assert "page_size=3" in last["query"]


async def test_an_error_is_typed(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.request("GET", "/api/v1/sov/s-nope")
    assert info.value.status == 404


async def test_a_post_creates_a_job(client: Client) -> None:
    response = await client.request(
        "POST",
        "/api/v1/bulk_enhance",
        api="data",
        json={"locations": [{"id": "a", "address": "1 main st"}], "sources": ["PG"]},
    )
    assert response.status == 201
    job_id = response.json()["id"]
    status = await client.request("GET", f"/api/v1/bulk_enhance/{job_id}", api="data")
    assert status.json()["request"]["status"]


async def test_a_form_post(client: Client) -> None:
    response = await client.request(
        "POST",
        "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output",
        data={"output_format": "JSON"},
    )
    assert "request" in response.json() or "id" in response.json()


async def test_a_post_whose_outcome_is_unknown_raises_ambiguous(
    make_client: Any, emulator: RunningEmulator
) -> None:
    emulator.add_route_fault("POST /api/v1/bulk_enhance ambiguous times=1")
    body = {"locations": [{"id": "a", "address": "x"}], "sources": ["PG"]}
    async with make_client() as client:
        with pytest.raises(AmbiguousSubmissionError):
            await client.request("POST", "/api/v1/bulk_enhance", api="data", json=body)
    posts = [r for r in emulator.requests() if r["route"] == "POST /api/v1/bulk_enhance"]
    assert len(posts) == 1  # never repeated blindly


async def test_an_idempotent_post_is_retried(make_client: Any, emulator: RunningEmulator) -> None:
    emulator.add_route_fault("POST /api/v1/sov/*/get_or_create_output 502 times=1")
    async with make_client() as client:
        response = await client.request(
            "POST",
            "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output",
            data={"output_format": "JSON"},
            idempotent=True,
        )
    assert response.status in (200, 201)
    posts = [r for r in emulator.requests() if r["route"].endswith("get_or_create_output")]
    assert len(posts) == 2


async def test_the_body_cap_holds(emulator: RunningEmulator) -> None:
    async with client_for(emulator.url, max_response_bytes=100) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.request("GET", "/api/v1/datasources", api="data")


async def test_a_body_that_is_not_json() -> None:
    """A 2xx HTML page: its bytes are there; ``json()`` is a typed error."""
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with client_for(f"http://127.0.0.1:{runner.addresses[0][1]}") as client:
            response = await client.request("GET", "/api/v1/anything")
    finally:
        await runner.cleanup()
    assert response.read() == b"<html>hello</html>"
    assert response.text() == "<html>hello</html>"
    with pytest.raises(APIResponseValidationError):
        response.json()


@pytest.mark.parametrize(
    "path",
    [
        "api/v1/sov",
        "https://evil.example/api/v1/sov",
        "//evil.example/api/v1/sov",
        "/api//evil.example",
        "/api/v1/../../admin",
        "/api/v1/%2e%2e/%2e%2e/admin",
        "/api/v1/%252e%252e/admin",
        "/api/v1/%2F%2Fevil",
        "/api/v1/.%2e/x",
        "/api/v1/sov?x=1",
        "/api/v1/sov#x",
        "/api/v1/s ov",
        "/api/v1/\\..\\x",
        "/api/v1/x\r\nHost: evil",
        "/admin",
        "/api/" + "a" * 3000,
    ],
)
async def test_paths_that_could_leave_the_api_are_refused(
    client: Client, emulator: RunningEmulator, path: str
) -> None:
    emulator.reset_stats()
    with pytest.raises(InvalidInputError) as info:
        await client.request("GET", path)
    assert info.value.field == "path"
    assert emulator.requests() == []


async def test_bad_arguments_are_refused(client: Client) -> None:
    with pytest.raises(InvalidInputError):
        await client.request("TRACE", "/api/v1/sov")
    with pytest.raises(InvalidInputError):
        await client.request("GET", "/api/v1/sov", api="other")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        await client.request("POST", "/api/v1/sov", json={"a": 1}, data={"b": "2"})
    with pytest.raises(InvalidInputError):
        await client.request("POST", "/api/v1/sov", json={"a": float("nan")})


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.text(alphabet="./%2eEfF?#\\ abc", max_size=20))
async def test_an_accepted_path_never_climbs(tail: str) -> None:
    """Whatever the tail, an accepted path has no '..' or '//' after any decoding."""
    from urllib.parse import unquote

    from sovfixer_async._raw import check_path

    path = "/api/v1/" + tail
    try:
        check_path(path)
    except InvalidInputError:
        return
    seen = path
    for _ in range(6):
        assert "//" not in seen
        assert "/../" not in seen + "/"
        assert not seen.endswith("/..")
        seen = unquote(seen)
