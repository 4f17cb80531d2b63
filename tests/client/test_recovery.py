"""Issue 12: no job lost between the requests of one submission.

An update whose ``add_locations`` or ``start`` fails is finished through ``error.handle``
(or, after a cancellation, through the ``JobSubmitted`` token); an ambiguous parse or
update is found again by ``client.reconcile`` through its ``client_ref``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

from sovfixer_async import (
    AmbiguousSubmissionError,
    Client,
    DuplicateClientRefError,
    Event,
    InvalidInputError,
    JobSubmitted,
    ParseJob,
    SOVFixerError,
    UpdateJob,
)

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ROWS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Recovered\n"
ADD = "POST /api/v1/sov/update/*/add_locations"
PDF = b"%PDF-1.4 nothing"


async def updates_of(emulator: Any) -> int:
    return int((await emulator.stats())["jobs_created"].get("update", 0))


@pytest.mark.parametrize("action", ["400", "503 times=20", "reset", "ambiguous"])
async def test_an_update_whose_add_locations_fails_is_finished_through_error_handle(
    emulator: Any, make_client: Any, action: str
) -> None:
    emulator.add_route_fault(f"{ADD} {action}" + ("" if "times" in action else " times=1"))
    async with make_client() as client:
        with pytest.raises(SOVFixerError) as info:
            await client.update_sov(SOVID, ROWS)
        error = info.value
        job = error.handle
        assert isinstance(job, UpdateJob)
        assert job.stage == "initiated"
        assert any("error.handle.add_locations" in note for note in error.__notes__)
        assert job.id in "".join(error.__notes__)
        emulator.clear_route_faults()
        await job.add_locations(ROWS)
        assert job.stage == "locations_sent"
        await job.start()
        assert job.stage == "started"
        status = await job.wait(timeout=30)
    assert status.state == "COMPLETE"
    assert await updates_of(emulator) == 1  # finished, not made again


async def unstarted_update(emulator: Any, client: Client, **options: Any) -> UpdateJob:
    """An update whose start the server refused once: the handle its error carries."""
    emulator.add_route_fault("POST /api/v1/sov/update/*/start 400 times=1")
    with pytest.raises(SOVFixerError) as info:
        await client.update_sov(SOVID, ROWS, **options)
    job = info.value.handle
    assert isinstance(job, UpdateJob)
    return job


async def test_an_update_whose_start_fails_is_started_in_another_client(
    emulator: Any, make_client: Any
) -> None:
    async with make_client() as first:
        job = await unstarted_update(emulator, first, output_formats=["JSON"])
        assert job.stage == "locations_sent"
        token = job.token
    assert json.loads(token)["stage"] == "locations_sent"
    async with make_client() as second:
        again = second.resume(token)
        assert isinstance(again, UpdateJob)
        assert (again.stage, again.client_ref) == ("locations_sent", job.client_ref)
        await again.start(output_formats=["JSON"])
        assert (await again.wait(timeout=30)).state == "COMPLETE"
        assert again.status is not None
        assert [(o.filename or "").endswith(".json") for o in again.status.outputs] == [True]
    assert await updates_of(emulator) == 1


async def test_an_update_is_polled_from_its_start_not_its_initiate(
    emulator: Any, make_client: Any
) -> None:
    # the server's job runs from the start request: the poll schedule's ages count from it
    async with make_client() as client:
        job = await unstarted_update(emulator, client)
        initiated = job._submitted
        await anyio.sleep(0.05)
        before_start = time.monotonic()
        await job.start()
        assert job._submitted >= before_start > initiated
        assert (await job.wait(timeout=30)).state == "COMPLETE"


async def test_a_start_answered_already_started_counts_as_success(
    emulator: Any, client: Client
) -> None:
    job = await client.update_sov(SOVID, ROWS)
    await job.start()  # the server answers 409: the update is started, as asked
    assert job.stage == "started"
    assert (await job.wait(timeout=30)).state == "COMPLETE"
    counts = await emulator.stats()
    assert counts["responses_by_status"].get("409") == 1
    with pytest.raises(InvalidInputError, match="already started"):
        await job.add_locations(ROWS)


async def test_a_cancelled_update_is_announced_and_finished_from_its_token(
    emulator: Any, make_client: Any
) -> None:
    seen: list[Event] = []
    async with make_client() as client:
        with anyio.CancelScope() as scope:

            def on_event(event: Event) -> None:
                seen.append(event)
                if isinstance(event, JobSubmitted):
                    scope.cancel()  # Ctrl-C between initiate_update and add_locations

            client.subscribe(on_event)
            await client.update_sov(SOVID, ROWS)
        assert scope.cancelled_caught
        [submitted] = [e for e in seen if isinstance(e, JobSubmitted)]
        assert submitted.token is not None
        job = client.resume(submitted.token)
        assert isinstance(job, UpdateJob)
        assert job.stage == "initiated"
        await job.add_locations(ROWS)
        await job.start()
        assert (await job.wait(timeout=30)).state == "COMPLETE"
    assert await updates_of(emulator) == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"stage": "done"},
        {"stage": 3},
        {"client_ref": ""},
        {"client_ref": "x" * 257},
        {"client_ref": "a\nb"},
        {"client_ref": ["r"]},
    ],
)
async def test_hostile_update_and_parse_token_fields_are_input_errors(
    client: Client, extra: dict[str, Any]
) -> None:
    for kind in ("update", "parse"):
        if kind == "parse" and "stage" in extra:
            continue
        token = json.dumps({"v": 2, "kind": kind, "id": "x-1", "api": "extraction", **extra})
        with pytest.raises(InvalidInputError, match="token"):
            client.resume(token)


# -- reconciliation ---------------------------------------------------------------------


async def test_reconcile_finds_an_ambiguous_parse(emulator: Any, make_client: Any) -> None:
    async with make_client(reconcile_grace=0.01) as client:
        await client.parse_sov(PDF, filename="decoy.pdf", client_ref="acme-2026")
        await client.parse_sov(PDF, filename="decoy.pdf", client_ref="ACME-2026-b")
        emulator.add_route_fault("POST /api/v1/sov ambiguous times=1")
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.parse_sov(PDF, filename="sov.pdf", client_ref="acme-2026-b")
        error = info.value
        assert (error.kind, error.client_ref) == ("parse", "acme-2026-b")  # type: ignore[attr-defined]
        assert any("client.reconcile" in note for note in error.__notes__)
        found = await client.reconcile(error)
        assert isinstance(found, ParseJob)
        assert found.client_ref == "acme-2026-b"
        status = await found.refresh()
        assert status is not None
    counts = await emulator.stats()
    assert counts["jobs_created"]["parse"] == 3  # the ambiguous one was not made twice
    assert counts["requests_by_route"]["GET /api/v1/sov/activity"] == 1  # found at once


async def test_reconcile_finds_an_ambiguous_update_and_it_is_finished(
    emulator: Any, make_client: Any
) -> None:
    async with make_client(reconcile_grace=0.01) as client:
        other = await client.update_sov(SOVID, ROWS)  # another update of the same SOV
        emulator.add_route_fault("POST /api/v1/sov/*/initiate_update ambiguous times=1")
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.update_sov(SOVID, ROWS)
        error = info.value
        assert error.handle is None
        assert error.sovid == SOVID  # type: ignore[attr-defined]
        found = await client.reconcile(error)
        assert isinstance(found, UpdateJob)
        assert found.id != other.id
        assert found.client_ref == error.client_ref  # type: ignore[attr-defined]
        await found.add_locations(ROWS)
        await found.start()
        assert (await found.wait(timeout=30)).state == "COMPLETE"
    assert await updates_of(emulator) == 2  # other, and the ambiguous one: no third


async def test_reconcile_answers_none_only_after_a_second_look(
    emulator: Any, make_client: Any
) -> None:
    emulator.add_route_fault("POST /api/v1/sov 502 times=1")  # refused before any work
    async with make_client(reconcile_grace=0.01) as client:
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.parse_sov(PDF, filename="sov.pdf")
        assert info.value.client_ref.startswith("sovfixer-async-")  # type: ignore[attr-defined]
        assert await client.reconcile(info.value) is None
    counts = await emulator.stats()
    assert counts["requests_by_route"]["GET /api/v1/sov/activity"] == 2
    assert counts["jobs_created"].get("parse", 0) == 0


async def test_a_reused_client_ref_is_a_typed_error_listing_the_jobs(
    emulator: Any, make_client: Any
) -> None:
    async with make_client(reconcile_grace=0.01) as client:
        first = await client.parse_sov(PDF, filename="a.pdf", client_ref="reused")
        emulator.add_route_fault("POST /api/v1/sov ambiguous times=1")
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.parse_sov(PDF, filename="b.pdf", client_ref="reused")
        with pytest.raises(DuplicateClientRefError) as dup:
            await client.reconcile(info.value)
    assert first.id in dup.value.job_ids
    assert len(dup.value.job_ids) == 2
    assert dup.value.client_ref == "reused"


async def test_what_cannot_be_reconciled_says_so(emulator: Any, client: Client) -> None:
    emulator.add_route_fault("POST /api/v1/sov/*/get_or_create_output ambiguous times=1")
    with pytest.raises(AmbiguousSubmissionError) as info:
        await client.get_or_create_output(SOVID, "JSON", overwrite_existing=True)
    with pytest.raises(InvalidInputError, match="no client_ref"):
        await client.reconcile(info.value)
    with pytest.raises(InvalidInputError, match="AmbiguousSubmissionError"):
        await client.reconcile(ValueError("x"))  # type: ignore[arg-type]


async def test_an_ambiguous_add_locations_reconciles_to_its_handle(
    emulator: Any, client: Client
) -> None:
    emulator.add_route_fault(f"{ADD} ambiguous times=1")
    with pytest.raises(AmbiguousSubmissionError) as info:
        await client.update_sov(SOVID, ROWS)
    assert await client.reconcile(info.value) is info.value.handle


async def test_reconcile_against_an_endless_activity_feed_ends(emulator: Any) -> None:
    from aiohttp import web

    from .conftest import client_for
    from .hostile import Forward, json_response, proxy

    pages = 0

    async def hook(request: web.Request, forward: Forward) -> web.StreamResponse:
        nonlocal pages
        if request.path == "/api/v1/sov" and request.method == "POST":
            await forward()  # made, then the answer lost
            return json_response({"message": "bad gateway"}, status=502)
        if request.path == "/api/v1/sov/activity":
            pages += 1
            ref = request.query.get("search", "")
            near = [{"id": f"s-{pages}-{n}", "client_ref": ref.upper()} for n in range(250)]
            return json_response({"results": near, "cursor_id": f"c{pages}", "has_remaining": True})
        return (await forward()).response()

    async with (
        proxy(emulator.url, hook) as hostile,
        client_for(hostile.url, reconcile_grace=0.01) as client,
    ):
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.parse_sov(PDF, filename="sov.pdf", client_ref="Exact-Ref")
        assert await client.reconcile(info.value) is None  # near misses never match
    assert pages == 2 * 5000 // 250  # two bounded look-ups


async def test_an_unreadable_answer_to_an_update_is_ambiguous_and_reconciled(
    emulator: Any,
) -> None:
    from aiohttp import web

    from .conftest import client_for
    from .hostile import Forward, proxy

    async def hook(request: web.Request, forward: Forward) -> web.StreamResponse:
        answer = await forward()
        if request.path.endswith("/initiate_update"):
            return answer.response(body=b'{"id": 7')  # made, and the answer garbled
        return answer.response()

    async with (
        proxy(emulator.url, hook) as hostile,
        client_for(hostile.url, reconcile_grace=0.01) as client,
    ):
        with pytest.raises(AmbiguousSubmissionError) as info:
            await client.update_sov(SOVID, ROWS)
        found = await client.reconcile(info.value)
        assert isinstance(found, UpdateJob)
        await found.add_locations(ROWS)
        await found.start()
        assert (await found.wait(timeout=30)).state == "COMPLETE"
    assert await updates_of(emulator) == 1
