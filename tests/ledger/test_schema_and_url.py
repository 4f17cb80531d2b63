"""The schema migrates forward and refuses a newer one; ledger URLs never show their
password, in reprs, statuses or errors."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sovfixer_async.ledger import Ledger, LedgerError, LedgerURL, _schema
from sovfixer_async.ledger._db import connect

from .conftest import POSTGRES_ENV
from .helpers import claim

pytestmark = pytest.mark.anyio


async def test_a_version_1_ledger_migrates_forward_keeping_its_items(ledger_url: str) -> None:
    db = connect(LedgerURL.parse(ledger_url))
    try:
        await db.run(lambda tx: _schema.migrate(tx, target=1))
        await db.run(
            lambda tx: tx.q(
                "INSERT INTO ledger_items (kind, state, params, created_at, updated_at) "
                'VALUES (\'output\', \'planned\', \'{"sovid":"s-1","output_format":"JSON"}\', '
                ":now, :now)"
            )
        )
    finally:
        await db.close()
    async with await Ledger.open(ledger_url) as ledger:
        version = await ledger._db.run(_schema.current_version)
        assert version == _schema.VERSION
        status = await ledger.status()
        assert status.counts == {"output": {"planned": 1}}
        assert status.duplicates == 0  # the column version 2 added


async def test_a_version_2_ledger_migrates_to_3_and_logs_claims_from_then_on(
    ledger_url: str,
) -> None:
    db = connect(LedgerURL.parse(ledger_url))
    try:
        await db.run(lambda tx: _schema.migrate(tx, target=2))
        await db.run(
            lambda tx: tx.q(
                "INSERT INTO ledger_items (kind, state, params, epoch, lease_owner, lease_until, "
                "duplicates, created_at, updated_at) VALUES ('output', 'submitted', "
                '\'{"sovid":"s-1","output_format":"JSON"}\', 4, \'old\', :now - 1, 2, :now, :now)'
            )
        )
    finally:
        await db.close()
    async with await Ledger.open(ledger_url) as ledger:
        assert await ledger._db.run(_schema.current_version) == _schema.VERSION == 3
        status = await ledger.status()
        assert (status.counts, status.duplicates) == ({"output": {"submitted": 1}}, 2)
        assert status.fenced_writes == 0
        assert await ledger._db.run(lambda tx: tx.q("SELECT * FROM ledger_claims")) == []
        [(item_id, epoch)] = await claim(ledger, "new", 1)  # its lease had ended
        assert epoch == 5
        logged = await ledger._db.run(
            lambda tx: tx.q("SELECT item_id, epoch, worker FROM ledger_claims")
        )
        assert logged == [(item_id, 5, "new")]


async def test_a_ledger_from_a_newer_sdk_is_refused(ledger_url: str) -> None:
    async with await Ledger.open(ledger_url) as ledger:
        await ledger._db.run(
            lambda tx: tx.q("UPDATE ledger_meta SET value = '99' WHERE name = 'schema_version'")
        )
    with pytest.raises(LedgerError, match="newer"):
        await Ledger.open(ledger_url)


def test_a_url_shows_no_password() -> None:
    url = LedgerURL.parse("postgresql://worker:s3cr%40t-pw@db.example:5432/jobs")
    assert url.dialect == "postgresql"
    for shown in (str(url), repr(url), url.redact("failed: s3cr@t-pw and s3cr%40t-pw")):
        assert "s3cr" not in shown
    assert "***" in str(url)


@given(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=6, max_size=30),
    st.sampled_from(["mysql", "postgresql", "sqlite", "postgres"]),
    st.sampled_from(["", "db.example:5432"]),
)
def test_no_url_shows_its_password_parsed_or_refused(password: str, scheme: str, host: str) -> None:
    quoted = quote(password, safe="")
    url = f"{scheme}://user:{quoted}@{host}/jobs"
    assume(password not in url.replace(quoted, "***"))
    try:
        shown = str(LedgerURL.parse(url))
    except LedgerError as exc:
        shown = str(exc)
    assert quoted not in shown
    assert password not in shown


@pytest.mark.parametrize("bad", ["", "mysql://x/y", "sqlite://host/x.db", "sqlite:///", "http://a"])
def test_bad_urls_are_refused(bad: str) -> None:
    with pytest.raises(LedgerError):
        LedgerURL.parse(bad)


def test_sqlite_urls_are_relative_with_three_slashes_absolute_with_four() -> None:
    assert LedgerURL.parse("sqlite:///jobs.db").path == Path("jobs.db")
    assert LedgerURL.parse("sqlite:////var/jobs.db").path == Path("/var/jobs.db")


async def test_a_refused_connection_does_not_show_the_password() -> None:
    pytest.importorskip("psycopg")
    secret = "pw-that-must-not-leak"
    with pytest.raises(LedgerError) as info:
        await Ledger.open(f"postgresql://someone:{secret}@127.0.0.1:1/none?connect_timeout=2")
    assert secret not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


async def test_a_wrong_password_is_not_echoed() -> None:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    url = LedgerURL.parse(base)
    assert url.password
    wrong = base.replace(url.password, "wrong-" + url.password[::-1])
    with pytest.raises(LedgerError) as info:
        await Ledger.open(wrong)
    assert url.password[::-1] not in str(info.value)
    assert url.password not in str(info.value)


async def test_a_sqlite_ledger_in_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="folder"):
        await Ledger.open(f"sqlite:///{tmp_path}/missing/jobs.db")
