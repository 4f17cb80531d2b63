"""Client configuration in one place: URLs, tokens, limits, retry and poll policies."""

from __future__ import annotations

import math
import os
import ssl as _ssl
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from attrs import field, frozen
from yarl import URL

from sovfixer_async._errors import InvalidInputError
from sovfixer_async._version import __version__

#: Environments as the official SDK names them (its CLI offers the first four), each with
#: the suffix of its token variables (``SOVFIXER_AUTH_TOKEN_<SUFFIX>``).
TOKEN_SUFFIXES = {
    "prod": "PRD",
    "prodeu": "PRDEU",
    "staging": "STG",
    "dev": "DEV",
    "prod2": "PRD",
    "staging2": "STG",
    "dev2": "DEV",
    "local": "LOCAL",
}
ENVIRONMENTS = tuple(TOKEN_SUFFIXES)

_URLS: dict[str, tuple[str, str]] = {
    "prod": ("https://api.sovfixer.com", "https://data-api.sovfixer.com"),
    "prod2": ("https://api2.sovfixer.com", "https://data-api2.sovfixer.com"),
    "prodeu": ("https://api.eu.sovfixer.com", "https://data-api.eu.sovfixer.com"),
    "local": ("http://api-local.sovfixer.com", "http://api-local.sovfixer.com"),
}


def default_urls(environment: str | None) -> tuple[str, str]:
    """The (Ping.Extraction, Ping.Data) base URLs for an environment.

    Production hosts are the documented ones; for other environments the official SDK's
    ``api-<environment>`` pattern is used, and Ping.Data gets the documented
    ``data-api-<environment>`` form (the official SDK's ``api.pingintel.com`` matches no
    documented host).
    """
    env = (environment or "prod").lower()
    if env in _URLS:
        return _URLS[env]
    return (f"https://api-{env}.sovfixer.com", f"https://data-api-{env}.sovfixer.com")


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/sovfixer-async``, or ``~/.local/state/sovfixer-async``."""
    base = os.environ.get("XDG_STATE_HOME")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "sovfixer-async"


def _number(attribute: attrs.Attribute[Any], value: object) -> float:
    """``value`` as a number: an int or float (not a bool, not NaN; infinity passes)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(f"must be a number, got {value!r}", field=attribute.name)
    return value


def _positive(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if _number(attribute, value) <= 0:
        raise InvalidInputError(f"must be > 0, got {value!r}", field=attribute.name)


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if _number(attribute, value) < 0:
        raise InvalidInputError(f"must be >= 0, got {value!r}", field=attribute.name)


def _share(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not 0 <= _number(attribute, value) <= 1:
        raise InvalidInputError(f"must be between 0 and 1, got {value!r}", field=attribute.name)


def _shares(_: Any, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
    numbers = [_number(attribute, item) for item in value]
    if not all(0 <= x <= 1 for x in numbers) or numbers != sorted(numbers):
        raise InvalidInputError(
            f"must be ascending numbers between 0 and 1, got {value!r}", field=attribute.name
        )


def _whole(least: int) -> Callable[[Any, attrs.Attribute[Any], object], None]:
    """A validator: an int (not a bool) of at least ``least``."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInputError(
                f"must be a whole number >= {least}, got {value!r}", field=attribute.name
            )

    return check


_count = _whole(0)
_some = _whole(1)


@frozen
class RetryPolicy:
    """How the transport retries (one retry layer for the whole SDK).

    Retries 429, 503 and connection failures before the request was written, for every
    method; 502, 504 and dropped connections only where repeating is harmless (GETs, and
    ``start`` where a 409 on the retry counts as success). Backoff is capped exponential with
    full jitter; a ``Retry-After`` hint is honoured up to ``max_retry_after``.
    """

    attempts: int = field(default=8, validator=_some)
    backoff_initial: float = field(default=0.2, validator=_non_negative)
    backoff_max: float = field(default=10.0, validator=_non_negative)
    max_retry_after: float = field(default=60.0, validator=_non_negative)
    #: Retries may be at most this share of requests over ``budget_window`` seconds ...
    budget_ratio: float = field(default=0.5, validator=_non_negative)
    budget_window: float = field(default=10.0, validator=_positive)
    #: ... but never fewer than this many retries per second.
    budget_min_per_second: float = field(default=10.0, validator=_non_negative)
    #: Resubmit job-creating POSTs whose outcome is unknown (may create duplicates).
    resubmit_ambiguous: bool = False
    #: Client-side adaptive rate limiting (as botocore's adaptive mode): one token bucket
    #: per API host shared by every request; a 429 pauses it for its ``Retry-After`` and
    #: lowers its rate to under what the server admitted, which then recovers (CUBIC).
    adaptive: bool = True
    #: Requests per second before the server has throttled anything (a cautious start),
    #: doubled every 0.1 s in which more was asked (slow start).
    start_rate: float = field(default=100.0, validator=_positive)
    #: Never more requests per second than this.
    max_rate: float = field(default=math.inf, validator=_positive)
    #: Background polls take a token only while more than this share of the bucket is
    #: left and no other request waits: submissions and downloads go first.
    poll_reserve: float = field(default=0.25, validator=_share)

    @classmethod
    def no_wait(cls, attempts: int = 8) -> RetryPolicy:
        """A policy that retries at once: for tests against the emulator."""
        return cls(attempts=attempts, backoff_initial=0.0, backoff_max=0.0, max_retry_after=0.0)


@frozen
class PollPolicy:
    """How job handles poll: few polls, aimed with what the client learned.

    The first poll comes ``initial`` seconds after submission; then each poll comes at
    ``factor`` times the age of the previous one (at most ``max_interval`` later), with
    jitter. A job that ends at age T is thus seen by about ``T * factor`` at worst, after
    about ``1 + log(T / initial) / log(factor)`` polls. What the client learned of the
    job times of the same kind moves polls no earlier than their ``learned_quantile``
    (recent ends; jobs already waiting are re-aimed), and reported progress brings a poll
    sooner when the end it predicts comes first: by what the kind's finished jobs took
    from the same progress (``progress_quantile``), else by a straight line. The polls of
    a job surely still queued on the server (``skip_queued``) are skipped, and so are those
    of jobs beyond the ``scouts`` oldest of a kind no job of which was seen to end yet (a
    burst of jobs submitted at once does not poll all at once). Polls take the
    client's rate limit only above a reserve (``RetryPolicy.poll_reserve``): the server's
    limit sets their pace. The default favours few requests; :meth:`latency_first` sees
    ends sooner for more.
    """

    initial: float = field(default=1.0, validator=_non_negative)
    factor: float = field(default=1.5, validator=_positive)
    max_interval: float = field(default=10.0, validator=_non_negative)
    #: Each interval is multiplied by a random value in [1 - jitter, 1 + jitter].
    jitter: float = field(default=0.1, validator=_non_negative)
    #: Deadline of ``wait(timeout=None)``, in seconds; ``math.inf`` waits forever.
    deadline: float = field(default=3600.0, validator=_positive)
    #: Longest a server ``Retry-After`` may push the next poll.
    max_retry_after: float = field(default=60.0, validator=_non_negative)
    #: No poll before this quantile (0-1) of the ages at which recent jobs of the same kind
    #: ended (0 turns learning off).
    learned_quantile: float = field(default=0.1, validator=_share)
    #: Aim a poll at the end that reported progress predicts, when it comes first.
    use_progress: bool = True
    #: When one of these quantiles (0-1, ascending) of the ages at which recent jobs of the
    #: same kind ended comes before the next plain poll, poll there instead, and grow from
    #: it (``()`` turns it off, and with it the shorter steps among a kind's near-equal ends).
    aim_quantiles: tuple[float, ...] = field(
        default=(0.5, 0.8, 0.95), converter=tuple, validator=_shares
    )
    #: A job that reported progress P at age A is polled at A times this quantile (0-1) of
    #: (end age / age) of the kind's finished jobs seen at P's tenth, when that comes before
    #: the plain poll (0 turns it off): learned, whatever the kind's progress curve.
    progress_quantile: float = field(default=0.5, validator=_share)
    #: Skip the polls of a job that is surely still queued on the server: more jobs of its
    #: kind submitted before it are still waited on than were ever left waiting when one
    #: of that kind ended (a server running a bounded number at once, in FIFO order).
    skip_queued: bool = True
    #: Until a job of a kind has been seen to end, only its ``scouts`` oldest waiting jobs
    #: poll on the plain schedule; the others skip their polls (at most six in a row), since
    #: the scouts' polls tell what theirs would, and the kind's first end calls them in at
    #: the age it was seen at (0: every job polls).
    scouts: int = field(default=8, validator=_count)

    @classmethod
    def latency_first(cls) -> PollPolicy:
        """See ends sooner for more requests: a first poll at 0.5 s, each poll 1.2 times
        the age of the previous one (a job is seen by ~1.2x its time; about twice the
        polls of the default)."""
        return cls(initial=0.5, factor=1.2, max_interval=10.0, learned_quantile=0.05)

    @classmethod
    def fast(cls) -> PollPolicy:
        """Tight polling for tests against an emulator with sub-second jobs."""
        return cls(
            initial=0.02,
            factor=1.5,
            max_interval=0.05,
            jitter=0.0,
            learned_quantile=0.0,
            aim_quantiles=(),
            progress_quantile=0.0,
            skip_queued=False,
            scouts=0,
        )


def _environment(value: str | None) -> str | None:
    env = value.lower() if value else None
    if env is not None and env not in ENVIRONMENTS:
        raise InvalidInputError(
            f"unknown environment {value!r}; expected one of " + ", ".join(ENVIRONMENTS),
            field="environment",
        )
    return env


def _base_url(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"must start with http:// or https://, got {value!r}", field=attribute.name
        )


def check_team(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInputError(
            f"must be a team UUID (str or int), got {type(value).__name__}",
            field="delegate_to_team",
        )
    text = str(value).strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise InvalidInputError(
            f"must be a non-empty printable team id, got {value!r:.60}", field="delegate_to_team"
        )
    return text


def _strip_slash(url: object) -> str:
    return str(url).rstrip("/")


#: Environment variables that give the base URLs when no ``api_url``/``data_api_url`` is
#: passed (they win over the ``environment``'s URLs; explicit arguments win over them).
API_URL_VARIABLE = "SOVFIXER_API_URL"
DATA_API_URL_VARIABLE = "PING_DATA_API_URL"

#: Longest organisation short name accepted for ``delegate_to`` / ``org_short_name``.
MAX_SHORT_NAME = 200


def _url_from_env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"must start with http:// or https://, got {value!r}", field=f"${name}"
        )
    return value.rstrip("/")


def check_short_name(value: object, name: str) -> str:
    """An organisation short name (or user name) sent as a parameter: bounded, printable."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("must be a non-empty string", field=name)
    if len(value) > MAX_SHORT_NAME:
        raise InvalidInputError(f"longer than {MAX_SHORT_NAME} characters", field=name)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInputError("holds a control character", field=name)
    return value


def _optional_short_name(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_short_name(value, attribute.name)


def _proxy_url(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise InvalidInputError(
            "must be an http:// or https:// URL of a forward proxy", field=attribute.name
        )
    try:
        host = URL(value).host
    except ValueError:
        host = None
    if not host:
        raise InvalidInputError("names no host", field=attribute.name)


def _redacted_proxy(value: object) -> str:
    if not isinstance(value, str):
        return repr(value)
    try:
        url = URL(value)
    except ValueError:
        return "'<proxy>'"
    if url.user or url.password:
        url = url.with_user(None).with_password(None)
        return repr(f"{url} (with credentials)")
    return repr(str(url))


def _ssl_option(value: object) -> _ssl.SSLContext | Path | None:
    """An ``SSLContext`` as it is; a CA bundle path (str or path-like) that must be a file."""
    if value is None or isinstance(value, _ssl.SSLContext):
        return value
    if isinstance(value, str | PathLike):
        path = Path(value)
        if not path.is_file():
            raise InvalidInputError(f"no CA bundle file at {str(path)!r}", field="ssl")
        return path
    raise InvalidInputError("must be an ssl.SSLContext or the path of a PEM CA bundle", field="ssl")


def _trace_configs(value: object) -> tuple[aiohttp.TraceConfig, ...]:
    items = tuple(value) if isinstance(value, list | tuple) else (value,)
    for item in items:
        if not isinstance(item, aiohttp.TraceConfig):
            raise InvalidInputError(
                f"expected aiohttp.TraceConfig objects, got {type(item).__name__}",
                field="trace_configs",
            )
    return items


@frozen(kw_only=True)
class ClientConfig:
    """Everything a :class:`~sovfixer_async.Client` needs; tokens never appear in repr."""

    #: Selects the token variables (``_STG``, ``_DEV``...) and the default URLs.
    environment: str | None = field(default="prod", converter=_environment)
    api_url: str = field(converter=_strip_slash, validator=_base_url)
    data_api_url: str = field(converter=_strip_slash, validator=_base_url)
    token: str | None = field(default=None, repr=False)
    data_token: str | None = field(default=None, repr=False)
    max_connections: int = field(default=64, validator=_some)
    max_concurrent_requests: int | None = field(
        default=None, validator=attrs.validators.optional(_some)
    )
    max_concurrent_downloads: int = field(default=8, validator=_some)
    connect_timeout: float = field(default=30.0, validator=_positive)
    #: Longest silence allowed while reading a response; there is no total cap.
    read_timeout: float = field(default=120.0, validator=_positive)
    retry: RetryPolicy = field(factory=RetryPolicy)
    poll: PollPolicy = field(factory=PollPolicy)
    user_agent: str = f"sovfixer-async/{__version__}"
    #: Largest API answer body accepted, counted after decompression (downloads stream to
    #: disk and are not bounded by it); a larger one raises ``ResponseTooLargeError``.
    max_response_bytes: int = field(default=8 * 1024 * 1024, validator=_some)
    #: Bulk-enhance bodies larger than this are sent gzip-compressed (as the official SDK).
    gzip_threshold: int = field(default=50_000, validator=_count)
    #: Where bulk runs keep their batch files (a temporary folder when None).
    work_dir: Path | None = None
    #: Keep bulk work folders after the client closes.
    keep_work_files: bool = False
    #: ``~/.pingintel.ini`` by default; a path here is read instead.
    ini_path: Path | None = None
    #: Seconds ``client.reconcile`` waits before its second look-up answers "no job"
    #: (a request still in flight at a gateway can create its job after the 502).
    reconcile_grace: float = field(default=30.0, validator=_non_negative)
    #: Where bulk runs keep their manifests and not-yet-accepted batch bodies, across
    #: processes: ``$XDG_STATE_HOME/sovfixer-async`` (``~/.local/state/sovfixer-async``).
    state_dir: Path = field(factory=lambda: default_state_dir(), converter=Path)
    #: A run's manifest never merged is removed after this many seconds (30 days).
    state_max_age: float = field(default=30 * 86400.0, validator=_positive)
    # -- issue 14, Ping.Extraction parity (parity-x) --
    #: Team (UUID) every Ping.Extraction call acts for unless the call names another
    #: (``delegate_to_team=``); needs the ``delegate`` permission on the server.
    delegate_to_team: str | None = field(default=None, converter=check_team)

    # -- issue 14 (Ping.Data parity, networks) -------------------------------------------
    #: Organisation short name every Ping.Data call acts for (``delegate_to``), unless the
    #: call names its own; needs the ``delegate`` permission on the server.
    delegate_to: str | None = field(default=None, validator=_optional_short_name)
    #: Seconds the source access policy (``GET /api/v1/limits``) read for the quota check of
    #: ``enhance``/``bulk_enhance`` is reused before it is read again.
    policy_max_age: float = field(default=60.0, validator=_non_negative)
    #: As ``requests`` does: HTTPS_PROXY/HTTP_PROXY/NO_PROXY, ``~/.netrc``, and a CA bundle
    #: from REQUESTS_CA_BUNDLE or SSL_CERT_FILE (when ``ssl`` is not given).
    trust_env: bool = True
    #: Forward proxy for every request, ``http://[user:password@]host:port`` (wins over
    #: HTTPS_PROXY); its credentials never appear in reprs.
    proxy: str | None = field(default=None, validator=_proxy_url, repr=_redacted_proxy)
    #: TLS trust: an ``ssl.SSLContext``, or the path of a PEM CA bundle servers must chain to.
    ssl: _ssl.SSLContext | Path | None = field(default=None, converter=_ssl_option)
    #: aiohttp ``TraceConfig`` objects (e.g. OpenTelemetry's aiohttp client instrumentation).
    trace_configs: tuple[aiohttp.TraceConfig, ...] = field(
        default=(), converter=_trace_configs, repr=False
    )

    @api_url.default
    def _default_api_url(self) -> str:
        return _url_from_env(API_URL_VARIABLE) or default_urls(self.environment)[0]

    @data_api_url.default
    def _default_data_api_url(self) -> str:
        return _url_from_env(DATA_API_URL_VARIABLE) or default_urls(self.environment)[1]

    @property
    def request_limit(self) -> int:
        """Requests in flight across all jobs (defaults to the connection limit)."""
        return self.max_concurrent_requests or self.max_connections
