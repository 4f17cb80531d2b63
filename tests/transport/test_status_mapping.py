"""Every HTTP answer maps to one typed error, through the one mapping point."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from sovfixer_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from sovfixer_async._transport import Safety

if TYPE_CHECKING:
    from tests.transport.conftest import Hostile

pytestmark = pytest.mark.anyio

EXPECTED: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    413: BadRequestError,
    422: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    500: InternalServerError,
    503: InternalServerError,
    599: InternalServerError,
    418: APIStatusError,
}


@pytest.mark.parametrize("status", sorted(EXPECTED))
async def test_each_status_maps_to_its_class(hostile: Hostile, status: int) -> None:
    body = json.dumps({"detail": f"said {status}"}).encode()
    hostile.answer(body, status, {"X-Request-ID": f"req-{status}"})
    async with hostile.transport() as t:
        with pytest.raises(APIStatusError) as info:
            await t.request("GET", "extraction", "/api/v1/sov/s-1", job_id="s-1")
    error = info.value
    assert type(error) is EXPECTED[status]
    assert (error.status, error.request_id) == (status, f"req-{status}")
    assert error.body == body.decode()
    assert error.json == {"detail": f"said {status}"}
    assert error.what == "GET /api/v1/sov/s-1"
    assert error.job_id == "s-1"
    assert f"said {status}" in str(error)


async def test_a_start_that_conflicts_first_time_is_a_conflict_error(hostile: Hostile) -> None:
    hostile.answer(b'{"detail": "already started"}', 409)
    async with hostile.transport() as t:
        with pytest.raises(ConflictError):
            await t.request("POST", "extraction", "/start", json={}, safety=Safety.START)
