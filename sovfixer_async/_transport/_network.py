"""How the session reaches the servers: TLS trust, proxies, tracing (issue 14).

As ``requests`` does, ``trust_env`` (the default) honours HTTPS_PROXY / HTTP_PROXY /
ALL_PROXY / NO_PROXY and a CA bundle named by REQUESTS_CA_BUNDLE or SSL_CERT_FILE; an
explicit ``ssl`` or ``proxy`` wins over the environment. The environment is read once,
when the session opens, and each request's proxy is chosen here (cached per origin):
aiohttp's own ``trust_env`` would read ``~/.netrc`` and the proxy variables in a worker
thread on every request, and a netrc entry for an API host would clash with our
``Authorization`` header. ``~/.netrc`` is not read.
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from pathlib import Path
from typing import Any

from yarl import URL

from sovfixer_async._config import ClientConfig
from sovfixer_async._errors import ConfigurationError

#: Environment variables naming a CA bundle, in the order ``requests`` consults them.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
#: Origins whose proxy choice is remembered (downloads may reach many hosts).
MAX_CACHED_ORIGINS = 1024


def ca_bundle_from_env() -> Path | None:
    """The CA bundle file the environment names, if any (a missing file is ignored)."""
    for name in CA_BUNDLE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value and Path(value).is_file():
            return Path(value)
    return None


def ssl_option(config: ClientConfig) -> ssl.SSLContext | bool:
    """What the connector's ``ssl=`` gets: a context, or True for aiohttp's default."""
    wanted: ssl.SSLContext | Path | None = config.ssl
    if wanted is None and config.trust_env:
        wanted = ca_bundle_from_env()
    if wanted is None:
        return True
    if isinstance(wanted, ssl.SSLContext):
        return wanted
    try:
        return ssl.create_default_context(cafile=str(wanted))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot load the CA bundle {str(wanted)!r}: {exc}") from exc


def session_options(config: ClientConfig) -> dict[str, Any]:
    """The tracing keywords of ``aiohttp.ClientSession`` (proxies are chosen per request)."""
    return {"trust_env": False, "trace_configs": list(config.trace_configs) or None}


def _with_scheme(proxy: str) -> str:
    return proxy if "://" in proxy else "http://" + proxy


class ProxyChooser:
    """The proxy of each request: the configured one, else the environment's, else none."""

    def __init__(self, config: ClientConfig) -> None:
        self._explicit = config.proxy
        env = urllib.request.getproxies_environment() if config.trust_env else {}
        self._env = {key: value for key, value in env.items() if value}
        self._cache: dict[tuple[str, str, int | None], str | None] = {}

    def __call__(self, url: str | URL) -> str | None:
        if self._explicit is not None:
            return self._explicit
        if not self._env:
            return None
        u = URL(url) if isinstance(url, str) else url
        key = (u.scheme, u.host or "", u.port)
        if key not in self._cache:
            if len(self._cache) >= MAX_CACHED_ORIGINS:
                self._cache.clear()
            self._cache[key] = self._choose(u)
        return self._cache[key]

    def _choose(self, url: URL) -> str | None:
        proxy = self._env.get(url.scheme) or self._env.get("all")
        if proxy is None or url.host is None:
            return None
        where = f"{url.host}:{url.port}" if url.port is not None else url.host
        if urllib.request.proxy_bypass_environment(where, self._env):  # type: ignore[attr-defined]
            return None
        return _with_scheme(proxy)
