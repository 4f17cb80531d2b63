"""Request bodies read within limits, and parsed off the event loop when they are large.

A body is read from the (already gzip-decoded, in bounded steps, by aiohttp) request stream
against ``--max-body-bytes`` (413 beyond it); JSON is decoded by :mod:`json_bounded`, inline
when small and in a worker thread otherwise. Heavy parsing runs one at a time
(:func:`off_loop`), so the memory bounds hold for the process, not per request.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from sovfixer_async.emulator.json_bounded import JSONInvalid, JSONTooLarge, loads, text_of
from sovfixer_async.emulator.limits import DEFAULT_LIMITS, TooLarge, UploadLimits
from sovfixer_async.emulator.protocol import BadRequest, Body, Upload
from sovfixer_async.emulator.state import STATE

T = TypeVar("T")

_PARSING = threading.Lock()
_LEADING_SPACE = re.compile(rb"[ \t\r\n]*")
#: Fields of a form body sent without its content type (aiohttp's own cap for forms).
MAX_FORM_FIELDS = 1000


async def off_loop(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a worker thread, one such parse at a time."""

    def locked() -> T:
        with _PARSING:
            return func(*args)

    return await asyncio.to_thread(locked)


def max_body_bytes(request: web.Request) -> int:
    return request.app[STATE].settings.max_body_bytes


async def read_raw(request: web.Request) -> bytes:
    """The whole (decoded) body, at most ``--max-body-bytes`` of it, else :class:`TooLarge`."""
    limit = max_body_bytes(request)
    declared = request.content_length
    if declared is not None and declared > limit:
        raise TooLarge(f"The request body is larger than {limit} bytes.")
    buffer = io.BytesIO()
    async for chunk in request.content.iter_chunked(DEFAULT_LIMITS.chunk_bytes):
        if buffer.tell() + len(chunk) > limit:
            raise TooLarge(f"The request body is larger than {limit} bytes (decoded).")
        buffer.write(chunk)
    return buffer.getvalue()


def decode_json(raw: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> object:
    """A JSON document within ``limits``: BadRequest when malformed, TooLarge over a limit."""
    try:
        return loads(text_of(raw, limits), limits)
    except JSONTooLarge as exc:
        raise TooLarge(f"The JSON body is too large: {exc}.") from None
    except JSONInvalid as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None


async def parse_json(raw: bytes) -> object:
    """:func:`decode_json`, inline for small bodies and in a worker thread otherwise."""
    if len(raw) <= DEFAULT_LIMITS.chunk_bytes:
        return decode_json(raw)
    return await off_loop(decode_json, raw)


async def read_json(request: web.Request) -> object:
    """The JSON document of the body (any content type); None for an empty body."""
    raw = await read_raw(request)
    if _LEADING_SPACE.match(raw).end() == len(raw):  # type: ignore[union-attr]
        return None
    return await parse_json(raw)


def _from_multidict(md: Mapping[str, Any]) -> Body:
    # A MultiDictProxy: items() yields every value of a repeated key.
    body = Body()
    for key, value in md.items():
        if isinstance(value, web.FileField):
            # aiohttp clients percent-encode multipart filenames; requests sends them raw.
            filename = urllib.parse.unquote(value.filename or "upload")
            body.files.append(Upload(key, filename, value.file.read()))
        else:
            body.fields.setdefault(key, []).append(value)
    return body


def _form_pairs(raw: bytes) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


async def read_body(request: web.Request) -> Body:
    """Parse a JSON, form-urlencoded, multipart or empty body, within the limits.

    aiohttp bounds forms and multipart bodies (``--max-body-bytes``, 1000 fields) and spools
    file parts to disk; the files are read back in a worker thread.
    """
    ctype = request.content_type
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        md = await request.post()
        if any(isinstance(v, web.FileField) for v in md.values()):
            return await asyncio.to_thread(_from_multidict, md)
        return _from_multidict(md)
    raw = await read_raw(request)
    start = _LEADING_SPACE.match(raw).end()  # type: ignore[union-attr]
    if start == len(raw):
        return Body()
    if ctype == "application/json" or raw[start : start + 1] in (b"{", b"["):
        doc = await parse_json(raw)
        if not isinstance(doc, dict):
            raise BadRequest("The JSON body must be an object.")
        return Body(fields={k: [v] for k, v in doc.items()}, is_json=True)
    # A form body sent without its content type.
    if raw.count(b"&") >= MAX_FORM_FIELDS:
        raise TooLarge(f"A form body may carry at most {MAX_FORM_FIELDS} fields.")
    pairs = await asyncio.to_thread(_form_pairs, raw)
    body = Body()
    for key, value in pairs:
        body.fields.setdefault(key, []).append(value)
    return body
