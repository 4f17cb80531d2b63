"""Cell values shared by the workbook reader and the building mapper."""

from __future__ import annotations

import math
import re

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def unescape(text: str) -> str:
    """Undo the ``_xHHHH_`` escapes of OOXML strings."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m[1], 16)), text)


def number(text: str) -> object:
    """A numeric cell: int when integral, else float; text that is no finite number stays text."""
    text = text.strip()
    if _INTEGER.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # more digits than int() converts (4300)
            return text
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
