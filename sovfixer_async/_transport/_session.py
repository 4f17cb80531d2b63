"""The only place that touches aiohttp for API calls: session, limiter, the request loop.

One :class:`Transport` per client. Every request acquires a slot of one shared
``anyio.CapacityLimiter`` before asking the pool for a connection and gives it back once
the body is read, so a job that sleeps between polls holds neither a slot nor a socket.
What to repeat is asked of :func:`~sovfixer_async._transport._retry.decide`; what to
raise of :func:`~sovfixer_async._transport._errormap.map_error`.
"""

from __future__ import annotations

import logging
import random
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import aiohttp
import anyio
from attrs import define, field
from yarl import URL

from sovfixer_async import _auth
from sovfixer_async._config import ClientConfig
from sovfixer_async._errors import AmbiguousSubmissionError, APIError, SOVFixerError
from sovfixer_async._ratelimit import RateLimiter
from sovfixer_async._transport._errormap import detail_of, map_error
from sovfixer_async._transport._network import ProxyChooser, session_options, ssl_option
from sovfixer_async._transport._payload import EncodedJson, Multipart, Params, encode_json, query
from sovfixer_async._transport._response import (
    ERROR_BODY_LIMIT,
    BadBody,
    Response,
    ResponseTooLargeError,
    ambiguous_if_submit,
    read_body,
)
from sovfixer_async._transport._retry import (
    REFUSED_STATUSES,
    Outcome,
    RetryBudget,
    Safety,
    Verdict,
    decide,
    parse_retry_after,
)
from sovfixer_async._transport._turnstile import Turnstile

logger = logging.getLogger("sovfixer_async")


class _JobIdField(logging.Filter):
    """Every record of ours has ``job_id`` (None when no job is concerned), for formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job_id"):
            record.job_id = None
        return True


logger.addFilter(_JobIdField())

Api = Literal["extraction", "data"]

_DATA_PATHS = (
    "/api/v1/bulk_enhance",
    "/api/v1/enhance",
    "/api/v1/datasources",
    "/api/v1/usage",
    "/api/v1/limits",
)


class SecretHeader(str):
    """A header value that is sent as it is but never shown by ``repr``.

    Headers dicts sit in the locals of the request frames; tracebacks printed with locals
    (``capture_locals=True``, pytest ``--showlocals``, rich) show them by ``repr``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"


@define
class TransportStats:
    """Counters for progress lines, summaries and benchmarks."""

    requests: int = 0
    retries: int = 0
    by_status: Counter[int] = field(factory=Counter)


def origin(url: str | URL) -> tuple[str, str, int | None]:
    u = URL(url) if isinstance(url, str) else url
    return (u.scheme, u.host or "", u.port)


class Transport:
    """Owns the aiohttp session (created on enter, closed on exit) and the limiter."""

    def __init__(self, config: ClientConfig):
        self.config = config
        self.limiter = anyio.CapacityLimiter(config.request_limit)
        self.download_slots = anyio.CapacityLimiter(config.max_concurrent_downloads)
        #: Adaptive rate limit per API host: acquire before a send, learn from each answer.
        self.rate = RateLimiter(config.retry, (config.api_url, config.data_api_url))
        self.turnstile = Turnstile()  # a herd of requests is built over several loop turns
        self.stats = TransportStats()
        #: One retry budget for every request of this client, downloads included.
        self.budget = RetryBudget(config.retry)
        self._rng = random.Random()
        self._session: aiohttp.ClientSession | None = None
        #: The proxy of each request (``proxy_for(url)``); the environment is read on open.
        self.proxy_for = ProxyChooser(config)
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
        self.proxy_for = ProxyChooser(self.config)
        connector = aiohttp.TCPConnector(
            limit=self.config.max_connections, limit_per_host=0, ssl=ssl_option(self.config)
        )
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.config.connect_timeout, sock_read=self.config.read_timeout
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": self.config.user_agent},
            auto_decompress=True,
            **session_options(self.config),
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

    def secrets(self) -> tuple[str, ...]:
        """The tokens looked up so far: redacted from every error text."""
        return tuple(self._tokens.values())

    def auth_headers(self, url: str | URL) -> dict[str, str]:
        """``Authorization`` for the configured API origins only, never for another host."""
        api = self.api_of(url)
        if api is None:
            return {}
        return {"Authorization": SecretHeader("Token " + self.token(api))}

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
        await self.turnstile.enter()
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
            error: APIError | None = None
            self.budget.record_request()
            try:
                response = await self._send(
                    session, method, url, params, headers, body, multipart, what, job_id, safety
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure, error = map_error(what, exc, job_id, self.secrets())
                outcome = Outcome(failure=failure)
            else:
                status = response.status
                if 200 <= status < 300:  # what decide() says of a 2xx, without its cost
                    return response
                hint = response.headers.get("Retry-After") if status in REFUSED_STATUSES else None
                outcome = Outcome.answered(status, parse_retry_after(hint))
            decision = decide(
                attempt,
                outcome,
                safety,
                policy,
                budget_available=self.budget.available(),
                jitter=self._rng.random(),
            )
            if decision.verdict is Verdict.SUCCESS:
                return response
            if error is None:
                error = map_error(what, response, job_id, self.secrets())[1]
            if decision.verdict is Verdict.AMBIGUOUS:
                raise AmbiguousSubmissionError(
                    what, detail_of(error), job_id=job_id, status=outcome.status
                ) from error
            if decision.verdict is Verdict.FAIL:
                if decision.reason == "retry budget spent":
                    logger.warning(
                        "%s: retry budget spent, not retrying: %s",
                        what,
                        error,
                        extra={"job_id": job_id},
                    )
                raise error
            self.budget.spend()
            self.stats.retries += 1
            logger.info(
                "%s: retry %d/%d in %.2f s after: %s",
                what,
                attempt,
                policy.attempts - 1,
                decision.delay,
                error,
                extra={"job_id": job_id},
            )
            await anyio.sleep(decision.delay)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Params | None,
        headers: dict[str, str],
        body: bytes | None,
        multipart: Multipart | None,
        what: str,
        job_id: str | None,
        safety: Safety,
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
                    params=query(params),
                    headers=headers,
                    data=data,
                    proxy=self.proxy_for(url),
                    allow_redirects=False,
                    auto_decompress=False,  # read_body inflates, bounded
                ) as resp:
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
                    return await self._read(resp, what, job_id, safety)
            finally:
                for handle in opened:
                    handle.close()

    async def _read(
        self, resp: aiohttp.ClientResponse, what: str, job_id: str | None, safety: Safety
    ) -> Response:
        """The answer with its body: bounded for a 2xx, truncated for an error."""
        ok = 200 <= resp.status < 300
        limit = self.config.max_response_bytes
        unreadable: str | None = None
        try:
            if ok:
                payload, cut = await read_body(resp, limit, keep_cut=False)
            else:
                payload, cut = await read_body(resp, min(limit, ERROR_BODY_LIMIT))
        except BadBody as exc:
            # An error body we cannot read: its status says enough.
            payload, cut, unreadable = b"", False, str(exc)
        answer = Response(resp.status, resp.headers, payload, str(resp.url), what, job_id, safety)
        if ok and unreadable is not None:
            raise answer.invalid(unreadable)
        if ok and cut:
            too_large = ResponseTooLargeError(what, limit, status=resp.status, job_id=job_id)
            raise ambiguous_if_submit(too_large, safety)
        return answer
