"""The only place that touches aiohttp for API calls: session, limiter, retries, errors.

One :class:`Transport` per client. Every request acquires a slot of one shared
``anyio.CapacityLimiter`` before asking the pool for a connection and gives it back once
the body is read, so a job that sleeps between polls holds neither a slot nor a socket.
Retries live here and nowhere else.
"""

from __future__ import annotations

import enum
import gzip
import json as jsonlib
import logging
import random
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

import aiohttp
import anyio
from attrs import define, field, frozen
from multidict import CIMultiDictProxy
from yarl import URL

from sovfixer_async import _auth
from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._errors import (
    AmbiguousSubmissionError,
    APIError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SOVFixerError,
    TransportError,
    ValidationError,
    allowed_formats_from,
)
from sovfixer_async._ratelimit import RateLimiter

logger = logging.getLogger("sovfixer_async")


class _JobIdField(logging.Filter):
    """Every record of ours has ``job_id`` (None when no job is concerned), for formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job_id"):
            record.job_id = None
        return True


logger.addFilter(_JobIdField())

Api = Literal["extraction", "data"]
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]

_DATA_PATHS = ("/api/v1/bulk_enhance", "/api/v1/enhance", "/api/v1/datasources", "/api/v1/usage")


class Safety(enum.Enum):
    """What may be repeated when a request's outcome is unknown (502, 504, dropped link)."""

    #: Reads: repeat freely.
    IDEMPOTENT = "idempotent"
    #: Update ``start``: repeat; a 409 on a repeat means the first one landed.
    START = "start"
    #: Job-creating POSTs and ``add_locations``: never repeat blindly.
    SUBMIT = "submit"


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
class Response:
    """A finished response: status, headers and the whole (small) body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str

    def json(self) -> Any:
        if not self.body:
            return None
        return jsonlib.loads(self.body)


@define
class TransportStats:
    """Counters for progress lines, summaries and benchmarks."""

    requests: int = 0
    retries: int = 0
    by_status: Counter[int] = field(factory=Counter)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(
    attempt: int, policy: RetryPolicy, retry_after: float | None, rng: random.Random
) -> float:
    """Capped exponential backoff with full jitter; a server hint sets the floor."""
    ceiling = min(policy.backoff_max, policy.backoff_initial * (2 ** (attempt - 1)))
    delay = rng.uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return delay


class RetryBudget:
    """Retries may be at most ``ratio`` of requests over a sliding window, with a floor.

    Stops an outage from multiplying traffic: once spent, failures surface at once
    (polls then count as missed and wait for their next turn).
    """

    def __init__(self, policy: RetryPolicy, clock: Any = time.monotonic):
        self._policy = policy
        self._clock = clock
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        horizon = now - self._policy.budget_window
        for q in (self._requests, self._retries):
            while q and q[0] < horizon:
                q.popleft()

    def record_request(self) -> None:
        self._requests.append(self._clock())

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when none is left."""
        now = self._clock()
        self._trim(now)
        allowed = max(
            self._policy.budget_ratio * len(self._requests),
            self._policy.budget_min_per_second * self._policy.budget_window,
        )
        if len(self._retries) >= allowed:
            return False
        self._retries.append(now)
        return True


def origin(url: str | URL) -> tuple[str, str, int | None]:
    u = URL(url) if isinstance(url, str) else url
    return (u.scheme, u.host or "", u.port)


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
            return " | ".join(parts)
    text = body.decode("utf-8", "replace").strip()
    return text[:500] if text else "(empty body)"


def api_error(what: str, response: Response, job_id: str | None) -> APIError:
    """Map a non-2xx response to the typed error tree."""
    try:
        data = response.json()
    except ValueError:
        data = None
    message = error_message(response.body, data)
    kwargs: dict[str, Any] = {
        "body": response.body.decode("utf-8", "replace"),
        "json": data,
        "request_id": response.headers.get("X-Request-ID") or response.headers.get("X-Request-Id"),
        "job_id": job_id,
    }
    status = response.status
    if status in (401, 403):
        return AuthenticationError(what, status, message, **kwargs)
    if status == 404:
        return NotFoundError(what, status, message, **kwargs)
    if status in (400, 413, 422):
        return ValidationError(
            what, status, message, allowed_formats=allowed_formats_from(data), **kwargs
        )
    if status == 409:
        return ConflictError(what, status, message, **kwargs)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(what, status, message, retry_after=retry_after, **kwargs)
    if status >= 500:
        return ServerError(what, status, message, **kwargs)
    return APIError(what, status, message, **kwargs)


class _Outcome(enum.Enum):
    NOT_SENT = "not sent"
    MAYBE_SENT = "maybe sent"


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


class Transport:
    """Owns the aiohttp session (created on enter, closed on exit) and the limiter."""

    def __init__(self, config: ClientConfig):
        self.config = config
        self.limiter = anyio.CapacityLimiter(config.request_limit)
        self.download_slots = anyio.CapacityLimiter(config.max_concurrent_downloads)
        self.stats = TransportStats()
        self._budget = RetryBudget(config.retry)
        #: Adaptive rate limit per API host (issue 13): acquire before, learn after a send.
        self.rate = RateLimiter(config.retry, (config.api_url, config.data_api_url))
        self._rng = random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[Api, str] = {}
        self._origins: dict[tuple[str, str, int | None], Api] = {
            origin(config.data_api_url): "data",
            origin(config.api_url): "extraction",  # wins when both share one origin
        }

    def __repr__(self) -> str:
        state = "open" if self._session is not None else "closed"
        return f"<Transport {self.config.api_url} {self.config.data_api_url} {state}>"

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(limit=self.config.max_connections, limit_per_host=0)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.config.connect_timeout, sock_read=self.config.read_timeout
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": self.config.user_agent},
            auto_decompress=True,
            trust_env=False,
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with anyio.CancelScope(shield=True):
                await session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise SOVFixerError(
                "the client is not open: use it inside 'async with Client(...) as client:'"
            )
        return self._session

    # -- addressing and auth -----------------------------------------------------------

    def url(self, api: Api, path: str) -> str:
        base = self.config.api_url if api == "extraction" else self.config.data_api_url
        return base + path

    def api_of(self, url: str | URL) -> Api | None:
        """Which configured API an absolute URL belongs to; None for any other origin."""
        u = URL(url) if isinstance(url, str) else url
        api = self._origins.get(origin(u))
        if api is None:
            return None
        if origin(self.config.api_url) == origin(self.config.data_api_url):
            return "data" if u.path.startswith(_DATA_PATHS) else "extraction"
        return api

    def token(self, api: Api) -> str:
        """The token for an API, looked up on first use (so tests can build clients bare)."""
        if api not in self._tokens:
            cfg = self.config
            if api == "extraction":
                value = _auth.find_token(
                    "sovfixer", cfg.token, environment=cfg.environment, ini_path=cfg.ini_path
                )
            else:
                value = _auth.find_token(
                    "pingdata",
                    cfg.data_token,
                    fallback=cfg.token,
                    environment=cfg.environment,
                    ini_path=cfg.ini_path,
                )
            self._tokens[api] = value
        return self._tokens[api]

    def auth_headers(self, url: str | URL) -> dict[str, str]:
        """``Authorization`` for the configured API origins only, never for another host."""
        api = self.api_of(url)
        return {} if api is None else {"Authorization": f"Token {self.token(api)}"}

    # -- limiter -----------------------------------------------------------------------

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot; each use borrows on behalf of its own token object."""
        borrower = object()
        await self.limiter.acquire_on_behalf_of(borrower)
        try:
            yield
        finally:
            self.limiter.release_on_behalf_of(borrower)

    # -- requests ----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        api: Api,
        path_or_url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        form: Sequence[tuple[str, str]] | None = None,
        multipart: Multipart | None = None,
        compress: bool = False,
        safety: Safety = Safety.IDEMPOTENT,
        job_id: str | None = None,
        what: str | None = None,
    ) -> Response:
        """Send one API request with retries; return the 2xx response or raise typed.

        ``compress`` gzips a JSON body above ``config.gzip_threshold`` bytes. ``json`` may be
        an :class:`EncodedJson` made ahead (e.g. in a worker thread), sent as it is.
        """
        # Only a path is joined to the API base: an id holding "://" is no absolute URL.
        url = self.url(api, path_or_url) if path_or_url.startswith("/") else path_or_url
        what = what or f"{method} {URL(url).path}"
        headers: dict[str, str] = {"Accept-Encoding": "gzip"}
        headers.update(self.auth_headers(url))
        body: bytes | None = None
        if json is not None:
            if not isinstance(json, EncodedJson):
                json = encode_json(json, self.config.gzip_threshold if compress else None)
            body = json.data
            headers["Content-Type"] = "application/json"
            if json.gzipped:
                headers["Content-Encoding"] = "gzip"
        elif form is not None:
            body = urllib.parse.urlencode(list(form)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        policy = self.config.retry
        session = self.session
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            failure: Exception
            self._budget.record_request()
            try:
                response = await self._send(
                    session, method, url, params, headers, body, multipart, job_id
                )
            except aiohttp.ClientConnectorError as exc:
                outcome, failure = (
                    _Outcome.NOT_SENT,
                    TransportError(what, f"cannot connect: {exc.os_error or exc}", job_id=job_id),
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome, failure = (
                    _Outcome.MAYBE_SENT,
                    TransportError(what, _describe_exc(exc), job_id=job_id),
                )
            else:
                if 200 <= response.status < 300:
                    return response
                failure = api_error(what, response, job_id)
                if response.status == 409 and safety is Safety.START and attempt > 1:
                    return response  # the earlier, ambiguous attempt started the job
                if response.status in (429, 503):
                    outcome = _Outcome.NOT_SENT
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                elif response.status in (502, 504):
                    outcome = _Outcome.MAYBE_SENT
                else:
                    raise failure
            if (
                outcome is _Outcome.MAYBE_SENT
                and safety is Safety.SUBMIT
                and not policy.resubmit_ambiguous
            ):
                raise AmbiguousSubmissionError(what, _detail(failure), job_id=job_id)
            if attempt >= policy.attempts:
                raise failure
            if not self._budget.try_spend():
                logger.warning(
                    "%s: retry budget spent, not retrying: %s",
                    what,
                    failure,
                    extra={"job_id": job_id},
                )
                raise failure
            delay = backoff_delay(attempt, policy, retry_after, self._rng)
            self.stats.retries += 1
            logger.info(
                "%s: retry %d/%d in %.2f s after: %s",
                what,
                attempt,
                policy.attempts - 1,
                delay,
                failure,
                extra={"job_id": job_id},
            )
            await anyio.sleep(delay)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Params | None,
        headers: Mapping[str, str],
        body: bytes | None,
        multipart: Multipart | None,
        job_id: str | None,
    ) -> Response:
        data: Any = body
        opened: list[Any] = []
        await self.rate.acquire(url)
        async with self.slot():
            try:
                if multipart is not None:
                    data = aiohttp.FormData(list(multipart.fields))
                    for part in multipart.files:
                        content: Any = part.content
                        if isinstance(content, Path):
                            content = content.open("rb")
                            opened.append(content)
                        data.add_field(
                            part.name,
                            content,
                            filename=part.filename,
                            content_type=part.content_type,
                        )
                self.stats.requests += 1
                async with session.request(
                    method,
                    url,
                    params=_params(params),
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                ) as resp:
                    payload = await resp.read()
                    self.stats.by_status[resp.status] += 1
                    self.rate.on_response(
                        url, resp.status, parse_retry_after(resp.headers.get("Retry-After"))
                    )
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug(
                            "%s %s -> %d",
                            method,
                            resp.url.path,
                            resp.status,
                            extra={"job_id": job_id},
                        )
                    return Response(resp.status, resp.headers, payload, str(resp.url))
            finally:
                for handle in opened:
                    handle.close()


def _params(params: Params | None) -> list[tuple[str, str]] | None:
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


def _detail(failure: Exception) -> str:
    if isinstance(failure, APIError):
        return f"HTTP {failure.status}: {failure.message}"
    if isinstance(failure, TransportError):
        return failure.detail
    return str(failure)


def _describe_exc(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "timed out waiting for the server"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection before answering"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
