"""The one mapping from what aiohttp raises and what the server answers to our errors.

:func:`map_error` takes either an HTTP answer (a non-2xx :class:`Response`) or an exception
raised by aiohttp, and returns the typed error plus, for exceptions, whether the request
may have reached the server (:class:`Failure`, input to the retry decision). Every text
kept on an error (message, body, decoded JSON, request id) has the API tokens replaced
by ``***``: a server that echoes the ``Authorization`` header leaks nothing further.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp

from sovfixer_async._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    allowed_formats_from,
)
from sovfixer_async._transport._response import Response, decode_json_lenient
from sovfixer_async._transport._retry import Failure, parse_retry_after

#: Tokens shorter than this are not redacted (they would mangle every message).
MIN_SECRET_LENGTH = 8
REDACTED = "***"
#: Longest server message kept in an error's text.
MESSAGE_LIMIT = 500


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of decoded JSON with secrets redacted in every key and string (no recursion)."""
    keep = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]
    if not keep:
        return value

    def clean(item: Any) -> Any:
        return redact(item, keep) if isinstance(item, str) else item

    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if isinstance(item, dict):
            copy = {clean(k): v for k, v in item.items()}
            parent[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, list):
            copied = list(item)
            parent[key] = copied
            stack.extend((copied, i) for i in range(len(copied)))
        else:
            parent[key] = clean(item)
    return root[0]


def error_message(body: bytes, data: Any) -> str:
    """The server's words, from a JSON error body or its text."""
    if isinstance(data, Mapping):
        parts: list[str] = []
        for key in ("detail", "message", "error"):
            value = data.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        errors = data.get("errors")
        fields = (
            errors
            if isinstance(errors, Mapping)
            else {
                k: v
                for k, v in data.items()
                if isinstance(v, list) and k != "allowed_output_formats"
            }
        )
        for name, reasons in fields.items():
            text = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
            parts.append(f"{name}: {text}")
        if parts:
            joined = " | ".join(parts)
            return joined if len(joined) <= MESSAGE_LIMIT else joined[:MESSAGE_LIMIT] + "..."
    text = body.decode("utf-8", "replace").strip()
    return text[:MESSAGE_LIMIT] if text else "(empty body)"


_BY_STATUS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    413: BadRequestError,
    422: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error(
    what: str, response: Response, job_id: str | None, secrets: Iterable[str] = ()
) -> APIStatusError:
    """The typed error of a non-2xx answer, with secrets redacted."""
    secrets = tuple(secrets)
    data = redact_json(decode_json_lenient(response.body), secrets)
    message = redact(error_message(response.body, data), secrets)
    request_id = response.headers.get("X-Request-ID") or response.headers.get("X-Request-Id")
    kwargs: dict[str, Any] = {
        "body": redact(response.body.decode("utf-8", "replace"), secrets),
        "json": data,
        "request_id": redact(request_id[:200], secrets) if request_id else None,
        "job_id": job_id,
    }
    status = response.status
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    if cls is BadRequestError:
        return BadRequestError(
            what, status, message, allowed_formats=allowed_formats_from(data), **kwargs
        )
    if cls is RateLimitError:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitError(what, status, message, retry_after=retry_after, **kwargs)
    return cls(what, status, message, **kwargs)


def connection_error(
    what: str, exc: BaseException, job_id: str | None, secrets: Iterable[str] = ()
) -> tuple[Failure | None, APIConnectionError]:
    """The typed error of an exception aiohttp raised, and whether the request went out.

    ``Failure.NOT_SENT``: the connection never opened; ``MAYBE_SENT``: it dropped or timed
    out after the request may have been written; None: repeating cannot help (bad URL).
    """
    secrets = tuple(secrets)
    failure: Failure | None
    cls: type[APIConnectionError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        failure, cls, detail = Failure.NOT_SENT, APITimeoutError, "timed out connecting"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        failure, cls = Failure.NOT_SENT, APIConnectionError
        detail = f"cannot connect: {exc.os_error or exc}"
    elif isinstance(exc, aiohttp.InvalidURL):
        failure, cls, detail = None, APIConnectionError, f"invalid URL: {exc}"
    elif isinstance(exc, TimeoutError):
        failure, cls = Failure.MAYBE_SENT, APITimeoutError
        detail = "timed out waiting for the server"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        failure, cls = Failure.MAYBE_SENT, APIConnectionError
        detail = "the server closed the connection before answering"
    else:
        failure, cls = Failure.MAYBE_SENT, APIConnectionError
        text = str(exc)
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return failure, cls(what, redact(detail[:MESSAGE_LIMIT], secrets), job_id=job_id)


def map_error(
    what: str,
    source: Response | BaseException,
    job_id: str | None = None,
    secrets: Iterable[str] = (),
) -> tuple[Failure | None, APIError]:
    """Our error for a non-2xx answer or an aiohttp exception (the one mapping point).

    The failure is None for an answer (its status says the rest).
    """
    if isinstance(source, Response):
        return None, status_error(what, source, job_id, secrets)
    return connection_error(what, source, job_id, secrets)


def api_error(
    what: str, response: Response, job_id: str | None, secrets: Iterable[str] = ()
) -> APIStatusError:
    """Map a non-2xx response to the typed error tree (kept for the downloads module)."""
    return status_error(what, response, job_id, secrets)


def detail_of(failure: APIError) -> str:
    """Short words for an error, as an ambiguous submission's reason."""
    if isinstance(failure, APIStatusError):
        return f"HTTP {failure.status}: {failure.message}"
    if isinstance(failure, APIConnectionError):
        return failure.detail
    return failure.message
