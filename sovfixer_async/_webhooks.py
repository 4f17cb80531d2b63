"""Optional callback receiver: the servers' ``callback_url`` POSTs complete waits early.

The status bodies the servers POST carry no reliable job id (a parse or bulk status names
none), so every submission gets a callback URL of its own, ``<public_url>/<nonce>``; the
nonce is bound to the handle once the submission returns. A callback that arrives before
that is kept and applied at binding. Polling goes on regardless: a lost callback costs
nothing but latency.

    async with client.webhook_receiver(port=8080, public_url="https://me.example/hooks") as hooks:
        job = await client.update_sov(sovid, rows, callback_url=hooks)
        await job.wait()  # returns as soon as the callback arrives
"""

from __future__ import annotations

import json
import logging
import secrets
from types import TracebackType
from typing import Any

from aiohttp import web

from sovfixer_async._errors import SOVFixerError
from sovfixer_async._jobs import JobHandle
from sovfixer_async.models import structure

logger = logging.getLogger("sovfixer_async")


class WebhookReceiver:
    """An aiohttp server for callbacks, run beside a client (``client.webhook_receiver()``).

    ``public_url`` is the address the API servers can reach (defaults to the bound
    address, which is what a local emulator needs). Unknown or malformed callbacks get 404
    or 400 and change nothing.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        path: str = "/sovfixer-callbacks",
    ):
        self._host = host
        self._port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._path = "/" + path.strip("/")
        self._runner: web.AppRunner | None = None
        self._bound: dict[str, JobHandle[Any]] = {}
        self._early: dict[str, Any] = {}
        #: Callbacks received and applied to a handle.
        self.delivered = 0

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise SOVFixerError("the webhook receiver is not running: use 'async with'")
        if self._public_url:
            return self._public_url
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}{self._path}"

    def new_url(self) -> tuple[str, str]:
        """(nonce, callback URL) for one submission."""
        nonce = secrets.token_urlsafe(16)
        return nonce, f"{self.base_url}/{nonce}"

    def bind(self, nonce: str, handle: JobHandle[Any]) -> None:
        """Route the nonce's callbacks to ``handle`` (applying one that came early)."""
        self._bound[nonce] = handle
        body = self._early.pop(nonce, None)
        if body is not None:
            self._apply(handle, body)

    def _apply(self, handle: JobHandle[Any], body: Any) -> None:
        status = structure(body, handle.status_type)
        handle.deliver(status)
        self.delivered += 1

    async def _handle(self, request: web.Request) -> web.Response:
        nonce = request.match_info["nonce"]
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"detail": "body is not JSON"}, status=400)
        handle = self._bound.get(nonce)
        if handle is None:
            if len(self._early) >= 10_000:
                return web.json_response({"detail": "unknown callback"}, status=404)
            self._early[nonce] = body
            return web.json_response({"detail": "accepted"}, status=202)
        try:
            self._apply(handle, body)
        except SOVFixerError as exc:
            logger.warning(
                "callback for %s not understood: %s", handle.id, exc, extra={"job_id": handle.id}
            )
            return web.json_response({"detail": "status body not understood"}, status=400)
        return web.json_response({"detail": "ok"})

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post(self._path + "/{nonce}", self._handle)
        runner = web.AppRunner(app, access_log=None)
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
