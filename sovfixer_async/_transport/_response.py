"""What comes back: a bounded body read, and a JSON decoder that trusts nothing.

An API answer's body is read in chunks and decompressed here (not by aiohttp), each step
bounded, so a gzip bomb costs at most ``max_response_bytes`` plus one chunk. A 2xx body is
decoded by :meth:`Response.json`: anything but a JSON object of bounded nesting (HTML, a
list, invalid UTF-8, a 5000-digit number, NaN, 100k nested brackets) raises a typed
:class:`APIResponseValidationError` naming the request; on a job-creating POST it is an
:class:`AmbiguousSubmissionError`, since the job may exist while its id is unknown.
"""

from __future__ import annotations

import json as jsonlib
import re
import zlib
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, TypeVar

import aiohttp
from attrs import field, frozen
from multidict import CIMultiDictProxy

from sovfixer_async._errors import AmbiguousSubmissionError, APIError, SOVFixerError
from sovfixer_async._transport._retry import Safety
from sovfixer_async.models import structure
from sovfixer_async.models._common import ResponseShapeError

T = TypeVar("T")

#: Deepest nesting of arrays and objects accepted in an answer.
MAX_DEPTH = 512
#: Error bodies are kept up to this many (decompressed) bytes; the rest is dropped.
ERROR_BODY_LIMIT = 64 * 1024
#: Bytes read from the socket, and produced by one decompression step, at a time.
CHUNK = 64 * 1024


class APIResponseValidationError(APIError, ResponseShapeError):
    """A 2xx answer whose body is not the JSON the API promises (names the request).

    Both an :class:`APIError` (the server caused it) and a ``models.ResponseShapeError``
    (what a body of the wrong shape raises), so one ``except`` catches every bad answer.
    """

    def __init__(
        self,
        what: str,
        reason: str,
        *,
        status: int | None = None,
        job_id: str | None = None,
        expected: str = "JSON object",
        errors: Sequence[str] = (),
    ):
        # Not cooperative on purpose: the two bases take different arguments.
        self.what = what
        self.reason = reason
        self.status = status
        self.job_id = job_id
        self.model = expected
        self.errors = list(errors) or [reason]
        self.message = f"the answer is not the expected {expected}: {reason}"
        code = f"HTTP {status} " if status is not None else ""
        where = f"{what} (job {job_id})" if job_id else what
        SOVFixerError.__init__(self, f"{where} failed: {code}{self.message}")


class ResponseTooLargeError(APIResponseValidationError):
    """The answer is larger than ``ClientConfig.max_response_bytes`` once decompressed."""

    def __init__(
        self, what: str, limit: int, *, status: int | None = None, job_id: str | None = None
    ):
        self.limit = limit
        super().__init__(
            what,
            f"larger than max_response_bytes ({limit} bytes, counted after decompression)",
            status=status,
            job_id=job_id,
        )


@frozen
class Response:
    """A finished response: status, headers and the whole (bounded) body."""

    status: int
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)  # may echo secrets: never in reprs or tracebacks
    url: str
    #: The request, for errors (e.g. ``POST /api/v1/sov``).
    what: str = ""
    job_id: str | None = None
    safety: Safety = Safety.IDEMPOTENT

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a typed error naming the request.

        On a job-creating request (``Safety.SUBMIT``) the error is an
        :class:`AmbiguousSubmissionError` caused by the validation error.
        """
        try:
            data = decode_json(self.body)
        except BadBody as exc:
            reason = str(exc)
        else:
            if isinstance(data, dict):
                return data
            reason = f"expected an object, got {_kind(data)}"
        raise self.invalid(reason)

    def parse(self, model: type[T]) -> T:
        """The body as ``model`` (via ``models.structure``), or a typed error naming the request.

        A JSON object of the wrong shape raises :class:`APIResponseValidationError` (a
        ``ResponseShapeError`` whose ``model`` and ``errors`` say what was wrong); on a
        job-creating request, an :class:`AmbiguousSubmissionError` caused by it.
        """
        data = self.json()
        try:
            return structure(data, model)
        except ResponseShapeError as exc:
            error = APIResponseValidationError(
                self.what or self.url,
                "; ".join(exc.errors[:5]),
                status=self.status,
                job_id=self.job_id,
                expected=exc.model,
                errors=exc.errors,
            )
            error.__cause__ = exc
        raise ambiguous_if_submit(error, self.safety)

    def invalid(self, reason: str) -> SOVFixerError:
        """The error for a 2xx body that cannot be used (ambiguous on a submission)."""
        error = APIResponseValidationError(
            self.what or self.url, reason, status=self.status, job_id=self.job_id
        )
        return ambiguous_if_submit(error, self.safety)


def ambiguous_if_submit(error: APIResponseValidationError, safety: Safety) -> SOVFixerError:
    if safety is not Safety.SUBMIT:
        return error
    wrapped = AmbiguousSubmissionError(
        error.what,
        f"HTTP {error.status} but {error.message}",
        job_id=error.job_id,
        status=error.status,
    )
    wrapped.__cause__ = error
    return wrapped


class BadBody(ValueError):
    """A body could not be read or decoded; the message says why (internal)."""


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


# -- decoding --------------------------------------------------------------------------

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting(text: str) -> int:
    """How deep arrays and objects nest in JSON ``text`` (a linear scan, no recursion)."""
    opened = text.count("[") + text.count("{")
    if opened <= MAX_DEPTH:
        return opened  # an upper bound, and within the limit
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(_STEP[c] for c in brackets), default=0)


def _no_constants(name: str) -> Any:
    raise BadBody(f"{name} is not JSON")


# One decoder, made once (``json.loads`` with any option builds a new one per call).
_DECODER = jsonlib.JSONDecoder(parse_constant=_no_constants)
_BOM = b"\xef\xbb\xbf"


def decode_json(body: bytes) -> Any:
    """JSON from bytes, or :class:`BadBody`: strict UTF-8, bounded nesting, finite."""
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    if not body or body.isspace():
        raise BadBody("empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(f"not UTF-8 (byte {exc.start})") from None
    if nesting(text) > MAX_DEPTH:
        raise BadBody(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(text)
    except BadBody:
        raise
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError names a position only; the int-digit limit says what it is.
        raise BadBody(str(exc).split(":")[0] if "digits" in str(exc) else str(exc)) from None


def decode_json_lenient(body: bytes) -> Any:
    """JSON of an error body, or None when it is not JSON (never raises)."""
    try:
        return decode_json(body)
    except BadBody:
        return None


# -- reading ---------------------------------------------------------------------------


class _Inflater:
    """Bounded gzip/deflate decompression: no step yields more than ``CHUNK`` bytes."""

    def __init__(self, encoding: str):
        # 16 + MAX_WBITS: gzip; 32 + MAX_WBITS: zlib or gzip by header.
        gz = encoding in ("gzip", "x-gzip")
        self._wbits = 16 + zlib.MAX_WBITS if gz else 32 + zlib.MAX_WBITS
        self._encoding = encoding
        self._d = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, out: bytearray, limit: int) -> bool:
        """Append what ``data`` inflates to; False once ``out`` passed ``limit``."""
        if not self._started and data:
            self._started = True
            if self._encoding == "deflate" and data[0] & 0x0F != 8:
                self._wbits = -zlib.MAX_WBITS
                self._d = zlib.decompressobj(self._wbits)
        while data:
            if self._d.eof:  # a gzip body may hold several members, one after another
                data = self._d.unused_data + data
                self._d = zlib.decompressobj(self._wbits)
            try:
                piece = self._d.decompress(data, CHUNK)
            except zlib.error as exc:
                raise BadBody(f"bad {self._encoding} stream: {exc}") from None
            out += piece
            if len(out) > limit:
                return False
            data = self._d.unconsumed_tail
            if self._d.eof and self._d.unused_data:
                data = self._d.unused_data + data
                self._d = zlib.decompressobj(self._wbits)
        return True

    def finish(self) -> None:
        if self._started and not self._d.eof:
            raise BadBody(f"truncated {self._encoding} stream")


async def read_body(
    resp: aiohttp.ClientResponse, limit: int, *, keep_cut: bool = True
) -> tuple[bytes, bool]:
    """The body decompressed, at most ``limit`` bytes; True when more was left unread.

    With ``keep_cut=False`` a body past the limit comes back empty (no copy is made).

    The response must have been requested with ``auto_decompress=False``. Raises
    :class:`BadBody` for an encoding the SDK did not ask for or a corrupt stream.
    """
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    inflater: _Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding)
    elif encoding not in ("identity", ""):
        raise BadBody(f"unsupported Content-Encoding {encoding[:40]!r}")
    elif resp.content_length is not None:
        if resp.content_length > limit:
            return b"", True
        return await resp.read(), False  # aiohttp reads exactly Content-Length bytes
    out = bytearray()
    async for chunk in resp.content.iter_chunked(CHUNK):
        if inflater is None:
            out += chunk
            within = len(out) <= limit
        else:
            within = inflater.feed(chunk, out, limit)
        if not within:
            return (bytes(memoryview(out)[:limit]) if keep_cut else b""), True
    if inflater is not None:
        inflater.finish()
    return bytes(out), False
