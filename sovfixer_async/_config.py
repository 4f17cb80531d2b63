"""Client configuration in one place: URLs, tokens, limits, retry and poll policies."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

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


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise InvalidInputError(f"must be > 0, got {value!r}", field=attribute.name)


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise InvalidInputError(f"must be >= 0, got {value!r}", field=attribute.name)


@frozen
class RetryPolicy:
    """How the transport retries (one retry layer for the whole SDK).

    Retries 429, 503 and connection failures before the request was written, for every
    method; 502, 504 and dropped connections only where repeating is harmless (GETs, and
    ``start`` where a 409 on the retry counts as success). Backoff is capped exponential with
    full jitter; a ``Retry-After`` hint is honoured up to ``max_retry_after``.
    """

    attempts: int = field(default=8, validator=_positive)
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

    @classmethod
    def no_wait(cls, attempts: int = 8) -> RetryPolicy:
        """A policy that retries at once: for tests against the emulator."""
        return cls(attempts=attempts, backoff_initial=0.0, backoff_max=0.0, max_retry_after=0.0)


@frozen
class PollPolicy:
    """How job handles poll: small first interval, backing off with jitter to a ceiling.

    The growth factor bounds the detection lag: a job finishing at time T is seen by about
    ``T * (factor - 1)`` later at worst, so a factor of 1.1 keeps latency within ~1.1x of the
    server's job time until the ceiling is reached.
    """

    initial: float = field(default=0.05, validator=_non_negative)
    factor: float = field(default=1.1, validator=_positive)
    max_interval: float = field(default=5.0, validator=_non_negative)
    #: Each interval is multiplied by a random value in [1 - jitter, 1 + jitter].
    jitter: float = field(default=0.1, validator=_non_negative)
    #: Deadline of ``wait(timeout=None)``, in seconds; ``math.inf`` waits forever.
    deadline: float = field(default=3600.0, validator=_positive)
    #: Longest a server ``Retry-After`` may push the next poll.
    max_retry_after: float = field(default=60.0, validator=_non_negative)

    @classmethod
    def fast(cls) -> PollPolicy:
        """Tight polling for tests against an emulator with sub-second jobs."""
        return cls(initial=0.01, factor=1.2, max_interval=0.05, jitter=0.0)


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


@frozen(kw_only=True)
class ClientConfig:
    """Everything a :class:`~sovfixer_async.Client` needs; tokens never appear in repr."""

    #: Selects the token variables (``_STG``, ``_DEV``...) and the default URLs.
    environment: str | None = field(default="prod", converter=_environment)
    api_url: str = field(converter=_strip_slash, validator=_base_url)
    data_api_url: str = field(converter=_strip_slash, validator=_base_url)
    token: str | None = field(default=None, repr=False)
    data_token: str | None = field(default=None, repr=False)
    max_connections: int = field(default=64, validator=_positive)
    max_concurrent_requests: int | None = None
    max_concurrent_downloads: int = field(default=8, validator=_positive)
    connect_timeout: float = field(default=30.0, validator=_positive)
    #: Longest silence allowed while reading a response; there is no total cap.
    read_timeout: float = field(default=120.0, validator=_positive)
    retry: RetryPolicy = field(factory=RetryPolicy)
    poll: PollPolicy = field(factory=PollPolicy)
    user_agent: str = f"sovfixer-async/{__version__}"
    #: Largest API answer body accepted, counted after decompression (downloads stream to
    #: disk and are not bounded by it); a larger one raises ``ResponseTooLargeError``.
    max_response_bytes: int = field(default=8 * 1024 * 1024, validator=_positive)
    #: Bulk-enhance bodies larger than this are sent gzip-compressed (as the official SDK).
    gzip_threshold: int = 50_000
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

    @api_url.default
    def _default_api_url(self) -> str:
        return default_urls(self.environment)[0]

    @data_api_url.default
    def _default_data_api_url(self) -> str:
        return default_urls(self.environment)[1]

    @property
    def request_limit(self) -> int:
        """Requests in flight across all jobs (defaults to the connection limit)."""
        return self.max_concurrent_requests or self.max_connections
