"""Emulator settings (frozen, attrs) and the command-line flags that build them.

Every field of :class:`EmulatorSettings` has one flag, so ``python -m sovfixer_async.emulator``
and ``sovfixer-async emulator`` (which reuses :func:`add_arguments`) offer the same knobs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from attrs import field, frozen, validators

MIB = 1024 * 1024

#: Port the command line binds when ``--port`` is not given (in-process runs use port 0).
DEFAULT_CLI_PORT = 8765


_RATE = validators.and_(validators.ge(0.0), validators.le(1.0))


def _formats(value: Sequence[str] | None) -> tuple[str, ...] | None:
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`EmulatorSettings` field to ``parser``."""
    d = EmulatorSettings()
    add = parser.add_argument
    add("--host", default=d.host, help=f"interface to bind (default {d.host})")
    add("--port", type=int, default=DEFAULT_CLI_PORT, help="port to bind; 0 picks a free one")
    add("--token", default=None, help="the only API token accepted (default: any non-empty token)")
    add("--job-seconds", type=float, default=d.job_seconds, help="seconds each job takes")
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
    try:
        return EmulatorSettings(
            host=args.host,
            port=args.port,
            token=args.token or None,
            job_seconds=args.job_seconds,
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
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid emulator setting: {exc}") from exc
