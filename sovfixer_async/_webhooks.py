"""Optional callback receiver: the servers' ``callback_url`` POSTs complete waits early.

The status bodies the servers POST carry no reliable job id (a parse or bulk status names
none), so every submission gets a callback URL of its own, ``<public_url>/<nonce>``; the
nonce is bound to the handle once the submission returns. A callback that arrives before
that is kept (its bytes, bounded) and applied at binding. Polling goes on regardless: a lost
callback costs nothing but latency.

    async with client.webhook_receiver(port=8080, public_url="https://me.example/hooks") as hooks:
        job = await client.update_sov(sovid, rows, callback_url=hooks)
        await job.wait()  # returns as soon as the callback arrives

Callers are untrusted: anyone who can reach the port can POST. Only a holder of a nonce this
receiver issued (128 random bits) gets past a 404, and nothing is read or kept for anyone
else. Each body is capped (413 beyond), the bodies kept for submissions still returning are
capped in total (503 with ``Retry-After`` beyond: the servers retry), the nonces issued and
not yet bound are capped in number (the oldest are dropped), and a nonce is forgotten once its
job is terminal.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from types import TracebackType
from typing import Any

from aiohttp import hdrs, web

from sovfixer_async._errors import SOVFixerError
from sovfixer_async._jobs import JobHandle
from sovfixer_async.models import structure

logger = logging.getLogger("sovfixer_async")

#: Default cap of one callback body (bytes, as received): a status body is a few KiB.
MAX_BODY_BYTES = 1 << 20
#: Default cap of all the early bodies kept at once (bytes).
MAX_PENDING_BYTES = 16 << 20
#: Default cap of the nonces issued and not yet bound (a bulk run issues one per batch).
MAX_ISSUED_NONCES = 100_000
#: A nonce is ``secrets.token_urlsafe(16)``: 22 characters; longer path segments are not ours.
MAX_NONCE_LENGTH = 64
#: Seconds a server is told to wait before retrying a callback refused for want of room.
RETRY_AFTER_SECONDS = 1

_JSON_TYPES = ("application/json",)


def _answer(status: int, detail: str, **headers: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status, headers=headers or None)


class WebhookReceiver:
    """An aiohttp server for callbacks, run beside a client (``client.webhook_receiver()``).

    ``public_url`` is the address the API servers can reach (defaults to the bound
    address, which is what a local emulator needs). Unknown nonces get 404, malformed
    bodies 400, non-JSON content 415, oversized bodies 413; none of them changes anything.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        path: str = "/sovfixer-callbacks",
        max_body_bytes: int = MAX_BODY_BYTES,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        max_issued_nonces: int = MAX_ISSUED_NONCES,
    ):
        for name, value in (
            ("max_body_bytes", max_body_bytes),
            ("max_pending_bytes", max_pending_bytes),
            ("max_issued_nonces", max_issued_nonces),
        ):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        self._host = host
        self._port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._path = "/" + path.strip("/")
        self._max_body = max_body_bytes
        self._max_pending = max_pending_bytes
        self._max_issued = max_issued_nonces
        self._runner: web.AppRunner | None = None
        #: Nonces issued whose submission has not returned yet, oldest first.
        self._issued: OrderedDict[str, None] = OrderedDict()
        #: The latest early body of an issued nonce, as received.
        self._early: dict[str, bytes] = {}
        self._early_bytes = 0
        self._bound: dict[str, JobHandle[Any]] = {}
        #: ``len(self._bound)`` that triggers the next sweep of terminal handles.
        self._sweep_at = 1024
        #: Callbacks received and applied to a handle.
        self.delivered = 0

    # -- what the receiver holds (for monitoring and tests) --------------------------------

    @property
    def issued_count(self) -> int:
        """Nonces issued whose submission has not been bound to a handle yet."""
        return len(self._issued)

    @property
    def bound_count(self) -> int:
        """Nonces bound to a handle whose job was not seen terminal yet."""
        return len(self._bound)

    @property
    def stored_bodies(self) -> int:
        """Early bodies kept until their submission returns."""
        return len(self._early)

    @property
    def stored_bytes(self) -> int:
        """Bytes of the early bodies kept (at most ``max_pending_bytes``)."""
        return self._early_bytes

    # -- nonces -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise SOVFixerError("the webhook receiver is not running: use 'async with'")
        if self._public_url:
            return self._public_url
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}{self._path}"

    def new_url(self) -> tuple[str, str]:
        """(nonce, callback URL) for one submission; :meth:`bind` or :meth:`forget` it after."""
        url = self.base_url
        nonce = secrets.token_urlsafe(16)
        self._issued[nonce] = None
        while len(self._issued) > self._max_issued:
            oldest, _ = self._issued.popitem(last=False)
            self._drop_early(oldest)
        return nonce, f"{url}/{nonce}"

    def bind(self, nonce: str, handle: JobHandle[Any]) -> None:
        """Route the nonce's callbacks to ``handle`` (applying one that came early)."""
        self._issued.pop(nonce, None)
        body = self._drop_early(nonce)
        if body is not None:
            try:
                self._apply(handle, json.loads(body))
            except (SOVFixerError, ValueError, RecursionError) as exc:
                logger.warning(
                    "early callback for %s not understood: %s",
                    handle.id,
                    exc,
                    extra={"job_id": handle.id},
                )
        if handle.done:
            return  # terminal already: its nonce is forgotten
        self._bound[nonce] = handle
        if len(self._bound) >= self._sweep_at:
            self._sweep()

    def forget(self, nonce: str) -> None:
        """Drop a nonce (a submission that failed, or a job that needs no more callbacks)."""
        self._issued.pop(nonce, None)
        self._drop_early(nonce)
        self._bound.pop(nonce, None)

    def _drop_early(self, nonce: str) -> bytes | None:
        body = self._early.pop(nonce, None)
        if body is not None:
            self._early_bytes -= len(body)
        return body

    def _sweep(self) -> None:
        """Forget the nonces of jobs seen terminal by polling (amortised O(1) per bind)."""
        for nonce in [n for n, handle in self._bound.items() if handle.done]:
            del self._bound[nonce]
        self._sweep_at = max(1024, 2 * len(self._bound))

    def _apply(self, handle: JobHandle[Any], body: Any) -> None:
        status = structure(body, handle.status_type)
        handle.deliver(status)
        self.delivered += 1

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        nonce = request.match_info["nonce"]
        if len(nonce) > MAX_NONCE_LENGTH or (
            nonce not in self._bound and nonce not in self._issued
        ):
            return _answer(404, "unknown callback")  # nothing read, nothing kept
        refused = self._refuse_headers(request)
        if refused is not None:
            return refused
        try:
            raw = await request.read()  # capped by the app's client_max_size
        except web.HTTPRequestEntityTooLarge:
            return _answer(413, f"a callback body is at most {self._max_body} bytes")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _answer(400, "body is not JSON")
        if not isinstance(body, dict):
            return _answer(400, "body is not a JSON object")
        handle = self._bound.get(nonce)
        if handle is None:
            if nonce not in self._issued:  # forgotten while its body was read
                return _answer(404, "unknown callback")
            return self._keep_early(nonce, raw)
        try:
            self._apply(handle, body)
        except SOVFixerError as exc:
            logger.warning(
                "callback for %s not understood: %s", handle.id, exc, extra={"job_id": handle.id}
            )
            return _answer(400, "status body not understood")
        if handle.done:
            self._bound.pop(nonce, None)
        return _answer(200, "ok")

    def _refuse_headers(self, request: web.Request) -> web.Response | None:
        """415 or 413 from the headers alone, before any of the body is read."""
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
        if encoding != "identity":
            return _answer(415, "callback bodies are not to be compressed")
        if hdrs.CONTENT_TYPE in request.headers:
            media = request.content_type.lower()
            if media not in _JSON_TYPES and not media.endswith("+json"):
                return _answer(415, "callback bodies are JSON")
        length = request.content_length
        if length is not None and length > self._max_body:
            return _answer(413, f"a callback body is at most {self._max_body} bytes")
        return None

    def _keep_early(self, nonce: str, raw: bytes) -> web.Response:
        previous = len(self._early.get(nonce, b""))
        if self._early_bytes - previous + len(raw) > self._max_pending:
            return _answer(
                503,
                "too many early callbacks held; retry",
                **{hdrs.RETRY_AFTER: str(RETRY_AFTER_SECONDS)},
            )
        self._early[nonce] = raw
        self._early_bytes += len(raw) - previous
        return _answer(202, "accepted")

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_post(self._path + "/{nonce}", self._handle)
        # Bodies are read as sent: a compressed one is refused (415), never inflated. A body
        # left unread (refused from its headers) is drained for 2 s at most, then closed.
        runner = web.AppRunner(app, access_log=None, auto_decompress=False, lingering_time=2.0)
        await runner.setup()
        await web.TCPSite(runner, self._host, self._port).start()
        self._runner = runner
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
