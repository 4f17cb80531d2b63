"""Argument types and option groups shared by the parsers of ``sovfixer-async``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sovfixer_async._config import ENVIRONMENTS

__all__ = ["ENVIRONMENTS"]  # the environments ``-e`` offers (the client's own list)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def coordinate(limit: float) -> Callable[[str], float]:
    """A float within ``[-limit, limit]`` (latitude 90, longitude 180)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not -limit <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be between -{limit:g} and {limit:g}")
        return value

    return parse


def environment(text: str) -> str:
    value = text.lower()
    if value not in ENVIRONMENTS:
        raise argparse.ArgumentTypeError(
            f"unknown environment {text!r} (choose from {', '.join(ENVIRONMENTS)})"
        )
    return value


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def formats_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "-o",
        "--format",
        "--output-format",
        dest="formats",
        action="append",
        metavar="FORMAT",
        help=help_text,
    )


def out_option(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    parser.add_argument("--out", default=default, metavar="DIR", help=f"{what} (default {default})")
    parser.add_argument(
        "--force", action="store_true", help="replace local files that already exist"
    )


def write_option(parser: argparse.ArgumentParser) -> None:
    """``--write/--no-write`` of ``sovfixerapi fix``/``update``/``get-output``."""
    parser.add_argument(
        "--write",
        dest="write",
        action="store_true",
        default=True,
        help="save the outputs (the default)",
    )
    parser.add_argument(
        "--no-write",
        dest="write",
        action="store_false",
        help="wait for the job and report its outputs, but save nothing",
    )


def extra_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "-E",
        "--extra",
        "--extra-data",
        "--extra_data",
        dest="extra",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help=help_text,
    )


def integrations_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-I",
        "--integration",
        "--integrations",
        dest="integrations",
        action="append",
        metavar="CODE",
        help="integration to run (repeatable)",
    )


def noinput_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--noinput",
        action="store_true",
        help="accepted for the official CLI (this one never asks for confirmation)",
    )


def no_wait_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--no-wait",
        "--nowait",
        dest="no_wait",
        action="store_true",
        help=f"print the resume token(s) once {what} and exit",
    )


def delegate_to_option(
    parser: argparse.ArgumentParser,
    help: str = "act for another organisation (its short name; needs the delegate permission)",
) -> None:
    """``-D/--delegate-to ORG`` of the Ping.Data commands (``pingdataapi``'s global option).

    Its default is SUPPRESS so that the spelling before the command is not clobbered.
    """
    parser.add_argument(
        "-D",
        "--delegate-to",
        dest="delegate_to",
        default=argparse.SUPPRESS,
        metavar="ORG_SHORT_NAME",
        help=help,
    )


def delegate_to_team_option(parser: argparse.ArgumentParser) -> None:
    """``-D/--delegate-to-team UUID`` of ``fix``/``update``/``get-output`` (``sovfixerapi``)."""
    parser.add_argument(
        "-D",
        "--delegate-to-team",
        dest="delegate_to_team",
        metavar="TEAM_UUID",
        help="act for another team (its uuid; needs the delegate permission)",
    )
