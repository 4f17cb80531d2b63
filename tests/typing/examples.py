"""Typing examples of the public API, checked by ``mypy --strict`` (never run).

Typical user code, written as users write it: every ``assert_type`` states what an editor
and mypy must infer. A change of a public signature or return type breaks this file, so
such a change is a decision, not an accident (as stamina's ``tests/typing`` does).

Check with: ``mypy --strict tests/typing``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, assert_type

import pytest

from sovfixer_async import (
    AmbiguousSubmissionError,
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BulkEnhanceBatch,
    BulkEnhanceRun,
    BulkRunStatus,
    Client,
    ClientConfig,
    ConflictError,
    DestinationExistsError,
    DownloadError,
    DownloadFinished,
    DownloadProgress,
    Event,
    InternalServerError,
    InvalidInputError,
    JobCompleted,
    JobFailed,
    JobFailedEvent,
    JobHandle,
    JobProgress,
    JobStatusChanged,
    JobSubmitted,
    JobTimeout,
    NotFoundError,
    OutputJob,
    ParseJob,
    PollPolicy,
    RateLimitError,
    RetryPolicy,
    SOVFixerError,
    TransportStats,
    UpdateJob,
    WebhookReceiver,
    as_completed,
)
from sovfixer_async.emulator import EmulatorSettings, RunningEmulator, run_emulator
from sovfixer_async.models import (
    BulkEnhanceStatus,
    EnhanceResponse,
    HistoryRecord,
    Output,
    OutputFormat,
    OutputStatus,
    ParseStatus,
    SourceResult,
    SOVData,
    UpdateStatus,
    UsageResponse,
)
from sovfixer_async.testing import EmulatorFactory, client_on

SOVID = "s-no-ping-hggcsk"
ROWS = [{"item_key": "i-s-no-ping-hggcsk!Sheet1!2", "bldg_name": "HQ"}]


# -- a client, made with keywords --------------------------------------------------------


def make_client() -> Client:
    client = Client(
        api_url="https://api.example",
        data_api_url="https://data.example",
        token="secret",
        max_connections=32,
        retry=RetryPolicy(attempts=5, backoff_initial=0.5),
        poll=PollPolicy(initial=1.0, max_interval=30.0),
    )
    assert_type(client.config, ClientConfig)
    assert_type(client.config.retry, RetryPolicy)
    assert_type(client.stats, TransportStats)
    return client


def make_client_from_config() -> Client:
    config = ClientConfig(api_url="https://api.example", data_api_url="https://data.example")
    return Client(config=config, poll=PollPolicy.fast(), retry=RetryPolicy.no_wait())


# -- each kind of job: submit, wait, download --------------------------------------------


async def update(client: Client, dest: Path) -> list[Path]:
    job = await client.update_sov(SOVID, ROWS, output_formats=["json"], client_ref="ticket-1")
    assert_type(job, UpdateJob)
    assert_type(job.id, str)
    assert_type(job.token, str)
    assert_type(job.done, bool)
    assert_type(job.state, str | None)
    status = await job.wait(timeout=600)
    assert_type(status, UpdateStatus)
    assert_type(status.done, bool)
    assert_type(status.progress, float | None)
    assert_type(status.outputs, list[Output])
    assert_type(await job.refresh(), UpdateStatus)
    files = await job.download(dest, overwrite=True)
    assert_type(files, list[Path])
    return files


async def update_from_csv(client: Client) -> UpdateStatus:
    from_path = await client.update_sov(SOVID, Path("locations.csv"))
    from_bytes = await client.update_sov(SOVID, b"item_key,bldg_name\nk,HQ\n")
    assert_type(from_bytes, UpdateJob)
    return await from_path.wait()


async def output(client: Client, dest: Path) -> Path:
    job = await client.get_or_create_output(SOVID, "json", revision=-1)
    assert_type(job, OutputJob)
    status = await job.wait()
    assert_type(status, OutputStatus)
    for file in status.outputs:
        assert_type(file.url, str)
        assert_type(file.filename, str | None)
    (path,) = await job.download(dest)
    return path


async def parse(client: Client) -> str | None:
    job = await client.parse_sov(Path("sov.xlsx"), document_type="SOV", client_ref="ref-9")
    assert_type(job, ParseJob)
    also = await client.parse_sov(b"...", filename="sov.xlsx")
    assert_type(also, ParseJob)
    status = await job.wait(timeout=math.inf)
    assert_type(status, ParseStatus)
    return status.state


async def bulk(client: Client, dest: Path) -> int:
    run = await client.bulk_enhance(
        Path("locations.csv"), sources=["PG", "GG"], batch_size=500, concurrency=4
    )
    assert_type(run, BulkEnhanceRun)
    assert_type(run.token, str)
    assert_type(run.batches, list[BulkEnhanceBatch])
    status = await run.wait(timeout=3600)
    assert_type(status, BulkRunStatus)
    assert_type(run.done, bool)  # the server work is over
    assert_type(run.merged, bool)  # the results are merged on disk
    assert_type(status.num_completed, int)
    assert_type(status.batches, tuple[BulkEnhanceStatus | None, ...])
    count = 0
    async for location_id, by_source in run.results():
        assert_type(location_id, str)
        assert_type(by_source, dict[str, SourceResult])
        count += 1
    assert_type(await run.download(dest), list[Path])
    return count


async def enhance_one(client: Client) -> bool | None:
    answer = await client.enhance(sources=["PG"], address="1 Main St, Miami FL")
    assert_type(answer, EnhanceResponse)
    return answer.location_data["PG"].is_success


async def read_only_calls(client: Client) -> None:
    assert_type(await client.list_output_formats(), list[OutputFormat])
    assert_type(await client.usage(start="2026-01-01"), UsageResponse)
    async for record in client.history(page_size=100):
        assert_type(record, HistoryRecord)
    async for sov in client.activity(search="acme"):
        assert_type(sov, SOVData)
    assert_type(await client.download("https://x.example/f.json", Path("out")), Path)


# -- many jobs at once, and resuming ---------------------------------------------------


async def fleet(client: Client) -> list[str]:
    jobs = [await client.get_or_create_output(SOVID, fmt) for fmt in ("json", "xlsx")]
    finished: list[str] = []
    async for job in as_completed(jobs, timeout=600):
        assert_type(job, OutputJob)
        finished.append(job.id)
    return finished


async def resume(client: Client, token: str) -> None:
    handle = client.resume(token)
    assert_type(handle, JobHandle[Any] | BulkEnhanceRun)
    if isinstance(handle, BulkEnhanceRun):
        assert_type(await handle.wait(), BulkRunStatus)
    elif isinstance(handle, UpdateJob):
        assert_type(await handle.wait(), UpdateStatus)
    else:
        await handle.wait()


# -- errors, caught by class, read by attribute ------------------------------------------


async def errors(client: Client, token: str) -> str:
    try:
        job = await client.update_sov(SOVID, ROWS)
        await job.wait(timeout=60)
    except JobFailed as exc:
        assert_type(exc.job_id, str | None)
        assert_type(exc.result_status, str | None)
        return exc.message or "failed"
    except JobTimeout as exc:
        assert_type(exc.token, str)
        assert_type(exc.waited, float)
        client.resume(exc.token)
        return "later"
    except BadRequestError as exc:
        assert_type(exc.allowed_formats, tuple[str, ...])
        return exc.message
    except RateLimitError as exc:
        assert_type(exc.retry_after, float | None)
        return "slow down"
    except (AuthenticationError, NotFoundError, ConflictError, InternalServerError) as exc:
        assert_type(exc.status, int)
        assert_type(exc.request_id, str | None)
        return exc.body
    except APIError as exc:
        return f"{exc.status}: {exc.message}"
    except AmbiguousSubmissionError as exc:
        return str(exc)
    except APIConnectionError as exc:
        return str(exc)
    except InvalidInputError as exc:
        return str(exc)
    except DestinationExistsError as exc:
        assert_type(exc.path, str)
        return exc.path
    except DownloadError as exc:
        assert_type(exc.bytes_received, int)
        return exc.url
    except SOVFixerError as exc:
        return str(exc)
    return "ok"


# -- events ----------------------------------------------------------------------------


def on_event(event: Event) -> None:
    match event:
        case JobSubmitted(kind=kind, job_id=job_id, token=token):
            assert_type(kind, str)
            assert_type(job_id, str)
            assert_type(token, str | None)
        case JobStatusChanged(state=state, previous=previous):
            assert_type(state, str)
            assert_type(previous, str | None)
        case JobProgress(progress=progress):
            assert_type(progress, float | None)
        case JobCompleted() | JobFailedEvent():
            pass
        case DownloadProgress(bytes_done=done, total=total):
            assert_type(done, int)
            assert_type(total, int | None)
        case DownloadFinished(path=path, sha256=digest):
            assert_type(path, Path)
            assert_type(digest, str)


async def events(client: Client) -> None:
    client.subscribe(on_event)
    stream = client.events()
    assert_type(stream, AsyncIterator[Event])
    async for event in stream:
        on_event(event)


async def with_callbacks() -> None:
    async with (
        Client(api_url="https://a.example", data_api_url="https://d.example", token="t") as client,
        client.webhook_receiver(port=8080, public_url="https://me.example/hooks") as hooks,
    ):
        assert_type(hooks, WebhookReceiver)
        job = await client.update_sov(SOVID, ROWS, callback_url=hooks)
        await job.wait()


# -- the emulator and the pytest plugin --------------------------------------------------


async def emulated() -> None:
    async with run_emulator(job_seconds=0.2, token="secret") as emu:
        assert_type(emu, RunningEmulator)
        assert_type(emu.url, str)
        assert_type(emu.settings, EmulatorSettings)
        assert_type(await emu.stats(), dict[str, Any])
        assert_type(emu.set_faults(fault_rate=0.1), dict[str, float])
        async with client_on(emu) as client:
            assert_type(client, Client)


@pytest.mark.anyio
async def test_with_plugin(
    sovfixer_client: Client,
    sovfixer_emulator: RunningEmulator,
    sovfixer_emulator_factory: EmulatorFactory,
) -> None:
    job = await sovfixer_client.update_sov(SOVID, ROWS)
    await job.wait()
    faulty = await sovfixer_emulator_factory(fault_rate=0.3, seed=1)
    assert_type(faulty, RunningEmulator)
    assert_type(sovfixer_emulator_factory.start(token="x"), RunningEmulator)
    assert (await sovfixer_emulator.stats())["jobs_created"]["update"] == 1


# -- issue 14, Ping.Extraction parity (parity-x) ------------------------------------------


async def extraction_parity(client: Client) -> str | None:
    import sovfixer_async
    from sovfixer_async import models

    delegated = Client(token="t", delegate_to_team="team-uuid")
    assert_type(delegated.config.delegate_to_team, str | None)
    update_job = await client.update_sov(
        SOVID,
        [Path("part-1.csv"), Path("part-2.csv")],
        metadata={"UserInfo": {"UserName": "me"}},
        username="me",
        delegate_to_team="team-uuid",
        extra_fields={"skip_prior_update_reuse": True},
    )
    assert_type(await update_job.wait(timeout=60, poll=PollPolicy.fast()), UpdateStatus)
    parse_job = await client.parse_sov(
        ["a.xlsx", "b.xlsx"], company="acme", team="uw", allow_ping_data_api=False
    )
    assert_type(parse_job, ParseJob)
    out = await client.get_or_create_output(SOVID, "JSON", delegate_to_team=42)
    assert_type(out, OutputJob)
    submission = await client.create_submission("SOV", client_ref="ref-1", filename="x.xlsx")
    assert_type(submission, UpdateJob)
    await submission.add_locations(ROWS)
    assert_type(await submission.start(metadata={"Name": "n"}), UpdateJob)
    assert_type(await client.server_info(), models.ServerInfo)
    assert_type(await client.add_building(SOVID, {"bldg_name": "x"}), models.BuildingAdded)
    assert_type(await client.get_building("i-x!Sheet1!2"), models.Building)
    assert_type((await client.get_public_shareable_url(SOVID)).url, str)
    assert_type(client.update_job("s-1-r001"), UpdateJob)
    assert_type(client.parse_job("s-1"), ParseJob)
    assert_type(client.output_job("uuid"), OutputJob)
    assert_type(client.bulk_job("uuid"), BulkEnhanceBatch)
    async for sov in client.activity(
        company__short_name=["acme"], completed_time__gte="20240101000000", pingid="p"
    ):
        assert_type(sov, SOVData)
    feed = client.history(follow=True, interval=30)
    assert_type(feed, sovfixer_async.HistoryFeed)
    async for record in feed:
        assert_type(record, HistoryRecord)
        break
    return feed.cursor


# -- issue 14: Ping.Data parity, the raw escape hatch, networks ----------------------------


async def data_parity(client: Client) -> None:
    from sovfixer_async import RawResponse
    from sovfixer_async.models import DatasourceConfig, SourceAccessPolicy, SourceQuota

    assert_type(await client.get_datasource("GG", delegate_to="ACME"), DatasourceConfig)
    policy = await client.limits(org_short_name="ACME")
    assert_type(policy, SourceAccessPolicy)
    assert_type(policy.sources, dict[str, SourceQuota])
    assert_type(policy.allows("GG"), bool)
    assert_type(await client.usage(org_short_name="ACME", delegate_to="ACME"), UsageResponse)
    one = await client.enhance(
        address="1 Main St", country="US", sources=["GG"], timeout=42, delegate_to="ACME"
    )
    assert_type(one, EnhanceResponse)
    many = await client.enhance_many(
        ["1 Main St", {"latitude": 1.0, "longitude": 2.0}], sources=["GG"]
    )
    assert_type(many, list[EnhanceResponse])
    each = await client.enhance_many(["1 Main St"], sources=["GG"], return_exceptions=True)
    assert_type(each, list[EnhanceResponse | SOVFixerError])
    run = await client.bulk_enhance(
        "locations.csv", sources=["PG"], check_quota=False, extra_fields={"note": "x"}
    )
    assert_type(run, BulkEnhanceRun)
    raw = await client.request("GET", "/api/v1/limits", api="data", params={"username": "a"})
    assert_type(raw, RawResponse)
    assert_type(raw.status, int)
    assert_type(raw.json(), Any)
    assert_type(raw.read(), bytes)
    posted = await client.request("POST", "/api/v1/sov", data={"a": "b"}, idempotent=False)
    assert_type(posted.headers.get("Content-Type"), str | None)


def corporate_network(ca_bundle: Path) -> Client:
    import ssl

    import aiohttp

    trace = aiohttp.TraceConfig()
    by_path = Client(ssl=ca_bundle, proxy="http://proxy.corp:3128", trace_configs=[trace])
    assert_type(by_path.config.ssl, ssl.SSLContext | Path | None)
    assert_type(by_path.config.trust_env, bool)
    return Client(ssl=ssl.create_default_context(), trust_env=False, delegate_to="ACME")


# -- the durable ledger (many workers) ---------------------------------------------------


async def ledger_work(client: Client) -> None:
    from sovfixer_async.ledger import HeldItem, Ledger, LedgerStatus, PlannedRun
    from sovfixer_async.models import SourceResult

    async with await Ledger.open("sqlite:///jobs.db") as ledger:
        assert_type(ledger, Ledger)
        assert_type(await ledger.plan_parse("book.xlsx", output_formats=["JSON"]), int)
        assert_type(await ledger.plan_update(SOVID, "rows.csv"), int)
        assert_type(await ledger.plan_output(SOVID, "JSON"), int)
        run = await ledger.plan_enhance("locations.csv", sources=["PG"], batch_size=500)
        assert_type(run, PlannedRun)
        await ledger.work(client, "out", concurrency=8, exit_when_done=True, max_jobs={"parse": 10})
        assert_type(await ledger.status(), LedgerStatus)
        held = await ledger.held()
        assert_type(held, list[HeldItem])
        for item in held:
            await ledger.resolve(item.id, resubmit=True)
        async for location_id, by_source in ledger.results(run.run_id):
            assert_type(location_id, str)
            assert_type(by_source, dict[str, SourceResult])
        assert_type(await ledger.prune(older_than=7 * 86400), int)
