"""Serving output files (contract 3.3, 4.3, 12.1): ETag, Range, If-Range, never compressed.

Bodies are memoryview slices of the cached bytes, so a large padded output is not copied
per request. A download picked by ``truncate_rate`` announces its full length, sends part
of the body and closes the connection.
"""

from __future__ import annotations

import re

from aiohttp import web

from sovfixer_async.emulator.faults import TRUNCATE, note_truncated
from sovfixer_async.emulator.state import Blob

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)

UNSATISFIABLE = (-1, -1)
#: Range positions with more digits than this are beyond any file (int() would refuse > 4300).
_MAX_DIGITS = 18
_BEYOND = 1 << 63
_CHUNK = 1 << 20


def _position(digits: str) -> str:
    """Digits as given, or those of a position past any file when there are too many."""
    return str(_BEYOND) if len(digits) > _MAX_DIGITS else digits


def parse_range(header: str, total: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (first, last) inclusive; None to ignore; UNSATISFIABLE."""
    match = _RANGE.match(header)
    if match is None:
        return None  # malformed or several ranges: serve the whole file
    first_s, last_s = (_position(s) for s in match.groups())
    if not first_s and not last_s:
        return None
    if not first_s:
        suffix = int(last_s)  # a suffix longer than the file: the whole file
        if suffix == 0 or total == 0:
            return UNSATISFIABLE
        return (max(0, total - suffix), total - 1)
    first = int(first_s)
    last = int(last_s) if last_s else total - 1
    if last_s and last < first:
        return None
    if first >= total:
        return UNSATISFIABLE
    return (first, min(last, total - 1))


async def serve_blob(
    request: web.Request, blob: Blob, filename: str, *, ranges: bool = True
) -> web.StreamResponse:
    """Answer a download of ``blob`` saved as ``filename``."""
    total = len(blob.data)
    headers = {
        "Content-Type": blob.content_type,
        "Content-Disposition": f'attachment; filename="{filename}"',
        "ETag": blob.etag,
    }
    first, last, status = 0, total - 1, 200
    if ranges:
        headers["Accept-Ranges"] = "bytes"
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if wanted and (if_range is None or if_range.strip() == blob.etag):
            parsed = parse_range(wanted, total)
            if parsed == UNSATISFIABLE:
                headers["Content-Range"] = f"bytes */{total}"
                del headers["Content-Disposition"]
                return web.Response(status=416, headers=headers)
            if parsed is not None:
                first, last = parsed
                status = 206
                headers["Content-Range"] = f"bytes {first}-{last}/{total}"
    body = memoryview(blob.data)[first : last + 1]
    if request.get(TRUNCATE) and len(body) > 1 and request.method == "GET":
        return await _truncated(request, status, headers, body)
    if len(body) <= _CHUNK or request.method != "GET":
        return web.Response(status=status, body=body, headers=headers)
    # Large bodies go out in 1 MiB writes: one huge write costs the server seconds of CPU
    # per GB on Python 3.11, which download benchmarks would otherwise measure.
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(body)
    await response.prepare(request)
    for start in range(0, len(body), _CHUNK):
        await response.write(body[start : start + _CHUNK])
    await response.write_eof()
    return response


async def _truncated(
    request: web.Request, status: int, headers: dict[str, str], body: memoryview
) -> web.StreamResponse:
    note_truncated(request)
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()  # flushes what was written, then closes
    return response
