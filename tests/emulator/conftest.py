"""Shared helpers of the emulator tests: an authorised aiohttp session and a small API helper.

Tests talk to the emulator over real HTTP on 127.0.0.1 with plain aiohttp (not the SDK).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import anyio
import pytest
from attrs import define

TOKEN = "test-token"
TERMINAL = ("COMPLETE", "FAILED")


@define
class Api:
    """``await api.get(path)`` and friends: JSON in, JSON out, status asserted."""

    http: aiohttp.ClientSession
    base: str

    @staticmethod
    def csv_form(data: bytes, name: str = "locations.csv") -> aiohttp.FormData:
        """A multipart body with one CSV ``file`` part, as add_locations wants."""
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="text/csv")
        return form

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    async def get(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        async with self.http.get(self.url(path), **kwargs) as response:
            body = await response.json()
            assert response.status == status, body
            return body

    async def post(self, path: str, status: int = 201, **kwargs: Any) -> Any:
        async with self.http.post(self.url(path), **kwargs) as response:
            body = await response.json()
            assert response.status == status, body
            return body

    async def poll(self, path: str, timeout: float = 10.0) -> dict[str, Any]:
        """GET until ``request.status`` is terminal; ``body["_seen"]`` lists the statuses seen."""
        seen: list[str] = []
        with anyio.fail_after(timeout):
            while True:
                body = await self.get(path)
                status = body["request"]["status"]
                if not seen or seen[-1] != status:
                    seen.append(status)
                if status in TERMINAL:
                    body["_seen"] = seen
                    return dict(body)
                await anyio.sleep(0.01)

    async def control(self, path: str, json: Any = None) -> Any:
        """``/_emulator`` calls (no auth needed)."""
        async with aiohttp.ClientSession() as bare:
            method = bare.post if json is not None else bare.get
            async with method(self.base + path, json=json) as response:
                assert response.status == 200
                return await response.json()


@pytest.fixture
async def http(anyio_backend: Any) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session that sends ``Authorization: Token test-token``."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Token {TOKEN}"}) as session:
        yield session


@pytest.fixture
def make_api(http: aiohttp.ClientSession) -> Callable[[Any], Api]:
    """``make_api(emulator)``: an :class:`Api` on that emulator."""
    return lambda emulator: Api(http, emulator.url)


@pytest.fixture
def api(sovfixer_emulator: Any, make_api: Callable[[Any], Api]) -> Api:
    """An :class:`Api` on the default fast emulator (``sovfixer_emulator``)."""
    return make_api(sovfixer_emulator)
