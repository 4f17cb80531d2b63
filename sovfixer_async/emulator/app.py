"""The aiohttp application: state, middlewares (stats, rate limit, faults, auth, errors), routes."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from sovfixer_async.emulator import (
    control,
    data,
    extraction,
    extraction_feeds,
    extraction_misc,
    jobs,
)
from sovfixer_async.emulator.callbacks import CALLBACKS, CallbackScheduler, callbacks_context
from sovfixer_async.emulator.faults import FAULTS, FaultInjector, faults_middleware
from sovfixer_async.emulator.limits import TooLarge
from sovfixer_async.emulator.protocol import BadRequest, NotFound, bad_request, error_response
from sovfixer_async.emulator.ratelimit import RATE_LIMITER, RateLimiter, rate_limit_middleware
from sovfixer_async.emulator.settings import EmulatorSettings
from sovfixer_async.emulator.state import STATE, EmulatorState
from sovfixer_async.emulator.stats import STATS, Stats, is_api, stats_middleware

logger = logging.getLogger("sovfixer_async.emulator")

SETTINGS: web.AppKey[EmulatorSettings] = web.AppKey("sovfixer_emulator_settings", EmulatorSettings)


def _token_problem(header: str, expected: str | None) -> str | None:
    """Why an ``Authorization`` value is refused, or None when it is accepted."""
    scheme, _, token = header.strip().partition(" ")
    if not header.strip():
        return "Authentication credentials were not provided."
    if scheme.lower() != "token" or not token.strip():
        return "Invalid token header. Use 'Authorization: Token <api key>'."
    if expected is not None and token.strip() != expected:
        return "Invalid token."
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every API request needs ``Authorization: Token <key>`` (contract 1.2)."""
    if is_api(request):
        problem = _token_problem(
            request.headers.get("Authorization", ""), request.app[SETTINGS].token
        )
        if problem is not None:
            return error_response(401, problem, headers={"WWW-Authenticate": "Token"})
    response: web.StreamResponse = await handler(request)
    return response


async def refuse_unread(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Send ``response`` and close the connection when a compressed body was left unread.

    aiohttp would otherwise read and inflate the rest of it on the event loop before the
    next request: seconds of stall for a gzip bomb. (A plain body is cheap to drain, and
    draining it lets the client, still sending, read the answer.)
    """
    if request.content.is_eof() or "Content-Encoding" not in request.headers:
        return response
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn refusals and aiohttp's own HTTP errors into the JSON error body of contract 2.5."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except BadRequest as exc:
        return bad_request(exc)
    except NotFound as exc:
        return error_response(404, exc.message)
    except TooLarge as exc:
        return await refuse_unread(request, error_response(413, exc.message))
    except RequestPayloadError as exc:  # e.g. a body that claims gzip but is not
        return error_response(400, f"The request body could not be read: {exc}")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        text = exc.text if exc.text and exc.status != 404 else exc.reason
        if exc.status == 404:
            text = f"No route for {request.method} {request.path}."
        allow = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        answer = error_response(exc.status, str(text), headers=allow)
        return await refuse_unread(request, answer) if exc.status == 413 else answer
    except Exception as exc:  # an emulator bug: still answer JSON, and say so in the log
        logger.exception("emulator error on %s %s", request.method, request.path)
        return error_response(500, f"Emulator error: {type(exc).__name__}: {exc}")


def create_app(settings: EmulatorSettings | None = None) -> web.Application:
    """A fresh emulator application with the seed SOV already parsed."""
    settings = settings or EmulatorSettings()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            stats_middleware,
            rate_limit_middleware,
            faults_middleware,
            auth_middleware,
            errors_middleware,
        ],
    )
    state = EmulatorState(settings)
    jobs.seed(state)
    stats = Stats(job_log=state.timing.log)
    app[SETTINGS] = settings
    app[STATE] = state
    app[STATS] = stats
    app[FAULTS] = FaultInjector.from_settings(settings)
    app[RATE_LIMITER] = RateLimiter.from_settings(settings)
    app[CALLBACKS] = CallbackScheduler(state, stats, settings.callback_retry_seconds)
    app.cleanup_ctx.append(callbacks_context)
    extraction_feeds.add_routes(app)  # /api/v1/sov/history before /api/v1/sov/{id}
    extraction.add_routes(app)
    extraction_misc.add_routes(app)
    data.add_routes(app)
    control.add_routes(app)
    return app
