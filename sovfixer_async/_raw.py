"""``client.request(...)``: the raw escape hatch to any API path (issue 14).

The same transport as every workflow (auth for the API origin only, the request limiter,
retries and the retry budget, the bounded body, typed errors); what it adds is the check
that the path stays an API path of the chosen API, and a public response object.
"""

from __future__ import annotations

import json as jsonlib
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen
from multidict import CIMultiDictProxy

from sovfixer_async._errors import InvalidInputError
from sovfixer_async._transport import (
    Api,
    APIResponseValidationError,
    EncodedJson,
    Safety,
    Transport,
    decode_json,
)
from sovfixer_async._transport._response import BadBody

#: Methods ``client.request`` sends.
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
#: Longest path accepted.
MAX_PATH = 2048
#: Percent-decoding rounds looked through for a hidden ``..`` or ``//``.
DECODE_ROUNDS = 4


@frozen
class RawResponse:
    """A 2xx answer of ``client.request``: status, headers, and the whole (bounded) body."""

    status: int
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)
    url: str
    what: str = ""

    def read(self) -> bytes:
        """The body as bytes (already read, at most ``ClientConfig.max_response_bytes``)."""
        return self.body

    def json(self) -> Any:
        """The body as JSON (any JSON value), or an ``APIResponseValidationError``."""
        try:
            return decode_json(self.body)
        except BadBody as exc:
            raise APIResponseValidationError(
                self.what, str(exc), status=self.status, expected="JSON"
            ) from None

    def text(self) -> str:
        """The body as UTF-8 text (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


def check_path(path: object) -> str:
    """``path`` if it is an API path (``/api/...``) that cannot leave the API, else raise."""
    if not isinstance(path, str):
        raise InvalidInputError("must be a string such as /api/v1/...", field="path")
    if len(path) > MAX_PATH:
        raise InvalidInputError(f"longer than {MAX_PATH} characters", field="path")
    if not path.startswith("/api/"):
        raise InvalidInputError(
            "must start with /api/ (a path of the API, no scheme or host)", field="path"
        )
    if any(ch in path for ch in "?#") or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in path):
        raise InvalidInputError(
            "holds a query, fragment, space or control character (use params=)", field="path"
        )
    seen = path
    for _ in range(DECODE_ROUNDS):
        lowered = seen.replace("\\", "/")
        segments = lowered.split("/")
        if "//" in lowered or any(s in (".", "..") for s in segments):
            raise InvalidInputError(
                "holds '..', '.' or '//' (percent-encoded or not)", field="path"
            )
        decoded = urllib.parse.unquote(seen)
        if decoded == seen:
            break
        seen = decoded
    return path


def _body(json: Any, data: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> Any:
    if json is not None and data is not None:
        raise InvalidInputError("give json or data, not both", field="data")
    if json is None:
        return None
    try:
        encoded = jsonlib.dumps(json, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot be sent as JSON: {exc}", field="json") from None
    return EncodedJson.of(encoded)


def _form(data: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
    items = data.items() if isinstance(data, Mapping) else (data or [])
    out: list[tuple[str, str]] = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InvalidInputError("expected (name, value) pairs or a mapping", field="data")
        key, value = item
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInputError("form names and values are strings", field="data")
        out.append((key, value))
    return out


async def raw_request(
    transport: Transport,
    method: str,
    path: str,
    *,
    api: Api,
    params: Mapping[str, Any] | None,
    json: Any,
    data: Mapping[str, str] | Sequence[tuple[str, str]] | None,
    idempotent: bool | None,
) -> RawResponse:
    """Send one request to ``api`` at ``path``; the 2xx answer, or a typed error."""
    verb = method.upper() if isinstance(method, str) else ""
    if verb not in METHODS:
        raise InvalidInputError(f"expected one of {', '.join(sorted(METHODS))}", field="method")
    if api not in ("extraction", "data"):
        raise InvalidInputError("expected 'extraction' or 'data'", field="api")
    if params is not None and not isinstance(params, Mapping):
        raise InvalidInputError("expected a mapping", field="params")
    checked = check_path(path)
    body = _body(json, data)
    form = _form(data) if data is not None else None
    if idempotent is None:
        idempotent = verb == "GET"
    safety = Safety.IDEMPOTENT if idempotent else Safety.SUBMIT
    what = f"{verb} {checked}"
    response = await transport.request(
        verb,
        api,
        checked,
        params=params,
        json=body,
        form=form,
        safety=safety,
        what=what,
    )
    return RawResponse(response.status, response.headers, response.body, response.url, what)
