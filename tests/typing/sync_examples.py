"""Typing examples of both facades: ``mypy --strict`` must accept this file as written
(``assert_type`` fails the check when a method's types drift). Run by test_sync_typing.py;
never executed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import assert_type

import sovfixer_async
import sovfixer_async.sync as sync
from sovfixer_async import BulkRunStatus
from sovfixer_async.models import (
    EnhanceResponse,
    HistoryRecord,
    OutputFormat,
    SourceResult,
    UpdateStatus,
    UsageResponse,
)


def blocking(client: sync.Client) -> None:
    job = client.update_sov("s-1", "fix.csv", output_formats=["JSON"])
    assert_type(job, sync.UpdateJob)
    assert_type(job.wait(timeout=60), UpdateStatus)
    assert_type(job.download("out"), list[Path])
    assert_type(job.token, str)
    assert_type(client.list_output_formats(sovid="s-1"), list[OutputFormat])
    assert_type(client.usage(start="-30d"), UsageResponse)
    assert_type(client.enhance(sources=["PG"], address="1 Main St"), EnhanceResponse)
    assert_type(client.history(page_size=10), sync.HistoryFeed)  # an Iterator[HistoryRecord]
    records: Iterator[HistoryRecord] = client.history(page_size=10)
    assert_type(next(records), HistoryRecord)
    run = client.bulk_enhance("locations.csv", sources=["PG"])
    assert_type(run, sync.BulkEnhanceRun)
    assert_type(run.wait(), BulkRunStatus)
    assert_type(run.results(), Iterator[tuple[str, dict[str, SourceResult]]])
    outputs = [client.get_or_create_output("s-1", "JSON")]
    assert_type(list(client.as_completed(outputs)), list[sync.OutputJob])
    assert_type(list(sync.as_completed(outputs)), list[sync.OutputJob])
    client.close()


async def asynchronous(client: sovfixer_async.Client) -> None:
    job = await client.update_sov("s-1", "fix.csv", output_formats=["JSON"])
    assert_type(job, sovfixer_async.UpdateJob)
    assert_type(await job.wait(), UpdateStatus)
    run = await client.bulk_enhance("locations.csv", sources=["PG"])
    assert_type(await run.wait(), BulkRunStatus)
    async for record in client.history():
        assert_type(record, HistoryRecord)


def blocking_parity(client: sync.Client) -> str | None:
    from sovfixer_async import PollPolicy
    from sovfixer_async.models import Building, ServerInfo

    job = client.update_sov("s-1", ["a.csv", "b.csv"], metadata={"Name": "n"}, username="me")
    assert_type(job.wait(timeout=60, poll=PollPolicy.fast()), UpdateStatus)
    submission = client.create_submission("SOV", client_ref="r")
    assert_type(submission, sync.UpdateJob)
    assert_type(client.server_info(), ServerInfo)
    assert_type(client.get_building("i-1"), Building)
    assert_type(client.update_job("s-1-r001"), sync.UpdateJob)
    assert_type(client.parse_job("s-1"), sync.ParseJob)
    assert_type(client.output_job("u"), sync.OutputJob)
    assert_type(client.bulk_job("u"), sync.BulkEnhanceBatch)
    feed = client.history(follow=True, interval=30)
    for record in feed:
        assert_type(record, HistoryRecord)
        break
    return feed.cursor


def data_parity_blocking(client: sync.Client) -> None:
    from sovfixer_async import RawResponse, SOVFixerError
    from sovfixer_async.models import DatasourceConfig, SourceAccessPolicy

    assert_type(client.get_datasource("GG"), DatasourceConfig)
    assert_type(client.limits(), SourceAccessPolicy)
    assert_type(client.enhance_many(["1 Main St"], sources=["GG"]), list[EnhanceResponse])
    assert_type(
        client.enhance_many(["1 Main St"], sources=["GG"], return_exceptions=True),
        list[EnhanceResponse | SOVFixerError],
    )
    assert_type(client.request("GET", "/api/v1/limits", api="data"), RawResponse)
    assert_type(client.usage(org_short_name="ACME"), UsageResponse)


def blocking_ledger(client: sync.Client) -> None:
    from sovfixer_async.ledger import HeldItem, LedgerStatus, PlannedRun

    with sync.Ledger.open("sqlite:///jobs.db", pool_size=2) as ledger:
        assert_type(ledger, sync.Ledger)
        assert_type(ledger.plan_parse("book.xlsx", output_formats=["JSON"]), int)
        assert_type(ledger.plan_update("s-1", "fix.csv", client_ref="r"), int)
        assert_type(ledger.plan_output("s-1", "JSON", revision=2), int)
        run = ledger.plan_enhance("locations.csv", sources=["PG"], batch_size=500)
        assert_type(run, PlannedRun)
        ledger.work(client, "out", exit_when_done=True, concurrency=4, max_jobs={"parse": 2})
        assert_type(ledger.status(), LedgerStatus)
        assert_type(ledger.held(), list[HeldItem])
        ledger.resolve(1, adopt="job-1")
        ledger.resolve(2, resubmit=True)
        assert_type(ledger.prune(older_than=86400), int)
        results = ledger.results(run.run_id)
        assert_type(results, Iterator[tuple[str, dict[str, SourceResult]]])
    ledger.close()
