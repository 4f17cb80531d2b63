"""Emulator settings (frozen, attrs) and the command-line flags that build them.

Every field of :class:`EmulatorSettings` has one flag, so ``python -m sovfixer_async.emulator``
and ``sovfixer-async emulator`` (which reuses :func:`add_arguments`) offer the same knobs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from attrs import field, frozen, validators

from sovfixer_async.emulator.route_faults import RouteFault

MIB = 1024 * 1024

#: Port the command line binds when ``--port`` is not given (in-process runs use port 0).
DEFAULT_CLI_PORT = 8765


_RATE = validators.and_(validators.ge(0.0), validators.le(1.0))


PROGRESS_CURVES = ("linear", "coarse")

#: ``--profile realistic``: plausible traits of a real service, fixed so that figures compare
#: across runs and people (issue 13): log-normal job times around 3 s, 40 jobs of a kind at
#: once, 100 requests/s per token with a burst of 200, progress in slow-starting 10% steps.
PROFILES: dict[str, dict[str, Any]] = {
    "realistic": {
        "job_seconds": 3.0,
        "job_spread": 0.7,
        "capacity": 40,
        "rate_limit": 100.0,
        "burst": 200,
        "progress": "coarse",
    },
}


def _route_faults(value: Sequence[RouteFault | str]) -> tuple[RouteFault, ...]:
    return tuple(v if isinstance(v, RouteFault) else RouteFault.parse(v) for v in value)


def _positive_or_none(instance: object, attribute: Any, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 (or None: off)")


def _formats(value: Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip().upper() for v in value if v.strip())


def _teams(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(t.strip() for item in value for t in str(item).split(",") if t.strip())


def _code(value: object) -> str:
    return str(value).strip().upper()


@frozen
class SourceCap:
    """Per-source caps of the source access policy (contract 4.7): None is no cap."""

    source: str = field(converter=_code)
    daily: int | None = field(default=None, validator=validators.optional(validators.ge(0)))
    monthly: int | None = field(default=None, validator=validators.optional(validators.ge(0)))

    @classmethod
    def parse(cls, spec: str) -> SourceCap:
        """``GG:daily=500,monthly=10000`` (either window may be left out)."""
        source, sep, rest = spec.partition(":")
        windows: dict[str, int] = {}
        for item in rest.split(",") if sep else []:
            name, eq, number = item.strip().partition("=")
            if not eq or name not in ("daily", "monthly") or not number.strip().isdigit():
                raise ValueError(f"bad source quota {spec!r}: expected SOURCE:daily=N,monthly=N")
            windows[name] = int(number)
        if not source.strip() or not windows:
            raise ValueError(f"bad source quota {spec!r}: expected SOURCE:daily=N,monthly=N")
        return cls(source, **windows)


def _source_caps(value: Any) -> tuple[SourceCap, ...]:
    """Caps from ``SourceCap``s, ``"GG:daily=5"`` strings, or ``{"GG": {"daily": 5}}``."""
    if isinstance(value, dict):
        return tuple(SourceCap(code, **dict(windows)) for code, windows in value.items())
    return tuple(v if isinstance(v, SourceCap) else SourceCap.parse(v) for v in value)


def _codes(value: Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip().upper() for v in value if v.strip())


@frozen
class EmulatorSettings:
    """How one emulator behaves: where it listens, how fast jobs run, which faults it injects."""

    host: str = "127.0.0.1"
    port: int = field(default=0, validator=validators.and_(validators.ge(0), validators.le(65535)))
    #: When set, only ``Authorization: Token <token>`` is accepted; otherwise any non-empty token.
    token: str | None = None
    #: Seconds from a job's creation (an update's ``start``) to its terminal state.
    job_seconds: float = field(default=2.0, validator=validators.ge(0.0))
    #: Pad SOV outputs (parse, update, get_or_create) to at least this many bytes.
    output_bytes: int = field(default=0, validator=validators.ge(0))
    fault_rate: float = field(default=0.0, validator=_RATE)
    reset_rate: float = field(default=0.0, validator=_RATE)
    truncate_rate: float = field(default=0.0, validator=_RATE)
    ambiguous_rate: float = field(default=0.0, validator=_RATE)
    latency_ms: float = field(default=0.0, validator=validators.ge(0.0))
    #: Seeds the fault dice and the generated SOV ids, for reproducible runs.
    seed: int | None = None
    max_locations: int = field(default=10_000, validator=validators.ge(1))
    max_body_bytes: int = field(default=50 * MIB, validator=validators.ge(1024))
    #: Share of bulk-enhance locations that get per-source problems.
    problem_rate: float = field(default=0.02, validator=_RATE)
    #: Serve downloads without Range support (no Accept-Ranges, Range ignored, always 200).
    no_range: bool = False
    #: Output formats the organisation may request (canonical upper case); None = every format.
    allowed_formats: tuple[str, ...] | None = field(default=None, converter=_formats)
    callback_retry_seconds: float = field(default=1.0, validator=validators.ge(0.0))
    #: Sigma of the log-normal job time around the median ``job_seconds`` (0: exact).
    job_spread: float = field(
        default=0.0, validator=validators.and_(validators.ge(0.0), validators.le(5.0))
    )
    #: At most this many jobs of a kind run at once; the rest wait in FIFO order (None: no cap).
    capacity: int | None = field(default=None, validator=_positive_or_none)
    #: ``linear`` progress, or ``coarse``: 10% steps of (elapsed share) squared.
    progress: str = field(default="linear", validator=validators.in_(PROGRESS_CURVES))
    #: Requests per second per API token (a token bucket); None: no limit.
    rate_limit: float | None = field(default=None, validator=_positive_or_none)
    #: The bucket's size; None: one second's worth of ``rate_limit`` (at least 1).
    burst: int | None = field(default=None, validator=_positive_or_none)
    #: Per-route faults in force from the start (more can be added at run time).
    route_faults: tuple[RouteFault, ...] = field(default=(), converter=_route_faults)
    #: Teams the token may act for with ``delegate_to_team`` (others: 403).
    delegate_teams: tuple[str, ...] = field(default=(), converter=_teams)
    # -- issue 14: Ping.Data delegation and the source access policy (contract 4.7) --------
    #: Organisation short names the token may pass as ``delegate_to`` (any other: 403).
    delegate_orgs: tuple[str, ...] = field(default=(), converter=tuple)
    #: The caller as ``GET /api/v1/limits`` names it, and whether it is staff (staff may
    #: ask for another user's or an organisation's limits and usage).
    username: str = "user@example.com"
    staff: bool = False
    #: A restricted source allowlist (codes); None: unrestricted.
    source_allowlist: tuple[str, ...] | None = field(default=None, converter=_codes)
    #: Daily/monthly caps per source, which ``bulk_enhance`` and ``enhance`` enforce (403).
    source_quotas: tuple[SourceCap, ...] = field(default=(), converter=_source_caps)

    @classmethod
    def from_profile(cls, name: str, **overrides: Any) -> EmulatorSettings:
        """The settings of profile ``name`` (see :data:`PROFILES`) with ``overrides`` laid over."""
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
        return cls(**{**PROFILES[name], **overrides})

    @property
    def bucket_size(self) -> float:
        """Tokens the rate limiter's bucket holds."""
        if self.burst is not None:
            return float(self.burst)
        return max(1.0, self.rate_limit or 1.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`EmulatorSettings` field to ``parser``."""
    d = EmulatorSettings()
    add = parser.add_argument
    add("--host", default=d.host, help=f"interface to bind (default {d.host})")
    add("--port", type=int, default=DEFAULT_CLI_PORT, help="port to bind; 0 picks a free one")
    add("--token", default=None, help="the only API token accepted (default: any non-empty token)")
    add(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="turn on a set of traits together (realistic: --job-seconds 3 --job-spread 0.7 "
        "--capacity 40 --rate-limit 100 --burst 200 --progress coarse); flags given override it",
    )
    add(
        "--job-seconds",
        type=float,
        default=None,
        help=f"seconds each job takes, the median when spread (default {d.job_seconds:g})",
    )
    add(
        "--job-spread",
        type=float,
        default=None,
        metavar="SIGMA",
        help="log-normal spread of job times around --job-seconds, seeded by --seed (default 0)",
    )
    add(
        "--capacity",
        type=int,
        default=None,
        metavar="N",
        help="at most N jobs of a kind run at once, the rest wait in FIFO order (0: no cap)",
    )
    add(
        "--progress",
        choices=PROGRESS_CURVES,
        default=None,
        help="progress curve: linear (default) or coarse (10%% steps, slow start)",
    )
    add(
        "--rate-limit",
        type=float,
        default=None,
        metavar="R",
        help="requests per second per API token; excess gets 429 + Retry-After (0: off)",
    )
    add(
        "--burst",
        type=int,
        default=None,
        metavar="B",
        help="the rate limiter's bucket size (default: one second of --rate-limit)",
    )
    add(
        "--route-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a per-route fault, 'METHOD /path/glob ACTION [times=N] [rate=P]'; ACTION is a "
        "status 400-599, ambiguous, reset or reset_after (repeatable)",
    )
    add("--output-bytes", type=int, default=0, metavar="N", help="pad SOV outputs to N bytes")
    add("--fault-rate", type=float, default=0.0, help="share of API requests answered 429/503")
    add("--reset-rate", type=float, default=0.0, help="share of GETs whose connection is dropped")
    add("--truncate-rate", type=float, default=0.0, help="share of downloads cut mid-body")
    add(
        "--ambiguous-rate",
        type=float,
        default=0.0,
        help="share of job-creating POSTs processed, then answered 502",
    )
    add("--latency-ms", type=float, default=0.0, help="delay added to every API request")
    add("--seed", type=int, default=None, help="seed for faults and generated ids")
    add("--max-locations", type=int, default=d.max_locations, help="bulk enhance location cap")
    add("--max-body-bytes", type=int, default=d.max_body_bytes, help="request body cap (413)")
    add(
        "--problem-rate",
        type=float,
        default=d.problem_rate,
        help="share of bulk locations with per-source problems",
    )
    add("--no-range", action="store_true", help="serve downloads without Range support")
    add(
        "--allowed-formats",
        nargs="+",
        default=None,
        metavar="FORMAT",
        help="restrict the organisation's enabled output formats (comma or space separated)",
    )
    add(
        "--callback-retry-seconds",
        type=float,
        default=d.callback_retry_seconds,
        help="spacing of callback retries",
    )
    add_access_arguments(parser)


def add_access_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the Ping.Data delegation and source access policy (issue 14)."""
    add = parser.add_argument
    add(
        "--delegate-org",
        action="append",
        default=[],
        metavar="ORG",
        help="an organisation the token may act for with delegate_to (repeatable)",
    )
    add(
        "--source-allowlist",
        nargs="+",
        default=None,
        metavar="CODE",
        help="restrict the sources the token may call (comma or space separated)",
    )
    add(
        "--source-quota",
        action="append",
        default=[],
        metavar="SPEC",
        help="a per-source cap, 'GG:daily=500,monthly=10000' (repeatable)",
    )
    add("--staff", action="store_true", help="the token is staff (may read others' limits)")
    add(
        "--delegate-teams",
        nargs="+",
        default=[],
        metavar="TEAM",
        help="teams the token may act for with delegate_to_team (others get 403)",
    )


def access_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags of :func:`add_access_arguments` give."""
    allowlist: list[str] | None = None
    if getattr(args, "source_allowlist", None) is not None:
        allowlist = [c for item in args.source_allowlist for c in item.split(",")]
    return {
        "delegate_orgs": tuple(getattr(args, "delegate_org", None) or ()),
        "source_allowlist": allowlist,
        "source_quotas": tuple(getattr(args, "source_quota", None) or ()),
        "staff": bool(getattr(args, "staff", False)),
        "delegate_teams": tuple(getattr(args, "delegate_teams", None) or ()),
    }


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m sovfixer_async.emulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m sovfixer_async.emulator",
        description="Local emulator of the Ping.Extraction (SOVFixer) and Ping.Data APIs.",
    )
    add_arguments(parser)
    return parser


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    """Turn parsed flags (from :func:`add_arguments`) into settings; raises ValueError if bad."""
    formats: list[str] | None = None
    if args.allowed_formats is not None:
        formats = [f for item in args.allowed_formats for f in item.split(",")]
    traits: dict[str, Any] = dict(PROFILES[args.profile]) if args.profile else {}
    given = {
        "job_seconds": args.job_seconds,
        "job_spread": args.job_spread,
        "capacity": None if args.capacity == 0 else args.capacity,
        "progress": args.progress,
        "rate_limit": None if args.rate_limit == 0 else args.rate_limit,
        "burst": args.burst,
    }
    for name, value in given.items():
        explicit_off = name in ("capacity", "rate_limit") and getattr(args, name) == 0
        if value is not None or explicit_off:
            traits[name] = value
    try:
        return EmulatorSettings(
            host=args.host,
            port=args.port,
            token=args.token or None,
            **traits,
            output_bytes=args.output_bytes,
            fault_rate=args.fault_rate,
            reset_rate=args.reset_rate,
            truncate_rate=args.truncate_rate,
            ambiguous_rate=args.ambiguous_rate,
            latency_ms=args.latency_ms,
            seed=args.seed,
            max_locations=args.max_locations,
            max_body_bytes=args.max_body_bytes,
            problem_rate=args.problem_rate,
            no_range=args.no_range,
            allowed_formats=formats,
            callback_retry_seconds=args.callback_retry_seconds,
            route_faults=args.route_fault,
            **access_settings(args),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid emulator setting: {exc}") from exc
