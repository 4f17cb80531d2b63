"""The client's shape: typed config keywords, a lifecycle that closes everything even when
its exit is cancelled, the renamed bulk handles and their deprecated old names."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

import sovfixer_async
from sovfixer_async import (
    BulkEnhanceBatch,
    BulkEnhanceRun,
    Client,
    ClientConfig,
    PollPolicy,
    SOVFixerError,
)

pytestmark = pytest.mark.anyio

#: Keywords of ``Client.__init__`` that are not fields of ``ClientConfig``.
NOT_CONFIG = {"self", "config", "on_event"}


def test_client_keywords_are_the_config_fields() -> None:
    parameters = inspect.signature(Client.__init__).parameters
    assert all(p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters.values()), (
        "Client.__init__ takes no *args or **kwargs"
    )
    keywords = set(parameters) - NOT_CONFIG
    fields = {f.name for f in attrs.fields(ClientConfig)}
    missing, extra = sorted(fields - keywords), sorted(keywords - fields)
    assert (missing, extra) == ([], []), (
        f"Client.__init__ keywords and ClientConfig fields differ: "
        f"missing keywords {missing}, keywords that are not fields {extra}"
    )


def test_keywords_override_a_config() -> None:
    base = ClientConfig(api_url="http://a.example", data_api_url="http://b.example")
    client = Client(config=base, max_connections=3, token=None)
    assert client.config.max_connections == 3
    assert client.config.api_url == "http://a.example"
    assert Client(config=base).config == base
    assert Client(api_url="http://c.example/").config.api_url == "http://c.example"


@pytest.mark.parametrize(
    ("old", "new"), [("BulkRun", BulkEnhanceRun), ("BulkEnhanceJob", BulkEnhanceBatch)]
)
def test_old_bulk_names_are_deprecated_aliases(old: str, new: type) -> None:
    with pytest.warns(DeprecationWarning, match=new.__name__):
        value = getattr(sovfixer_async, old)
    assert value is new
    assert old not in sovfixer_async.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sovfixer_async.BulkEnhanceRun is BulkEnhanceRun
    with pytest.raises(AttributeError):
        sovfixer_async.NoSuchName  # noqa: B018


async def test_a_cancelled_exit_still_closes_everything(make_client: Any, tmp_path: Path) -> None:
    hooks = None
    with anyio.CancelScope() as scope:
        async with make_client(work_dir=tmp_path) as client:
            run = await client.bulk_enhance(
                [{"id": "a", "address": "1 main st, miami, fl"}], sources=["PG"]
            )
            assert run.work_dir.is_dir()
            hooks = await client.webhook_receiver().__aenter__()
            assert hooks.base_url.startswith("http://127.0.0.1:")
            scope.cancel()  # the exit below runs cancelled
    assert not run.work_dir.exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SOVFixerError, match="not running"):
        hooks.base_url  # noqa: B018 - the receiver was stopped
    with pytest.raises(SOVFixerError, match="not open"):
        await client.usage()  # the session is closed


async def test_run_done_is_server_state_and_merged_is_local(make_client: Any) -> None:
    async with make_client(poll=PollPolicy.fast()) as client:
        run = await client.bulk_enhance(
            [{"id": "a", "address": "1 main st, miami, fl"}], sources=["PG"]
        )
        assert not run.done
        assert not run.merged
        await run.batches[0].wait(timeout=30)
        assert run.done  # the server work is over...
        assert not run.merged  # ...the results are not merged yet
        await run.wait(timeout=30)
        assert run.done
        assert run.merged
        assert run.merged_path is not None
        assert run.merged_path.is_file()
