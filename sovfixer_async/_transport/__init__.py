"""The wire: one aiohttp session per client, one retry layer, one error mapping.

Rooms:

- ``_session``: :class:`Transport` (session, limiter, addressing and auth, request loop);
- ``_retry``: the pure retry decision (:func:`decide`), backoff, ``Retry-After`` and the
  shared :class:`RetryBudget`;
- ``_errormap``: :func:`map_error`, from aiohttp exceptions and HTTP answers to our errors
  (with tokens redacted);
- ``_response``: bounded body reading and the strict JSON decoder behind
  :meth:`Response.json`;
- ``_payload``: request bodies and query parameters.

The rest of the package imports these names from here, not from the rooms.
"""

from sovfixer_async._transport._errormap import (
    api_error,
    connection_error,
    error_message,
    map_error,
    redact,
    status_error,
)
from sovfixer_async._transport._payload import (
    EncodedJson,
    FilePart,
    Multipart,
    Params,
    encode_json,
)
from sovfixer_async._transport._response import (
    MAX_DEPTH,
    APIResponseValidationError,
    Response,
    ResponseTooLargeError,
    decode_json,
    read_body,
)
from sovfixer_async._transport._retry import (
    Decision,
    Failure,
    Outcome,
    RetryBudget,
    Safety,
    Verdict,
    backoff,
    backoff_delay,
    decide,
    parse_retry_after,
)
from sovfixer_async._transport._session import (
    _DATA_PATHS,
    Api,
    SecretHeader,
    Transport,
    TransportStats,
    logger,
    origin,
)

__all__ = [
    "MAX_DEPTH",
    "_DATA_PATHS",
    "APIResponseValidationError",
    "Api",
    "Decision",
    "EncodedJson",
    "Failure",
    "FilePart",
    "Multipart",
    "Outcome",
    "Params",
    "Response",
    "ResponseTooLargeError",
    "RetryBudget",
    "Safety",
    "SecretHeader",
    "Transport",
    "TransportStats",
    "Verdict",
    "api_error",
    "backoff",
    "backoff_delay",
    "connection_error",
    "decide",
    "decode_json",
    "encode_json",
    "error_message",
    "logger",
    "map_error",
    "origin",
    "parse_retry_after",
    "read_body",
    "redact",
    "status_error",
]
