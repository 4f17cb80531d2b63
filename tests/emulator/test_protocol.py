"""Request parsing and lifecycle arithmetic, property-tested (no server needed)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async.emulator.lifecycle import BULK_PHASES, PARSE_PHASES_ENRICHING, phase_at
from sovfixer_async.emulator.protocol import (
    BadRequest,
    iso_ms,
    parse_bool,
    parse_compact,
    parse_int,
    scrub_filename,
)

TRUE = ["true", "True", "TRUE", "1", True, 1]
FALSE = ["false", "False", "0", False, 0]


@given(st.sampled_from(TRUE), st.sampled_from(["", " "]))
def test_true_spellings(value: object, pad: str) -> None:
    assert parse_bool(f"{pad}{value}{pad}" if isinstance(value, str) else value, "f") is True


@given(st.sampled_from(FALSE))
def test_false_spellings(value: object) -> None:
    assert parse_bool(value, "f") is False


@given(
    st.text().filter(
        lambda s: s.strip().lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off", ""}
    )
)
def test_other_strings_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_bool(value, "overwrite_existing")
    assert info.value.field == "overwrite_existing"


@given(st.integers(-(10**6), 10**6))
def test_ints_from_json_and_forms(value: int) -> None:
    assert parse_int(value, "n") == parse_int(str(value), "n") == value


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_timestamps_have_three_fraction_digits(ts: float) -> None:
    text = iso_ms(ts)
    assert text is not None
    assert len(text) == 24
    assert text.endswith("Z")
    datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_compact_start() -> None:
    assert iso_ms(parse_compact("20230101130000", "start")) == "2023-01-01T13:00:00.000Z"
    with pytest.raises(BadRequest):
        parse_compact("2023-01-01", "start")


@given(st.text(max_size=40))
def test_scrubbed_filenames_are_safe(name: str) -> None:
    cleaned = scrub_filename(name)
    assert cleaned
    assert not cleaned.startswith(".")
    assert not set(cleaned) & {"/", "\\", '"', "\n", "\r", "\x00"}


@given(
    phases=st.sampled_from([BULK_PHASES, PARSE_PHASES_ENRICHING]),
    times=st.lists(st.floats(0, 1.5), min_size=2, max_size=20),
)
def test_phases_advance_monotonically(phases: tuple[str, ...], times: list[float]) -> None:
    seen = [phase_at(phases, 0.0, 1.0, t) for t in sorted(times)]
    indexes = [p.index for p in seen]
    assert indexes == sorted(indexes)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert all(0 <= f < 1 for f in fractions)
    assert phase_at(phases, 0.0, 1.0, 0.0).status == "PENDING"
    assert phase_at(phases, 0.0, 1.0, 0.999).status == phases[-1]
