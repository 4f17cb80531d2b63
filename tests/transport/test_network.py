"""Networks as companies run them: a forward proxy (explicit or from the environment), a
private CA, aiohttp tracing, base URLs from the environment (issue 14)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from sovfixer_async import (
    APIConnectionError,
    Client,
    ClientConfig,
    ConfigurationError,
    InvalidInputError,
    PollPolicy,
    RetryPolicy,
)
from sovfixer_async.emulator import RunningEmulator, run_emulator
from sovfixer_async.emulator.app import create_app
from sovfixer_async.emulator.settings import EmulatorSettings

pytestmark = pytest.mark.anyio

TOKEN = "proxy-test-token-0123456789"
HOP_BY_HOP = {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "host"}


def client(url: str, **options: Any) -> Client:
    options.setdefault("retry", RetryPolicy.no_wait(attempts=2))
    options.setdefault("poll", PollPolicy.fast())
    return Client(api_url=url, data_api_url=url, token=TOKEN, **options)


class ForwardProxy:
    """A tiny HTTP forward proxy: absolute-form requests, forwarded; what it saw, kept."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # An absolute-form request: its Host is the target's (and so is request.url)
        target = str(request.url)
        if request.host == self.url.removeprefix("http://"):
            return web.Response(status=400, text="not a proxy request")
        self.seen.append({"target": target, "headers": dict(request.headers)})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.request(
                request.method, target, headers=headers, data=body or None, allow_redirects=False
            ) as upstream,
        ):
            payload = await upstream.read()
            keep = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in ("content-type", "content-encoding", "etag", "accept-ranges")
            }
            return web.Response(status=upstream.status, body=payload, headers=keep)


@asynccontextmanager
async def serve(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    fp = ForwardProxy()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fp.handle)
    async with serve(app) as url:
        fp.url = url
        yield fp


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """Another origin (as a storage bucket is): serves one file."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"file body", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/bucket/out.txt", handler)
    async with serve(app) as url:
        yield url


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with run_emulator(job_seconds=0.1, token=TOKEN) as emu:
        yield emu


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# -- proxies ---------------------------------------------------------------------------


async def test_an_explicit_proxy_carries_everything_and_the_token_only_to_the_api(
    emulator: RunningEmulator, proxy: ForwardProxy, files: str, tmp_path: Path, no_proxy_env: None
) -> None:
    proxy_url = proxy.url.replace("http://", "http://puser:ppass@")
    async with client(emulator.url, proxy=proxy_url) as c:
        await c.usage()
        saved = await c.download(files + "/bucket/out.txt", tmp_path)
    assert saved.read_bytes() == b"file body"
    targets = [s["target"] for s in proxy.seen]
    assert any(t.startswith(emulator.url + "/api/v1/usage") for t in targets)
    assert files + "/bucket/out.txt" in targets
    for seen in proxy.seen:
        auth = seen["headers"].get("Authorization")
        if seen["target"].startswith(emulator.url):
            assert auth == f"Token {TOKEN}"
        else:
            assert auth is None  # never the token to another origin
        # the proxy gets its own credentials, never the API token
        assert seen["headers"].get("Proxy-Authorization", "").startswith("Basic ")
        assert TOKEN not in seen["headers"].get("Proxy-Authorization", "")


async def test_the_proxy_credentials_are_not_in_reprs(emulator: RunningEmulator) -> None:
    config = ClientConfig(api_url=emulator.url, proxy="http://puser:secretpw@10.0.0.1:3128")
    assert "secretpw" not in repr(config)
    assert "10.0.0.1:3128" in repr(config)


@pytest.mark.parametrize("bad", ["ftp://proxy:21", "proxy:3128", "http://", 3128])
def test_a_bad_proxy_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        ClientConfig(proxy=bad)
    assert info.value.field == "proxy"


async def test_http_proxy_from_the_environment(
    emulator: RunningEmulator,
    proxy: ForwardProxy,
    no_proxy_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with client(emulator.url) as c:  # trust_env=True by default, as requests
        await c.usage()
    assert any(s["target"].startswith(emulator.url) for s in proxy.seen)


async def test_no_proxy_and_trust_env_false_bypass_it(
    emulator: RunningEmulator,
    proxy: ForwardProxy,
    no_proxy_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with client(emulator.url, trust_env=False) as c:
        await c.usage()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with client(emulator.url) as c:
        await c.usage()
    assert proxy.seen == []


# -- TLS with a private CA ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "company-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def tls_emulator(ca: trustme.CA) -> AsyncIterator[str]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    app = create_app(EmulatorSettings(job_seconds=0.1, token=TOKEN))
    async with serve(app, server_context) as url:
        yield url


async def test_an_unknown_ca_is_refused(tls_emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    async with client(tls_emulator) as c:
        with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
            await c.usage()


async def test_a_ca_bundle_path(tls_emulator: str, ca_file: Path) -> None:
    async with client(tls_emulator, ssl=ca_file) as c:
        usage = await c.usage()
    assert usage.totals is not None
    async with client(tls_emulator, ssl=str(ca_file)) as c:
        await c.list_datasources()


async def test_an_ssl_context(tls_emulator: str, ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with client(tls_emulator, ssl=context) as c:
        await c.usage()


async def test_the_environment_names_the_ca_bundle(
    tls_emulator: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    async with client(tls_emulator) as c:
        await c.usage()
    async with client(tls_emulator, trust_env=False) as c:
        with pytest.raises(APIConnectionError):
            await c.usage()


async def test_a_missing_or_broken_ca_bundle(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        ClientConfig(ssl=tmp_path / "nope.pem")
    assert info.value.field == "ssl"
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match="CA bundle"):
        async with client("https://127.0.0.1:9", ssl=broken):
            pass


# -- tracing (OpenTelemetry's aiohttp instrumentation plugs in here) ---------------------


async def test_trace_configs_see_every_request(emulator: RunningEmulator) -> None:
    started: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestStartParams
    ) -> None:
        started.append(f"{params.method} {params.url.path}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with client(emulator.url, trace_configs=[trace]) as c:
        await c.usage()
        await c.enhance(address="1 main st", sources=["GG"])
    assert "GET /api/v1/usage" in started
    assert "GET /api/v1/enhance" in started


def test_trace_configs_are_checked() -> None:
    with pytest.raises(InvalidInputError):
        ClientConfig(trace_configs=[object()])  # type: ignore[list-item]


# -- base URLs from the environment ------------------------------------------------------


@pytest.fixture
def url_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("SOVFIXER_API_URL", raising=False)
    monkeypatch.delenv("PING_DATA_API_URL", raising=False)
    return monkeypatch


def test_base_urls_from_the_environment(url_env: pytest.MonkeyPatch) -> None:
    url_env.setenv("SOVFIXER_API_URL", "http://127.0.0.1:8765/")
    url_env.setenv("PING_DATA_API_URL", "http://127.0.0.1:8766")
    config = ClientConfig()
    assert (config.api_url, config.data_api_url) == (
        "http://127.0.0.1:8765",
        "http://127.0.0.1:8766",
    )
    explicit = ClientConfig(api_url="https://api.example", data_api_url="https://data.example")
    assert (explicit.api_url, explicit.data_api_url) == (
        "https://api.example",
        "https://data.example",
    )
    assert ClientConfig(environment="staging").api_url == "http://127.0.0.1:8765"


def test_a_bad_url_in_the_environment_is_named(url_env: pytest.MonkeyPatch) -> None:
    url_env.setenv("PING_DATA_API_URL", "data-api.local")
    with pytest.raises(InvalidInputError, match="PING_DATA_API_URL"):
        ClientConfig()


async def test_one_line_points_everything_at_the_emulator(
    emulator: RunningEmulator, url_env: pytest.MonkeyPatch
) -> None:
    url_env.setenv("SOVFIXER_API_URL", emulator.url)
    url_env.setenv("PING_DATA_API_URL", emulator.url)
    async with Client(token=TOKEN) as c:
        await c.usage()
        formats = await c.list_output_formats()
    assert formats


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:3128"}, "https://api.sovfixer.com/x", "http://p:3128"),
        ({"HTTPS_PROXY": "p:3128"}, "https://api.sovfixer.com/x", "http://p:3128"),
        ({"HTTPS_PROXY": "http://p:3128"}, "http://api.sovfixer.com/x", None),
        ({"ALL_PROXY": "http://all:1"}, "https://api.sovfixer.com/x", "http://all:1"),
        (
            {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".sovfixer.com"},
            "https://api.sovfixer.com/x",
            None,
        ),
        (
            {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "other.com"},
            "https://api.sovfixer.com/x",
            "http://p:3128",
        ),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "*"}, "https://s3.aws/x", None),
        ({}, "https://api.sovfixer.com/x", None),
    ],
)
def test_the_proxy_chosen_from_the_environment(
    env: dict[str, str],
    url: str,
    expected: str | None,
    no_proxy_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sovfixer_async._transport._network import ProxyChooser

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    choose = ProxyChooser(ClientConfig())
    assert choose(url) == expected
    assert choose(url) == expected  # (from the cache)
    assert ProxyChooser(ClientConfig(trust_env=False))(url) is None
    assert ProxyChooser(ClientConfig(proxy="http://mine:8080"))(url) == "http://mine:8080"
