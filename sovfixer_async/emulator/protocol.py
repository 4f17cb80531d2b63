"""Wire helpers shared by the route modules: request bodies, error bodies, timestamps, URLs.

Request bodies arrive as JSON, form-urlencoded, multipart or nothing at all (contract 2.4);
:func:`bodies.read_body` turns each into one :class:`Body` so handlers never care which it was.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from attrs import define, field

from sovfixer_async.emulator import json_bounded
from sovfixer_async.emulator.limits import TooLarge

JSONDict = dict[str, Any]

#: A JSON object sent as a form field is decoded on the event loop: kept small.
MAX_JSON_FIELD_CHARS = 256 * 1024

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class BadRequest(Exception):
    """A request the emulator refuses with 400; ``field`` names the offending field if any."""

    def __init__(self, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra


class NotFound(Exception):
    """An unknown id or filename, answered with 404."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found.")
        self.message = str(self)


def error_response(
    status: int,
    message: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """The emulator's error body of contract 2.5: ``{"detail", "message", ["errors"], ...}``."""
    body: JSONDict = {"detail": message, "message": message}
    if errors:
        body["errors"] = dict(errors)
    body.update(extra)
    return web.json_response(body, status=status, headers=headers)


def bad_request(exc: BadRequest) -> web.Response:
    """A 400 for ``exc``, naming its field under ``errors``."""
    errors = {exc.field: [exc.message]} if exc.field else None
    return error_response(400, exc.message, errors=errors, **exc.extra)


def parse_bool(value: object, field: str) -> bool:
    """Booleans as JSON gives them or as form/query strings (true/false/True/False/1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise BadRequest(f"{field} must be a boolean, not {value!r}.", field)


def parse_int(value: object, field: str) -> int:
    """An integer from JSON or a form/query string."""
    if isinstance(value, bool):
        raise BadRequest(f"{field} must be an integer.", field)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadRequest(f"{field} must be an integer, not {value!r}.", field)


@define
class Upload:
    """One file part of a multipart body."""

    name: str
    filename: str
    data: bytes


@define
class Body:
    """A request body reduced to fields (each a list of values) and file parts."""

    fields: dict[str, list[Any]] = field(factory=dict)
    files: list[Upload] = field(factory=list)
    #: True when the body was a JSON document (values keep their JSON types).
    is_json: bool = False

    def get(self, name: str, default: Any = None) -> Any:
        """The last value of ``name`` (forms) or the JSON value, else ``default``."""
        values = self.fields.get(name)
        if not values:
            return default
        return values[-1]

    def get_list(self, name: str) -> list[Any] | None:
        """All values of ``name``; a JSON list is flattened; None when absent."""
        values = self.fields.get(name)
        if values is None:
            return None
        out: list[Any] = []
        for value in values:
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out

    def get_str(self, name: str) -> str | None:
        """A string field; blank counts as absent."""
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string.", name)
        return value if value.strip() else None

    def get_bool(self, name: str, default: bool) -> bool:
        value = self.get(name)
        return default if value is None else parse_bool(value, name)

    def get_object(self, name: str) -> JSONDict | None:
        """A JSON object field; form bodies may carry it as a JSON-encoded string."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                return None
            if len(value) > MAX_JSON_FIELD_CHARS:
                raise TooLarge(f"{name} is longer than {MAX_JSON_FIELD_CHARS} characters.")
            try:
                value = json_bounded.loads(value)
            except json_bounded.JSONTooLarge as exc:
                raise TooLarge(f"{name} is too large: {exc}.") from None
            except json_bounded.JSONInvalid as exc:
                raise BadRequest(f"{name} must be a JSON object.", name) from exc
        if not isinstance(value, dict):
            raise BadRequest(f"{name} must be a JSON object.", name)
        return value

    def with_prefix(self, prefix: str) -> dict[str, Any]:
        """Fields named ``<prefix><name>``, as ``{name: value}`` (e.g. ``extra_data_``)."""
        return {
            k[len(prefix) :]: v[-1] for k, v in self.fields.items() if k.startswith(prefix) and v
        }


def query_body(request: web.Request) -> Body:
    """The query string as a :class:`Body` (repeated keys become lists)."""
    body = Body()
    for key, value in request.query.items():
        body.fields.setdefault(key, []).append(value)
    return body


def iso_ms(ts: float | None) -> str | None:
    """ISO-8601 UTC with exactly three fractional digits and ``Z``."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_compact(value: str, field: str) -> float:
    """A compact UTC ``%Y%m%d%H%M%S`` query value as a timestamp."""
    try:
        dt = datetime.strptime(value.strip(), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadRequest(f"{field} must be UTC %Y%m%d%H%M%S, e.g. 20230101130000.", field) from exc
    return dt.timestamp()


def origin_of(request: web.Request) -> str:
    """``scheme://host[:port]`` as the client addressed us (the Host header)."""
    return f"{request.scheme}://{request.host}"


def quote_segment(segment: str) -> str:
    """Percent-encode one path segment of a URL."""
    return urllib.parse.quote(segment, safe="")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\"]')


def scrub_filename(name: str) -> str:
    """A filename safe in a URL segment and a Content-Disposition header."""
    cleaned = _UNSAFE.sub("_", name).strip().lstrip(".")
    return cleaned or "output"
