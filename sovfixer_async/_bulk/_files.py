"""A bulk run's files: batch bodies on disk, per-batch JSONL parts, the merged results.

Everything here is blocking file work, run in worker threads by the run handle (or on the
loop for small files). The merged file has exactly one line per submitted location,
whatever the server's formatting of a batch output (compact or pretty-printed JSON).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sovfixer_async._transport import EncodedJson, encode_json

MERGED_NAME = "results.jsonl"
#: Batch bodies up to this size are written to the (page-cached) work folder on the loop...
INLINE_WRITE_BYTES = 1 << 20
#: ...and read back and encoded for sending on the loop up to this size (no gzip below it).
INLINE_ENCODE_BYTES = 1 << 16


def encoded_body(path: Path, callback_url: str | None, gzip_above: int) -> EncodedJson:
    """A batch body as sent (JSON, gzipped when large).

    The file already holds the compact JSON to send; only a per-batch callback URL makes
    it be decoded and encoded again.
    """
    data = path.read_bytes()
    if callback_url is None:
        return EncodedJson.of(data, gzip_above)
    body = json.loads(data)
    body["callback_url"] = callback_url
    return encode_json(body, gzip_above)


def batch_name(number: int) -> str:
    return f"batch-{number:05d}.json"


def write_part(
    part: Path,
    files: list[Path],
    failure: str | None,
    *,
    body: Path | None = None,
    ids: list[str] | None = None,
    sources: tuple[str, ...] = (),
) -> int:
    """One batch's lines ``{"id": ..., "results": {source: {...}}}``; how many were written.

    The locations are listed by the batch ``body`` (its own per-location sources), else by
    ``ids`` (with the run's ``sources``), else by the output alone. Each location's results
    are copied from the output file as the server wrote them (no re-encoding: half the
    cost) unless they span lines (pretty-printed JSON), which are re-encoded compactly; a
    location the output lacks gets a failed result per source, saying ``failure``.
    """
    found: dict[str, str] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for location_id, value, raw in raw_members(text):
            if isinstance(value, dict):
                found[location_id] = one_line(value, raw)
    listed: list[tuple[str, Any]]
    if body is not None and body.is_file():
        with open(body, encoding="utf-8") as f:
            data = json.load(f)
        default_sources = data.get("sources") or []
        listed = [(loc["id"], loc.get("sources") or default_sources) for loc in data["locations"]]
    elif ids is not None:
        listed = [(location_id, list(sources)) for location_id in ids]
    else:
        listed = [(location_id, None) for location_id in found]
    part.parent.mkdir(parents=True, exist_ok=True)
    tmp = part.with_name(part.name + ".tmp")
    reason = failure or "the server returned no result for this location"
    with open(tmp, "w", encoding="utf-8") as out:
        for location_id, location_sources in listed:
            raw_results = found.get(location_id)
            if raw_results is None:
                raw_results = json.dumps(
                    {
                        source: {"is_success": False, "error_message": reason}
                        for source in location_sources or ()
                    }
                )
            out.write(f'{{"id":{json.dumps(location_id)},"results":{raw_results}}}\n')
    os.replace(tmp, part)
    return len(listed)


def one_line(value: Any, raw: str) -> str:
    """``raw`` (the JSON text of ``value``) as one line of a JSONL file."""
    if "\n" in raw or "\r" in raw:
        return json.dumps(value, separators=(",", ":"))
    return raw


def join_parts(parts: list[Path], merged: Path) -> None:
    tmp = merged.with_name(merged.name + ".part")
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    os.replace(tmp, merged)
    for part in parts:
        part.unlink()


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    """The index of the first non-whitespace character from ``i``."""
    match = _WS.match(text, i)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def raw_members(text: str) -> Iterator[tuple[str, Any, str]]:
    """``(key, value, value's JSON text)`` for each member of the JSON object ``text``."""
    decode = _DECODER.raw_decode
    i = _skip(text, 0)
    if text[i : i + 1] != "{":
        return  # not an object (as before: such a file holds no results)
    i = _skip(text, i + 1)
    if text[i : i + 1] == "}":
        return
    while True:
        key, i = decode(text, i)
        i = _skip(text, i)
        if text[i : i + 1] != ":":
            raise ValueError(f"expected ':' at character {i}")
        start = _skip(text, i + 1)
        value, end = decode(text, start)
        yield key, value, text[start:end]
        i = _skip(text, end)
        if text[i : i + 1] == ",":
            i = _skip(text, i + 1)
        elif text[i : i + 1] == "}":
            return
        else:
            raise ValueError(f"expected ',' or '}}' at character {i}")
