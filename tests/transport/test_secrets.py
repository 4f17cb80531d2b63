"""Secrets: an echoed token is redacted from errors; tracebacks with locals hide the header."""

from __future__ import annotations

import asyncio
import json
import socket
import traceback
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from sovfixer_async import (
    AmbiguousSubmissionError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    SOVFixerError,
)
from sovfixer_async._config import RetryPolicy
from sovfixer_async._transport import Response, Safety, SecretHeader, redact

if TYPE_CHECKING:
    from tests.transport.conftest import Hostile

pytestmark = pytest.mark.anyio


def every_text(exc: BaseException) -> str:
    """What a user may print of an error: str, repr, attributes, tracebacks with locals."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    # From the SDK's frames on (the test's own frame holds the secret it compares with).
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    shown = traceback.TracebackException(type(exc), exc, tb, capture_locals=True)
    parts += shown.format()
    for name, value in vars(exc).items():
        parts.append(f"{name}={value!r}")
    if exc.__cause__ is not None:
        parts.append(every_text(exc.__cause__))
    return "\n".join(parts)


async def echo_auth(request: web.Request) -> web.Response:
    said = request.headers.get("Authorization", "")
    body = {"detail": f"bad token: {said}", "errors": {"token": [said]}, said: "key"}
    return web.Response(
        status=401,
        text=json.dumps(body),
        content_type="application/json",
        headers={"X-Request-ID": f"req-{said}"},
    )


async def test_a_token_echoed_by_the_server_is_redacted(hostile: Hostile) -> None:
    hostile.handler = echo_auth
    async with hostile.transport() as t:
        with pytest.raises(AuthenticationError) as info:
            await t.request("GET", "extraction", "/api/v1/sov/s-1", job_id="s-1")
    error = info.value
    assert hostile.seen[0]["Authorization"] == f"Token {hostile.secret}"  # it was sent
    assert hostile.secret not in every_text(error)
    assert "bad token: Token ***" in str(error)
    assert error.json["detail"] == "bad token: Token ***"
    assert "Token ***" in error.body
    assert error.request_id == "req-Token ***"


async def test_an_echo_in_a_gateway_error_of_a_submission_is_redacted(hostile: Hostile) -> None:
    async def gateway(request: web.Request) -> web.Response:
        said = request.headers["Authorization"]
        return web.Response(status=502, text=f"<html>upstream refused {said}</html>")

    hostile.handler = gateway
    async with hostile.transport() as t:
        with pytest.raises(AmbiguousSubmissionError) as info:
            await t.request("POST", "extraction", "/api/v1/sov", json={}, safety=Safety.SUBMIT)
    assert info.value.status == 502
    assert "upstream refused Token ***" in str(info.value)
    assert hostile.secret not in every_text(info.value)


async def failing_request(hostile: Hostile, how: str) -> SOVFixerError:
    if how == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            hostile.url = f"http://127.0.0.1:{s.getsockname()[1]}"
    elif how == "dropped":

        async def drop(request: web.Request) -> web.StreamResponse:
            assert request.transport is not None
            request.transport.close()
            return web.Response()

        hostile.handler = drop
    elif how == "timeout":

        async def stall(request: web.Request) -> web.StreamResponse:
            await asyncio.sleep(0.5)  # 10x the read timeout (the server waits for it at exit)
            return web.Response()

        hostile.handler = stall
    else:
        hostile.handler = echo_auth
    async with hostile.transport(read_timeout=0.05, retry=RetryPolicy.no_wait(attempts=1)) as t:
        try:
            await t.request("GET", "extraction", "/api/v1/sov/s-1")
        except SOVFixerError as exc:
            return exc
    raise AssertionError("the request should have failed")


@pytest.mark.parametrize("how", ["refused", "dropped", "timeout", "401"])
async def test_a_traceback_with_locals_does_not_show_the_authorization_header(
    hostile: Hostile, how: str
) -> None:
    error = await failing_request(hostile, how)
    expected = {
        "refused": APIConnectionError,
        "dropped": APIConnectionError,
        "timeout": APITimeoutError,
        "401": AuthenticationError,
    }[how]
    assert isinstance(error, expected)
    assert error.status is None or how == "401"
    text = every_text(error)
    assert "Authorization" in text or how == "refused"  # the locals were captured ...
    assert hostile.secret not in text  # ... and the value hidden


async def test_a_traceback_through_aiohttp_frames_hides_the_header(hostile: Hostile) -> None:
    """Chained to aiohttp's own exception, its frames' locals are shown too."""

    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    hostile.handler = drop
    async with hostile.transport() as t:
        headers = {"Accept-Encoding": "gzip", **t.auth_headers(hostile.url + "/x")}
        try:
            async with t.session.get(hostile.url + "/x", headers=headers) as resp:
                await resp.read()
        except Exception as exc:  # aiohttp's error, raised through its frames
            text = "".join(
                traceback.TracebackException.from_exception(exc, capture_locals=True).format()
            )
        else:
            raise AssertionError("the connection should have dropped")
    assert "Authorization" in text
    assert hostile.secret not in text
    assert hostile.seen[0]["Authorization"] == f"Token {hostile.secret}"


def test_secret_header_is_the_value_but_never_its_repr() -> None:
    value = SecretHeader("Token abcdefgh12345")
    assert value == "Token abcdefgh12345"
    assert f"{value}" == "Token abcdefgh12345"
    assert "abcdefgh" not in repr(value)
    assert "abcdefgh" not in repr({"Authorization": value})


def test_a_response_repr_does_not_show_its_body_or_headers() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    headers = CIMultiDictProxy(CIMultiDict({"X-Echo": "Token abcdefgh12345"}))
    response = Response(200, headers, b"Token abcdefgh12345", "http://h/x")
    assert "abcdefgh" not in repr(response)


def test_redact_leaves_short_tokens_and_other_text_alone() -> None:
    assert redact("a Token SECRET-TOKEN-0123456789 b", ["SECRET-TOKEN-0123456789"]) == (
        "a Token *** b"
    )
    assert redact("can't stop", ["t"]) == "can't stop"  # a 1-letter test token is no secret
