"""The webhook receiver against hostile callers: real HTTP posts on 127.0.0.1.

Only nonces it issued get past a 404; each body and the bodies it keeps are capped; a nonce
is forgotten once its job is terminal; bad methods, content types and bodies change nothing.
"""

from __future__ import annotations

import gc
import json
import secrets
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import PollPolicy, WebhookReceiver

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ROWS = b"item_key,bldg_name\ni-s-no-ping-hggcsk!Sheet1!2,X\n"
MIB = 1 << 20
#: Polls would come only after 30 s: a wait that ends sooner was ended by a callback.
NO_POLLS = PollPolicy(initial=30, max_interval=30, jitter=0)


def status_json(size: int) -> bytes:
    """A valid JSON object of exactly ``size`` bytes."""
    head = b'{"pad":"'
    return head + b"x" * (size - len(head) - 2) + b'"}'


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(session: aiohttp.ClientSession, url: str, data: Any, **kwargs: Any) -> int:
    async with session.post(url, data=data, **kwargs) as response:
        await response.read()
        return response.status


JSON = {"Content-Type": "application/json"}


async def test_unknown_nonces_get_404_and_nothing_is_kept(http: aiohttp.ClientSession) -> None:
    async with WebhookReceiver() as hooks:
        hooks.new_url()  # one issued nonce, not the ones posted to
        for body in (b"{}", status_json(4096), b"not json", b"[" * 10_000):
            nonce = secrets.token_urlsafe(16)
            assert await post(http, f"{hooks.base_url}/{nonce}", body, headers=JSON) == 404
        assert await post(http, f"{hooks.base_url}/{'n' * 500}", b"{}", headers=JSON) == 404
        assert hooks.stored_bodies == 0
        assert hooks.stored_bytes == 0
        assert hooks.issued_count == 1
        assert hooks.bound_count == 0


async def test_200_unauthenticated_megabyte_posts_cost_no_memory(
    http: aiohttp.ClientSession,
) -> None:
    """Was 767 MB: every post to any nonce was parsed and kept."""
    body = b'{"a":[' + b"{}," * (MIB // 3 - 4) + b"{}]}"
    assert len(body) <= MIB
    async with WebhookReceiver() as hooks:
        gc.collect()
        tracemalloc.start()
        try:
            urls = [f"{hooks.base_url}/{secrets.token_urlsafe(16)}" for _ in range(200)]
            statuses = [await post(http, url, body, headers=JSON) for url in urls]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert set(statuses) == {404}
        assert hooks.stored_bodies == 0
        # The 200 bodies parsed would be 4 GB of dicts; reading one would be 1 MiB.
        assert peak < 16 * MIB, peak


async def test_oversized_bodies_get_413(http: aiohttp.ClientSession) -> None:
    async with WebhookReceiver() as hooks:
        _nonce, url = hooks.new_url()
        assert await post(http, url, status_json(MIB + 1), headers=JSON) == 413

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: capped while read
            for _ in range(5):
                yield b" " * (MIB // 4)
            yield b"{}"

        assert await post(http, url, chunked(), headers=JSON) == 413
        assert hooks.stored_bodies == 0
        assert await post(http, url, status_json(MIB), headers=JSON) == 202  # the cap itself
        assert hooks.stored_bytes == MIB
    async with WebhookReceiver(max_body_bytes=100) as small:
        _, url = small.new_url()
        assert await post(http, url, status_json(101), headers=JSON) == 413
        assert await post(http, url, status_json(100), headers=JSON) == 202


async def test_early_bodies_are_capped_in_total(http: aiohttp.ClientSession) -> None:
    body = status_json(64 * 1024)
    async with WebhookReceiver(max_pending_bytes=MIB) as hooks:
        urls = [hooks.new_url() for _ in range(40)]
        answers = []
        for _, url in urls:
            async with http.post(url, data=body, headers=JSON) as r:
                answers.append(r.status)
                if r.status == 503:
                    assert r.headers["Retry-After"] == "1"
        assert answers == [202] * 16 + [503] * 24
        assert hooks.stored_bodies == 16
        assert hooks.stored_bytes == MIB
        # A second body for one nonce replaces its first: no growth.
        assert await post(http, urls[0][1], body, headers=JSON) == 202
        assert hooks.stored_bytes == MIB
        hooks.forget(urls[0][0])
        assert hooks.stored_bodies == 15
        assert await post(http, urls[20][1], body, headers=JSON) == 202  # room again
        assert await post(http, urls[0][1], body, headers=JSON) == 404  # forgotten


async def test_issued_nonces_are_capped_oldest_dropped(http: aiohttp.ClientSession) -> None:
    async with WebhookReceiver(max_issued_nonces=10) as hooks:
        urls = [hooks.new_url()[1] for _ in range(25)]
        assert hooks.issued_count == 10
        assert await post(http, urls[0], b"{}", headers=JSON) == 404
        assert await post(http, urls[-1], b"{}", headers=JSON) == 202


async def test_bad_methods_content_types_and_bodies_change_nothing(
    http: aiohttp.ClientSession,
) -> None:
    async with WebhookReceiver() as hooks:
        _, url = hooks.new_url()
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            async with http.request(method, url, data=b"{}") as r:
                assert r.status == 405
        for content_type in ("text/html", "multipart/form-data; boundary=x", "text/plain"):
            assert await post(http, url, b"{}", headers={"Content-Type": content_type}) == 415
        gzip = {**JSON, "Content-Encoding": "gzip"}
        assert await post(http, url, b"\x1f\x8b" + b"\0" * 100, headers=gzip) == 415
        for body in (b"[" * 100_000 + b"]" * 100_000, b"[1, 2]", b'"text"', b"{", b"1" * 5000):
            assert await post(http, url, body, headers=JSON) == 400
        assert hooks.stored_bodies == 0
        vendor_json = {"Content-Type": "application/vnd.ping+json; charset=utf-8"}
        assert await post(http, url, b"{}", headers=vendor_json) == 202


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(st.binary(max_size=3000), min_size=1, max_size=6),
    content_type=st.sampled_from([None, "application/json", "text/plain", "application/x+json"]),
)
async def test_any_posts_stay_within_the_caps(
    bodies: list[bytes], content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    async with (
        WebhookReceiver(max_body_bytes=2000, max_pending_bytes=2500) as hooks,
        aiohttp.ClientSession() as http,
    ):
        urls = [hooks.new_url()[1] for _ in range(3)]
        for i, body in enumerate(bodies):
            status = await post(http, urls[i % 3], body, headers=headers)
            assert status in {202, 400, 413, 415, 503}
            assert hooks.stored_bytes <= 2500
            assert hooks.stored_bodies <= 3


async def test_a_nonce_is_forgotten_once_its_job_is_terminal(
    make_client: Any, emulator: Any, http: aiohttp.ClientSession
) -> None:
    async with make_client(poll=NO_POLLS) as client, client.webhook_receiver() as hooks:
        job = await client.update_sov(SOVID, ROWS, callback_url=hooks)
        assert hooks.issued_count == 0
        assert hooks.bound_count == 1
        assert (await job.wait(timeout=10)).state == "COMPLETE"  # by the callback
        assert hooks.delivered == 1
        assert hooks.bound_count == 0
        callback_url = emulator.state.updates[job.id].callback_url
        assert callback_url.startswith(hooks.base_url)
        assert await post(http, callback_url, json.dumps({"x": 1}), headers=JSON) == 404
        assert hooks.stored_bodies == 0

        # A job seen terminal by polling before its binding: its nonce is never kept.
        async with make_client() as fast:
            polled = await fast.update_sov(SOVID, ROWS)
            await polled.wait(timeout=10)
            nonce, url = hooks.new_url()
            hooks.bind(nonce, polled)
            assert hooks.bound_count == 0
            assert hooks.issued_count == 0
            assert await post(http, url, b"{}", headers=JSON) == 404


async def test_an_early_callback_is_applied_at_binding(
    make_client: Any, emulator: Any, http: aiohttp.ClientSession
) -> None:
    async with make_client() as client, client.webhook_receiver() as hooks:
        job = await client.update_sov(SOVID, ROWS)
        await job.wait(timeout=10)
        async with http.get(
            f"{emulator.url}/api/v1/sov/update/{job.id}",
            headers={"Authorization": "Token test-token"},
        ) as r:
            final = await r.read()
        nonce, url = hooks.new_url()
        assert await post(http, url, final, headers=JSON) == 202
        assert hooks.stored_bodies == 1
        fresh = client.resume(job.token)
        assert not fresh.done
        hooks.bind(nonce, fresh)
        assert fresh.done
        assert fresh.state == "COMPLETE"
        assert hooks.delivered == 1
        assert hooks.stored_bodies == 0
        assert hooks.stored_bytes == 0
        assert hooks.bound_count == 0


def test_caps_must_be_positive_ints() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_body_bytes"):
            WebhookReceiver(max_body_bytes=bad)  # type: ignore[arg-type]


async def test_nonces_of_jobs_seen_terminal_by_polling_are_swept(
    make_client: Any, emulator: Any, http: aiohttp.ClientSession
) -> None:
    async with make_client() as client, client.webhook_receiver() as hooks:
        job = await client.update_sov(SOVID, ROWS)
        final = await job.wait(timeout=10)
        handles = [client.resume(job.token) for _ in range(1023)]
        for handle in handles:
            hooks.bind(hooks.new_url()[0], handle)
        assert hooks.bound_count == 1023
        for handle in handles:
            handle.deliver(final)  # as a poll would see it
        last_nonce, last_url = hooks.new_url()
        hooks.bind(last_nonce, client.resume(job.token))  # the 1024th binding sweeps
        assert hooks.bound_count == 1
        assert await post(http, last_url, b"{}", headers=JSON) == 400  # still bound
