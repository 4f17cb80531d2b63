"""RetryPolicy and PollPolicy refuse values that would break the transport or the poll
loop later (NaN passes every comparison; a string fails only inside a running wait)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async import ClientConfig, InvalidInputError, PollPolicy, RetryPolicy

NOT_NUMBERS = [math.nan, "1", None, True, [1.0]]


@pytest.mark.parametrize("bad", [*NOT_NUMBERS, -0.5])
@pytest.mark.parametrize("name", ["initial", "max_interval", "jitter", "max_retry_after"])
def test_poll_policy_durations_are_numbers_at_least_zero(name: str, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=name):
        PollPolicy(**{name: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [*NOT_NUMBERS, 0, -1.0])
@pytest.mark.parametrize("name", ["factor", "deadline"])
def test_poll_policy_factor_and_deadline_are_positive_numbers(name: str, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=name):
        PollPolicy(**{name: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [*NOT_NUMBERS, -0.1, 1.5])
@pytest.mark.parametrize("name", ["learned_quantile", "progress_quantile"])
def test_poll_policy_quantiles_are_shares(name: str, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=name):
        PollPolicy(**{name: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [(math.nan,), (0.5, 2.0), (0.9, 0.5), ("0.5",), (None,)])
def test_aim_quantiles_are_ascending_shares(bad: tuple[object, ...]) -> None:
    with pytest.raises(InvalidInputError, match="aim_quantiles"):
        PollPolicy(aim_quantiles=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 2.5, math.nan, "8", True, None])
def test_scouts_is_a_whole_number(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="scouts"):
        PollPolicy(scouts=bad)  # type: ignore[arg-type]


@given(st.lists(st.floats(0.0, 1.0), max_size=5).map(sorted))
def test_any_ascending_shares_are_aim_quantiles(quantiles: list[float]) -> None:
    assert PollPolicy(aim_quantiles=quantiles).aim_quantiles == tuple(quantiles)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("attempts", 0),
        ("attempts", 2.5),
        ("attempts", math.inf),
        ("backoff_initial", math.nan),
        ("backoff_max", -1.0),
        ("max_retry_after", "60"),
        ("budget_ratio", math.nan),
        ("budget_window", 0.0),
        ("start_rate", math.nan),
        ("max_rate", 0),
        ("poll_reserve", 1.5),
        ("poll_reserve", math.nan),
    ],
)
def test_retry_policy_refuses(name: str, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=name):
        RetryPolicy(**{name: bad})  # type: ignore[arg-type]


def test_infinity_means_no_limit_where_documented() -> None:
    assert PollPolicy(deadline=math.inf).deadline == math.inf
    assert RetryPolicy(max_rate=math.inf).max_rate == math.inf
    assert PollPolicy.latency_first().initial == 0.5
    assert PollPolicy.fast().scouts == 0


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("max_connections", 2.5),
        ("max_connections", math.inf),
        ("max_connections", 0),
        ("max_concurrent_requests", 0),
        ("max_concurrent_requests", "8"),
        ("max_concurrent_downloads", True),
        ("max_response_bytes", math.nan),
        ("gzip_threshold", -1),
        ("read_timeout", math.nan),
        ("connect_timeout", "30"),
        ("reconcile_grace", math.nan),
    ],
)
def test_client_config_refuses(name: str, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=name):
        ClientConfig(token="t", **{name: bad})  # type: ignore[arg-type]


def test_client_config_takes_whole_limits() -> None:
    config = ClientConfig(token="t", max_connections=3, max_concurrent_requests=None)
    assert config.request_limit == 3
    assert ClientConfig(token="t", max_concurrent_requests=2).request_limit == 2
