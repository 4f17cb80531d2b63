"""Ids and file names put into URL paths: each one percent-encoded path segment.

An id comes from a user, a resume token read back from a database, or a server answer;
none of them may reach another path of the API (``../``, ``?``, ``#``) with the token
attached.
"""

from __future__ import annotations

from urllib.parse import quote

from sovfixer_async._errors import InvalidInputError

#: Longer ids are refused: no API id is anywhere near this long.
MAX_ID_LENGTH = 1024


def check_id(value: object, field: str = "id") -> str:
    """``value`` as a job id or file name that can be one path segment, or raise."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError("must be a non-empty string", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(f"longer than {MAX_ID_LENGTH} characters", field=field)
    if value in (".", ".."):
        raise InvalidInputError(f"{value!r} is not an id", field=field)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInputError("holds a control character", field=field)
    return value


def segment(value: object, field: str = "id") -> str:
    """One path segment for ``value``: checked, then every reserved character encoded."""
    return quote(check_id(value, field), safe="")
