"""Reading members of an untrusted zip (an .xlsx upload) with bounded memory.

The end-of-central-directory record is checked before :mod:`zipfile` parses the directory
(a directory of a million entries would cost gigabytes of ``ZipInfo``), only stored and
deflated members are read (bzip2 and lzma members inflate without a cap in ``zipfile``),
and each member is inflated in chunks against both its declared size and a running count of
the bytes it actually inflates to, so a member that lies about its size is stopped at the cap.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from typing import Any

from sovfixer_async.emulator.limits import UploadLimits

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_READABLE = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


class ZipLimitError(Exception):
    """The zip is not one this reader will read (broken, or over a limit)."""


def _directory(data: bytes) -> tuple[int, int]:
    """(entries, central directory bytes) as the end records declare them."""
    start = max(0, len(data) - _EOCD.size - 0xFFFF)
    at = data.rfind(b"PK\x05\x06", start)
    if at < 0 or len(data) - at < _EOCD.size:
        raise ZipLimitError("not a zip file (no end of central directory)")
    fields = _EOCD.unpack_from(data, at)
    entries, size = fields[4], fields[5]
    if entries == 0xFFFF or size == 0xFFFFFFFF or fields[6] == 0xFFFFFFFF:
        loc = at - _ZIP64_LOCATOR.size
        if loc < 0 or data[loc : loc + 4] != b"PK\x06\x07":
            raise ZipLimitError("broken zip64 end records")
        offset = _ZIP64_LOCATOR.unpack_from(data, loc)[2]
        if offset + _ZIP64_EOCD.size > len(data) or data[offset : offset + 4] != b"PK\x06\x06":
            raise ZipLimitError("broken zip64 end records")
        big = _ZIP64_EOCD.unpack_from(data, offset)
        entries, size = big[7], big[8]
    return entries, size


class BoundedZip:
    """The members of ``data``, read within ``limits`` (one running total per instance)."""

    def __init__(self, data: bytes, limits: UploadLimits) -> None:
        entries, size = _directory(data)
        if entries > limits.max_members:
            raise ZipLimitError(f"too many entries ({entries}; at most {limits.max_members})")
        if size > limits.max_directory_bytes:
            raise ZipLimitError(f"the zip directory is too large ({size} bytes)")
        self.limits = limits
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        infos = self.zip.infolist()
        if len(infos) > limits.max_members:
            raise ZipLimitError(f"too many entries ({len(infos)}; at most {limits.max_members})")
        self.names = {info.filename: info for info in infos}
        self.inflated = 0

    def stream(self, name: str, feed: Callable[[bytes], Any], max_bytes: int) -> None:
        """Inflate member ``name`` chunk by chunk into ``feed``; at most ``max_bytes`` of it."""
        info = self.names.get(name)
        if info is None:
            raise ZipLimitError(f"the workbook has no part {name}")
        cap = min(max_bytes, self.limits.max_part_bytes)
        if info.file_size > cap:
            raise ZipLimitError(f"{name} is too large ({info.file_size} bytes; at most {cap})")
        if info.compress_type not in _READABLE:
            raise ZipLimitError(f"{name} uses an unsupported compression ({info.compress_type})")
        seen = 0
        with self.zip.open(info) as member:
            while chunk := member.read(self.limits.chunk_bytes):
                seen += len(chunk)
                self.inflated += len(chunk)
                if seen > cap:  # the declared size lied (zipfile trims to it, but be sure)
                    raise ZipLimitError(f"{name} is too large (over {cap} bytes inflated)")
                if self.inflated > self.limits.max_inflated_bytes:
                    raise ZipLimitError(
                        f"the workbook is too large (over {self.limits.max_inflated_bytes} "
                        "bytes inflated)"
                    )
                feed(chunk)
