"""File names from untrusted values: sanitised, never a path, unique within one job.

Every server value that becomes a path (an output's ``filename``, a
``Content-Disposition`` name, a URL's last segment, a job id) goes through
:func:`safe_filename`; names that must coexist in one folder through :func:`unique_names`.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Sequence
from typing import Final

from aiohttp.multipart import content_disposition_filename
from aiohttp.multipart import parse_content_disposition as _aiohttp_parse
from yarl import URL

_MAX_NAME_BYTES: Final = 200
_MAX_EXT_BYTES: Final = 32
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789¹²³"}
)
# Path separators, characters Windows forbids in names, and bidi/line controls.
_UNSAFE_CHARS = re.compile(
    r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]'
)


def safe_filename(name: str | None, *, fallback: str) -> str:
    """A plain file name from an untrusted one: never a path, never empty, never escaping.

    Keeps the last path component (``/`` and ``\\`` both count), replaces control, bidi
    and Windows-forbidden characters (``:`` included, so ``C:`` is no drive) with ``_``,
    strips leading dots and spaces (no hidden files, no ``..``) and trailing dots and
    spaces, prefixes Windows device names (``CON``, ``NUL``...) with ``_``, and caps the
    name at 200 bytes of UTF-8 keeping the extension. ``fallback`` (itself sanitised, then
    ``"download"``) is used when nothing is left. Idempotent.
    """
    cleaned = _clean(name) if name else ""
    if cleaned:
        return cleaned
    cleaned = _clean(fallback) if fallback else ""
    return cleaned or "download"


def _clean(name: str) -> str:
    # Lone surrogates (from undecodable bytes) cannot be written as UTF-8 names.
    name = "".join("_" if "\ud800" <= ch <= "\udfff" else ch for ch in name)
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_CHARS.sub("_", name)
    name = name.strip(". ")
    if not name:
        return ""
    if name.partition(".")[0].upper().rstrip(" ") in _WINDOWS_DEVICES:
        name = "_" + name
    return _cap(name)


def _split(name: str) -> tuple[str, str]:
    """(stem, ``.ext`` or ``""``): an extension is what follows the last dot of a
    non-empty stem, at most 32 bytes."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > _MAX_EXT_BYTES:
        return name, ""
    return stem, f".{ext}"


def _cap(name: str, suffix_extra: str = "") -> str:
    """Cut to ``_MAX_NAME_BYTES`` of UTF-8 on a character boundary, keeping the suffix
    (``suffix_extra`` goes between the stem and the extension)."""
    if not suffix_extra and len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    stem, ext = _split(name)
    suffix = suffix_extra + ext
    room = _MAX_NAME_BYTES - len(suffix.encode())
    cut = stem.encode()[:room].decode("utf-8", "ignore")
    # NFC again: a cut may split a base character from its combining mark.
    cut = unicodedata.normalize("NFC", cut).rstrip(". ")
    while len(cut.encode()) > room:
        cut = cut[:-1].rstrip(". ")
    return (cut or "_") + suffix


def unique_names(names: Sequence[str | None], fallbacks: Sequence[str] | None = None) -> list[str]:
    """Safe, distinct names for files saved side by side, deterministic by order.

    Each name goes through :func:`safe_filename` (with its fallback); the first holder of
    a name keeps it, later ones become ``name (2).ext``, ``name (3).ext``... in order.
    Names are compared case-insensitively, as macOS and Windows file systems do.
    """
    if fallbacks is None:
        fallbacks = ["download"] * len(names)
    if len(names) != len(fallbacks):
        raise ValueError("one fallback per name")
    taken: set[str] = set()
    out: list[str] = []
    for name, fallback in zip(names, fallbacks, strict=True):
        safe = safe_filename(name, fallback=fallback)
        candidate, n = safe, 1
        while _fold(candidate) in taken:
            n += 1
            candidate = _cap(safe, f" ({n})")
        taken.add(_fold(candidate))
        out.append(candidate)
    return out


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name.casefold())


def served_name(disposition: str | None, url: str) -> str:
    """The safe name of a file the server names: its ``Content-Disposition`` name, else
    the last segment of its URL, else ``download``."""
    try:
        last = URL(url).name
    except ValueError:  # not a URL yarl can read: no name from it
        last = ""
    fallback = safe_filename(last, fallback="download")
    return safe_filename(parse_content_disposition(disposition), fallback=fallback)


def parse_content_disposition(value: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header proposes, not yet sanitised.

    Parsed by aiohttp (``aiohttp.multipart.parse_content_disposition``):
    ``filename*=charset'lang'percent-encoded`` (RFC 6266/5987) wins over ``filename=``
    (a quoted string with backslash escapes, or a token); a malformed header or
    parameter proposes nothing (aiohttp also drops leading ``/`` and ``\\``).
    """
    if not value:
        return None
    with warnings.catch_warnings():  # aiohttp warns on a malformed header: it is the server's
        warnings.simplefilter("ignore")
        _, params = _aiohttp_parse(value)
    name = content_disposition_filename(params, "filename")
    if not name:  # an empty or undecodable ``filename*``: the plain one, if any
        name = params.get("filename")
    return name or None
