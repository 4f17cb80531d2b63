"""Answers are bounded and typed: a gzip bomb, HTML, lists, deep nesting, huge numbers.

The hostile server sends exact bytes; the bound is measured with tracemalloc (the peak
of Python allocations while the request runs), never with a clock.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from contextlib import suppress
from functools import cache
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async import (
    AmbiguousSubmissionError,
    APIError,
    APIResponseValidationError,
    BadRequestError,
    ResponseShapeError,
    ResponseTooLargeError,
    SOVFixerError,
)
from sovfixer_async._config import ClientConfig
from sovfixer_async._transport import MAX_DEPTH, Safety, Transport, decode_json
from sovfixer_async.models import CreatedResponse

if TYPE_CHECKING:
    from tests.transport.conftest import Hostile

pytestmark = pytest.mark.anyio

PATH = "/api/v1/sov/s-1"
MiB = 1024 * 1024


@cache
def gzip_bomb(inflated: int) -> bytes:
    """A gzip body of zeros that inflates to ``inflated`` bytes (about 1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    parts = [packer.compress(zeros) for _ in range(inflated // MiB)]
    return b"".join([*parts, packer.flush()])


async def get_json(t: Transport, method: str, path: str, **options: Any) -> dict[str, Any]:
    """What a workflow does with an answer: request, then decode."""
    response = await t.request(method, "extraction", path, **options)
    return response.json()


async def peak_during(t: Transport, **request: Any) -> tuple[int, BaseException | None]:
    """The tracemalloc peak (bytes) while one request runs, and what it raised."""
    error: BaseException | None = None
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        try:
            response = await t.request(**request)
            response.json()
        except SOVFixerError as exc:
            error = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, error


def test_max_response_bytes_is_a_config_field_of_8_mib() -> None:
    assert ClientConfig(token="t").max_response_bytes == 8 * MiB


async def test_a_gzip_bomb_costs_the_cap_not_its_inflated_size(hostile: Hostile) -> None:
    bomb = gzip_bomb(256 * MiB)
    assert len(bomb) < 300 * 1024  # 256 KiB on the wire
    hostile.answer(bomb, headers={"Content-Encoding": "gzip"})
    async with hostile.transport(max_response_bytes=MiB) as t:
        peak, error = await peak_during(
            t, method="GET", api="extraction", path_or_url=PATH, job_id="s-1"
        )
    assert isinstance(error, ResponseTooLargeError)
    assert isinstance(error, APIError)
    assert isinstance(error, ResponseShapeError)
    assert f"GET {PATH}" in str(error)
    assert "s-1" in str(error)
    assert "max_response_bytes" in str(error)
    print(f"gzip bomb 256 MiB: peak {peak / MiB:.2f} MiB")
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB for a 1 MiB cap"


async def test_a_bomb_in_an_error_answer_is_cut_short(hostile: Hostile) -> None:
    hostile.answer(gzip_bomb(64 * MiB), 400, {"Content-Encoding": "gzip"})
    async with hostile.transport() as t:
        peak, error = await peak_during(t, method="GET", api="extraction", path_or_url=PATH)
    assert isinstance(error, BadRequestError)
    assert len(error.body) <= 64 * 1024
    assert peak < 4 * MiB


async def test_a_bomb_answering_a_submission_is_ambiguous(hostile: Hostile) -> None:
    hostile.answer(gzip_bomb(16 * MiB), 201, {"Content-Encoding": "gzip"})
    async with hostile.transport(max_response_bytes=MiB) as t:
        with pytest.raises(AmbiguousSubmissionError) as info:
            await t.request("POST", "extraction", "/api/v1/sov", json={}, safety=Safety.SUBMIT)
    assert info.value.status == 201
    assert isinstance(info.value.__cause__, ResponseTooLargeError)
    assert len(hostile.seen) == 1  # never resubmitted


async def test_a_plain_body_over_the_cap_is_refused(hostile: Hostile) -> None:
    hostile.answer(b'{"a": "' + b"x" * (2 * MiB) + b'"}')
    async with hostile.transport(max_response_bytes=MiB) as t:
        with pytest.raises(ResponseTooLargeError):
            await t.request("GET", "extraction", PATH)


async def test_a_chunked_body_over_the_cap_is_refused_as_it_streams(hostile: Hostile) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        with suppress(ConnectionError):
            for _ in range(64):  # 64 MiB offered, no Content-Length
                await response.write(bytes(MiB))
                sent += 1
        return response

    hostile.handler = endless
    async with hostile.transport(max_response_bytes=MiB) as t:
        with pytest.raises(ResponseTooLargeError):
            await t.request("GET", "extraction", PATH)
    assert sent < 64


async def test_gzip_answers_within_the_cap_are_read_whole(
    hostile: Hostile, wire: Transport
) -> None:
    data = {"id": "s-1", "rows": ["x" * 100] * 5000}
    packed = gzip.compress(json.dumps(data).encode())
    hostile.answer(packed + gzip.compress(b""), headers={"Content-Encoding": "gzip"})
    response = await wire.request("GET", "extraction", PATH)
    assert response.json() == data
    assert hostile.seen[0]["Accept-Encoding"] == "gzip"


HOSTILE_BODIES = {
    "html": (b"<html><body>Bad gateway</body></html>", {}),
    "list": (b'[{"id": "s-1"}]', {}),
    "string": (b'"s-1"', {}),
    "null": (b"null", {}),
    "empty": (b"", {}),
    "deep": (b"[" * 100_000 + b"]" * 100_000, {}),
    "deep object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, {}),
    "5000 digits": (b'{"id": ' + b"9" * 5000 + b"}", {}),
    "nan": (b'{"pct": NaN}', {}),
    "invalid utf-8": (b'{"id": "s-\xff\xfe"}', {}),
    "truncated json": (b'{"id": "s-1"', {}),
    "truncated gzip": (gzip.compress(b'{"id": "s-1"}')[:-6], {"Content-Encoding": "gzip"}),
    "corrupt gzip": (b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
    "unasked encoding": (b"\x00\x01", {"Content-Encoding": "br"}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
async def test_a_2xx_that_is_not_a_json_object_raises_typed(
    hostile: Hostile, wire: Transport, name: str
) -> None:
    body, headers = HOSTILE_BODIES[name]
    hostile.answer(body, headers=headers)
    with pytest.raises(APIResponseValidationError) as info:
        await get_json(wire, "GET", PATH, job_id="s-1")
    assert isinstance(info.value, APIError)
    assert isinstance(info.value, ResponseShapeError)
    assert info.value.status == 200
    assert f"GET {PATH}" in str(info.value)
    assert "(job s-1)" in str(info.value)
    assert len(hostile.seen) == 1  # a bad body is not retried


@pytest.mark.parametrize("name", ["html", "list", "deep", "5000 digits", "corrupt gzip"])
async def test_a_bad_body_answering_a_submission_is_ambiguous(
    hostile: Hostile, wire: Transport, name: str
) -> None:
    body, headers = HOSTILE_BODIES[name]
    hostile.answer(body, 201, headers)
    with pytest.raises(AmbiguousSubmissionError) as info:
        await get_json(wire, "POST", "/api/v1/sov", json={}, safety=Safety.SUBMIT)
    assert info.value.status == 201
    assert isinstance(info.value.__cause__, APIResponseValidationError)
    assert "POST /api/v1/sov" in str(info.value)
    assert len(hostile.seen) == 1


def test_nesting_at_the_limit_is_accepted_and_past_it_refused() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert decode_json(ok.encode()) is not None
    with pytest.raises(ValueError, match="nested deeper"):
        decode_json(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())
    # Brackets inside strings are text, however many.
    text = {"a": "[{" * 10_000, "b": [']}\\"[[' * 1000]}
    assert decode_json(json.dumps(text).encode()) == text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(json_values)
def test_every_json_value_round_trips(value: Any) -> None:
    assert decode_json(json.dumps(value).encode()) == value


async def test_parse_names_the_request_and_the_model(hostile: Hostile, wire: Transport) -> None:
    hostile.answer(b'{"message": "created, but no id"}', 201)
    response = await wire.request("GET", "extraction", PATH, job_id="s-1")
    with pytest.raises(APIResponseValidationError) as info:
        response.parse(CreatedResponse)
    assert info.value.model == "CreatedResponse"
    assert info.value.errors
    assert f"GET {PATH} (job s-1)" in str(info.value)
    assert "CreatedResponse" in str(info.value)
    hostile.answer(b'{"id": "s-2", "message": "ok"}', 201)
    response = await wire.request("GET", "extraction", PATH)
    assert response.parse(CreatedResponse).id == "s-2"


async def test_parse_of_a_submission_answer_without_an_id_is_ambiguous(
    hostile: Hostile, wire: Transport
) -> None:
    hostile.answer(b'{"message": "created, but no id"}', 201)
    response = await wire.request(
        "POST", "extraction", "/api/v1/sov", json={}, safety=Safety.SUBMIT
    )
    with pytest.raises(AmbiguousSubmissionError) as info:
        response.parse(CreatedResponse)
    assert info.value.status == 201
    assert isinstance(info.value.__cause__, APIResponseValidationError)


@pytest.mark.slow
async def test_a_1_mib_gzip_bomb_costs_the_default_cap(hostile: Hostile) -> None:
    """The issue's case: 1 MiB of gzip inflating to 1 GiB (it cost 3 GB of RSS in 0.1)."""
    bomb = gzip_bomb(1024 * MiB)
    assert len(bomb) < 1.1 * MiB
    hostile.answer(bomb, headers={"Content-Encoding": "gzip"})
    async with hostile.transport() as t:
        peak, error = await peak_during(t, method="GET", api="extraction", path_or_url=PATH)
    assert isinstance(error, ResponseTooLargeError)
    print(f"1 MiB gzip bomb: peak {peak / MiB:.1f} MiB")
    assert peak < 3 * t.config.max_response_bytes
