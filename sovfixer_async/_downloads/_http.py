"""Small HTTP pieces of a download: ranges, validators, redirects, error bodies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Final

import aiohttp
import anyio

_ERROR_BODY_LIMIT: Final = 64 * 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)\s*/\s*(\d+|\*)\s*$", re.IGNORECASE)
REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS: Final = 5


def content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(start, end, total)`` of ``bytes a-b/t``; ``(-1, -1, t)`` for ``bytes */t``."""
    if not value:
        return None
    match = _CONTENT_RANGE.match(value)
    if not match:
        return None
    first, last, total = match.groups()
    size = None if total == "*" else int(total)
    if first is None:
        return (-1, -1, size)
    return (int(first), int(last), size)


def is_etag(validator: str) -> bool:
    """A strong entity tag (``"..."``), as opposed to a ``Last-Modified`` date."""
    return len(validator) >= 2 and validator[0] == validator[-1] == '"'


def validator_of(headers: Mapping[str, str], ranges: bool) -> str | None:
    """What ``If-Range`` may carry to resume this response: its strong ETag, else its
    ``Last-Modified`` date; None without byte ranges or without either."""
    if not ranges:
        return None
    etag = headers.get("ETag")
    if etag is not None:
        return etag if is_etag(etag) else None  # a weak ETag: no ranges
    modified = headers.get("Last-Modified", "").strip()
    return modified if modified and modified.isprintable() else None


def same_representation(headers: Mapping[str, str], validator: str) -> bool:
    """Whether a 206 answers for the representation ``validator`` names (a missing
    header is taken as agreement, as the server honoured ``If-Range``)."""
    name = "ETag" if is_etag(validator) else "Last-Modified"
    return headers.get(name, validator) == validator


@asynccontextmanager
async def borrow(limiter: anyio.CapacityLimiter) -> AsyncIterator[None]:
    token = object()
    await limiter.acquire_on_behalf_of(token)
    try:
        yield
    finally:
        limiter.release_on_behalf_of(token)


async def drain(resp: aiohttp.ClientResponse) -> None:
    """Read a small error body so the connection can be reused; give up on big ones."""
    with suppress(aiohttp.ClientError, TimeoutError):
        await resp.content.read(_ERROR_BODY_LIMIT)


async def error_body(resp: aiohttp.ClientResponse) -> bytes:
    return await resp.content.read(_ERROR_BODY_LIMIT)


def describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the server"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the body was cut short"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
