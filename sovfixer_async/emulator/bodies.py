"""Request bodies read within limits, and parsed off the event loop when they are large.

A body is read from the (already gzip-decoded, in bounded steps, by aiohttp) request stream
against ``--max-body-bytes`` (413 beyond it); JSON is decoded by :mod:`json_bounded`, inline
when small and in a worker thread otherwise. Heavy parsing runs one at a time
(:func:`off_loop`), so the memory bounds hold for the process, not per request.
"""

from __future__ import annotations

import asyncio
import gc
import io
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

from sovfixer_async.emulator.json_bounded import JSONInvalid, JSONTooLarge, loads, text_of
from sovfixer_async.emulator.limits import DEFAULT_LIMITS, TooLarge, UploadLimits
from sovfixer_async.emulator.protocol import BadRequest, Body, JSONDict, Upload
from sovfixer_async.emulator.state import STATE

T = TypeVar("T")

_PARSING = threading.Lock()
_YIELD_EVERY = 4 * 1024 * 1024
_LEADING_SPACE = re.compile(rb"[ \t\r\n]*")
#: Fields of a form body (aiohttp's own cap for forms), and bytes of one text field.
MAX_FORM_FIELDS = 1000
MAX_TEXT_FIELD_BYTES = 1024 * 1024
#: Percent-escapes of a form-urlencoded body (``urllib`` splits the text at each one).
MAX_FORM_ESCAPES = 256 * 1024


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a parse builds (acyclic) objects by the million.

    A full collection over them holds the GIL for 0.1-1 s, stalling the event loop; the
    parsers create no cycles, so reference counting frees what they drop.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def off_loop(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a worker thread, one such parse at a time."""

    def locked() -> T:
        with _PARSING, _collector_paused():
            return func(*args)

    return await asyncio.to_thread(locked)


def max_body_bytes(request: web.Request) -> int:
    return request.app[STATE].settings.max_body_bytes


async def read_raw(request: web.Request, limit: int | None = None) -> bytes:
    """The whole (decoded) body, at most ``--max-body-bytes`` (or ``limit``) of it, else
    :class:`TooLarge` as soon as it is known to be larger."""
    limit = min(limit or max_body_bytes(request), max_body_bytes(request))
    declared = request.content_length
    if declared is not None and declared > limit and "Content-Encoding" not in request.headers:
        raise TooLarge(f"The request body is larger than {limit} bytes.")
    buffer = io.BytesIO()
    async for chunk in request.content.iter_chunked(DEFAULT_LIMITS.chunk_bytes):
        if buffer.tell() + len(chunk) > limit:
            raise TooLarge(f"The request body is larger than {limit} bytes (decoded).")
        buffer.write(chunk)
        if buffer.tell() % _YIELD_EVERY < len(chunk):  # buffered chunks arrive without a pause
            await asyncio.sleep(0)
    return buffer.getvalue()


def decode_json(raw: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> object:
    """A JSON document within ``limits``: BadRequest when malformed, TooLarge over a limit."""
    try:
        return loads(text_of(raw, limits), limits)
    except JSONTooLarge as exc:
        raise TooLarge(f"The JSON body is too large: {exc}.") from None
    except JSONInvalid as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None


def decode_object(raw: bytes, check: Callable[[JSONDict], T]) -> T:
    """:func:`decode_json` of a body that must be a JSON object, then ``check`` of it.

    Run in the worker thread, so a refused document is also freed there (freeing a million
    objects takes the GIL for tens of milliseconds too).
    """
    doc = decode_json(raw)
    try:
        if not isinstance(doc, dict):
            raise BadRequest("The JSON body must be an object.")
        return check(doc)
    except (BadRequest, TooLarge):
        dispose(doc)
        raise


def dispose(document: object, step: int = 4096) -> None:
    """Free a decoded document a few thousand objects at a time.

    Dropping a list of a million items is one C call that holds the GIL for tens of
    milliseconds; emptying it in slices lets the event loop run in between.
    """
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            while node:
                tail = node[-step:]
                del node[-step:]
                stack.extend(item for item in tail if isinstance(item, list | dict))
        elif isinstance(node, dict):
            while node:
                batch = [node.popitem()[1] for _ in range(min(step, len(node)))]
                stack.extend(item for item in batch if isinstance(item, list | dict))


async def parse_json(raw: bytes, check: Callable[[JSONDict], T]) -> T:
    """:func:`decode_object`, inline for small bodies and in a worker thread otherwise."""
    if len(raw) <= DEFAULT_LIMITS.chunk_bytes:
        return decode_object(raw, check)
    return await off_loop(decode_object, raw, check)


async def read_json(request: web.Request, check: Callable[[JSONDict], T]) -> T | None:
    """The JSON object of the body (any content type) after ``check``; None when empty."""
    raw = await read_raw(request, DEFAULT_LIMITS.max_json_bytes)
    if _LEADING_SPACE.match(raw).end() == len(raw):  # type: ignore[union-attr]
        return None
    return await parse_json(raw, check)


async def _read_part(part: BodyPartReader, cap: int, total: list[int], limit: int) -> bytes:
    """One part's (decoded) bytes, at most ``cap``; ``total`` counts the whole body."""
    buffer = io.BytesIO()
    while chunk := await part.read_chunk(DEFAULT_LIMITS.chunk_bytes):
        if total[0] % _YIELD_EVERY + len(chunk) >= _YIELD_EVERY:
            await asyncio.sleep(0)
        total[0] += len(chunk)
        if total[0] > limit:
            raise TooLarge(f"The request body is larger than {limit} bytes.")
        async for decoded in part.decode_iter(chunk):
            buffer.write(decoded)
            if buffer.tell() > cap:
                raise TooLarge(f"The form field {part.name!r} is larger than {cap} bytes.")
    return buffer.getvalue()


async def _read_multipart(request: web.Request) -> Body:
    """A multipart body, part by part: at most 1000 parts, 1 MiB per text field."""
    limit = max_body_bytes(request)
    body, total, count = Body(), [0], 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        count += 1
        if count % 32 == 0:  # parts already received are read without yielding: yield now
            await asyncio.sleep(0)
        if count > MAX_FORM_FIELDS:
            raise TooLarge(f"A form body may carry at most {MAX_FORM_FIELDS} fields.")
        if not isinstance(part, BodyPartReader):
            raise BadRequest("Nested multipart bodies are not accepted.")
        if part.name is None:
            raise BadRequest("A multipart field has no name.")
        if part.filename:
            data = await _read_part(part, limit, total, limit)
            # aiohttp clients percent-encode multipart filenames; requests sends them raw.
            filename = urllib.parse.unquote(part.filename or "upload")
            body.files.append(Upload(part.name, filename, data))
            continue
        raw = await _read_part(part, MAX_TEXT_FIELD_BYTES, total, limit)
        ctype = part.headers.get("Content-Type")
        if ctype is None or ctype.startswith("text/"):
            try:
                value: Any = raw.decode(part.get_charset(default="utf-8"))
            except (LookupError, UnicodeDecodeError) as exc:
                raise BadRequest(f"The form field {part.name!r} is not text: {exc}") from None
        else:
            value = raw
        body.fields.setdefault(part.name, []).append(value)
    return body


def _json_body(doc: JSONDict) -> Body:
    return Body(fields={k: [v] for k, v in doc.items()}, is_json=True)


def _form_pairs(raw: bytes, charset: str) -> list[tuple[str, str]]:
    try:
        text = raw.decode(charset, "replace")
    except LookupError:
        raise BadRequest(f"Unknown charset {charset!r}.") from None
    return urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset, errors="replace")


async def read_body(request: web.Request) -> Body:
    """Parse a JSON, form-urlencoded, multipart or empty body, within the limits.

    Every part is read in chunks against ``--max-body-bytes``; a form carries at most 1000
    fields, a text field at most 1 MiB; large forms and JSON are parsed in a worker thread.
    """
    ctype = request.content_type
    if ctype == "multipart/form-data":
        return await _read_multipart(request)
    json_only = ctype == "application/json"
    raw = await read_raw(request, DEFAULT_LIMITS.max_json_bytes if json_only else None)
    start = _LEADING_SPACE.match(raw).end()  # type: ignore[union-attr]
    if start == len(raw):
        return Body()
    form = ctype == "application/x-www-form-urlencoded"
    if not form and (json_only or raw[start : start + 1] in (b"{", b"[")):
        return await parse_json(raw, _json_body)
    # A form body (perhaps sent without its content type).
    if raw.count(b"&") >= MAX_FORM_FIELDS:
        raise TooLarge(f"A form body may carry at most {MAX_FORM_FIELDS} fields.")
    if raw.count(b"%") > MAX_FORM_ESCAPES:  # unquote makes an object of each escape
        raise TooLarge(f"A form body may carry at most {MAX_FORM_ESCAPES} %-escapes.")
    charset = request.charset or "utf-8"
    if len(raw) <= DEFAULT_LIMITS.chunk_bytes:
        pairs = _form_pairs(raw, charset)
    else:
        pairs = await off_loop(_form_pairs, raw, charset)
    body = Body()
    for key, value in pairs:
        if len(value) > MAX_TEXT_FIELD_BYTES:
            raise TooLarge(f"The form field {key!r} is larger than {MAX_TEXT_FIELD_BYTES} bytes.")
        body.fields.setdefault(key, []).append(value)
    return body
