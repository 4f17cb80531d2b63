"""What goes out: JSON (gzipped when large), forms, multipart files, query parameters."""

from __future__ import annotations

import gzip
import json as jsonlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


@frozen
class FilePart:
    """One file of a multipart body: bytes in memory, or a path opened per attempt."""

    name: str
    filename: str
    content: bytes | Path
    content_type: str = "application/octet-stream"


@frozen
class Multipart:
    """A multipart/form-data body, rebuilt for every attempt (aiohttp consumes it)."""

    fields: Sequence[tuple[str, str]] = ()
    files: Sequence[FilePart] = ()


@frozen
class EncodedJson:
    """A JSON request body encoded ahead of the request; gzipped when ``gzipped``."""

    data: bytes
    gzipped: bool = False

    @classmethod
    def of(cls, data: bytes, gzip_above: int | None = None) -> EncodedJson:
        """JSON ``data`` as sent: gzipped when longer than ``gzip_above`` (None: never)."""
        if gzip_above is not None and len(data) > gzip_above:
            return cls(gzip.compress(data, compresslevel=5), gzipped=True)
        return cls(data)


def encode_json(value: Any, gzip_above: int | None = None) -> EncodedJson:
    """Compact JSON bytes, gzipped when longer than ``gzip_above`` (None: never)."""
    return EncodedJson.of(jsonlib.dumps(value, separators=(",", ":")).encode(), gzip_above)


def query(params: Params | None) -> list[tuple[str, str]] | None:
    """Query parameters as the API expects: repeated keys for lists, True/False, no None."""
    if params is None:
        return None
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is None:
                continue
            out.append((key, ("true" if v else "false") if isinstance(v, bool) else str(v)))
    return out
