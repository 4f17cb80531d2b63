"""Each live worker gets its share of the API token's budget: in flight and per second."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async import Client
from sovfixer_async.ledger._budget import RequestBudget, apply_share

URL = "http://127.0.0.1:9"


@given(
    total=st.integers(min_value=1, max_value=1000),
    rate=st.floats(min_value=1.0, max_value=10_000.0),
    live=st.integers(min_value=0, max_value=64),
)
def test_shares_never_add_up_past_the_budget(total: int, rate: float, live: int) -> None:
    share = RequestBudget(total, rate).share(live)
    workers = max(1, live)
    assert share.max_in_flight is not None
    assert share.rate is not None
    assert share.max_in_flight >= 1
    assert share.max_in_flight * workers <= max(total, workers)
    assert share.rate * workers <= rate * (1 + 1e-9)


def test_a_share_reaches_the_clients_limiters() -> None:
    client = Client(api_url=URL, data_api_url=URL, token="t")
    apply_share(client, RequestBudget(32, 100.0).share(4))
    transport = client._context.transport
    assert transport.limiter.total_tokens == 8
    bucket = transport.rate.bucket(URL + "/api/v1/sov")
    assert bucket is not None
    assert bucket.max_rate == 25.0
    assert bucket.rate <= 25.0
