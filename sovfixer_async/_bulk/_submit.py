"""Batch preparation and submission: every location checked and written before the first
request, then the batches sent with bounded concurrency; and a run rebuilt from its token.

A batch the server refuses does not stop the others: it stays pending (its body kept in
the run's state folder until the server accepts it); one whose submission is ambiguous is
listed as unknown and never resent silently. ``bulk_enhance`` returns the run when at
least one batch was accepted.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
from attrs import frozen

from sovfixer_async import _downloads
from sovfixer_async._bulk import _files
from sovfixer_async._bulk._manifest import (
    ACCEPTED,
    PENDING,
    SENDING,
    UNKNOWN,
    RunState,
    prune_sometimes,
)
from sovfixer_async._bulk._run import BulkEnhanceRun
from sovfixer_async._bulk._slots import (
    BatchSlot,
    apply_manifest,
    manifest_of,
    slots_from_token,
)
from sovfixer_async._context import JobContext
from sovfixer_async._errors import (
    AmbiguousSubmissionError,
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    PermissionDeniedError,
    SOVFixerError,
)
from sovfixer_async._events import JobSubmitted
from sovfixer_async._jobs import BulkEnhanceBatch
from sovfixer_async._locations import LocationsInput, bulk_locations
from sovfixer_async._recovery import carry
from sovfixer_async._transport import Safety
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async.models import CreatedResponse, ResponseShapeError
from sovfixer_async.models._requests import bulk_enhance_body

#: A refusal that every other batch would meet too: the rest are left pending, not tried.
_CANNOT_SUBMIT = (AuthenticationError, PermissionDeniedError, ConfigurationError)


@frozen
class BulkOptions:
    """The top-level fields of every batch body (contract 4.1)."""

    sources: tuple[str, ...]
    include_raw_response: bool = False
    check_cache: bool = True
    timeout: float | None = None
    callback_url: str | None = None
    #: Organisation the batches act for, and extra top-level fields (issue 14).
    delegate_to: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    def body(self, locations: list[dict[str, Any]]) -> dict[str, Any]:
        return bulk_enhance_body(
            locations,
            self.sources,
            include_raw_response=self.include_raw_response,
            check_cache=self.check_cache,
            timeout=self.timeout,
            callback_url=self.callback_url,
            delegate_to=self.delegate_to,
            extra_fields=dict(self.extra),
        )


def check_run_id(value: object) -> str:
    """A bulk run id is a canonical UUID (the SDK makes them); anything else is refused."""
    try:
        canonical = str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        canonical = None
    if canonical is None or canonical != value:
        raise InvalidInputError("a bulk run id is a UUID", field="token.id")
    return canonical


async def start_run(
    context: JobContext,
    locations: LocationsInput,
    options: BulkOptions,
    *,
    batch_size: int,
    concurrency: int,
    known_sources: frozenset[str] | None = None,
    receiver: WebhookReceiver | None = None,
    before_send: Callable[[Mapping[str, int]], Awaitable[None]] | None = None,
) -> BulkEnhanceRun:
    """Validate and batch every location on disk, then submit the batches: the run.

    ``before_send`` gets the locations per source code once every batch is prepared and
    before the first is sent (the quota check); what it raises ends the run unsent.
    Raises (with ``error.handle`` the run) only when no batch was accepted.
    """
    config = context.config
    await anyio.to_thread.run_sync(prune_sometimes, config.state_dir, config.state_max_age)
    run_id = str(uuid.uuid4())
    state = RunState(config.state_dir, run_id)
    work_dir = context.folders.run_dir(run_id)
    try:
        state.create()
        tally: Counter[str] = Counter()
        counts = await prepare_batches(
            locations,
            options,
            batch_size,
            state.dir,
            known_sources,
            ids_dir=state.dir,
            tally=tally,
        )
        if before_send is not None:
            await before_send(tally)
        slots = [BatchSlot(n, PENDING, count) for n, count in enumerate(counts, start=1)]
        state.write_manifest(manifest_of(slots, options.sources))
    except BaseException:
        context.folders.discard(work_dir)
        state.remove()
        raise
    run = BulkEnhanceRun(context, run_id, slots, work_dir, state, options.sources)
    errors = await send_slots(run, slots, concurrency, receiver)
    if not run.batches:
        error = errors[0] if errors else SOVFixerError(f"bulk run {run_id}: nothing accepted")
        carry(
            error,
            run,
            f"bulk run {run_id}: no batch was accepted ({len(run.pending)} pending, "
            f"{len(run.unknown)} unknown); `await error.handle.submit_pending()` sends the "
            "pending ones again (their bodies are kept), here or after client.resume(token) "
            f"with token {run.token}",
        )
        raise error
    return run


async def prepare_batches(
    locations: LocationsInput,
    options: BulkOptions,
    batch_size: int,
    work_dir: Path,
    known_sources: frozenset[str] | None = None,
    *,
    ids_dir: Path | None = None,
    tally: Counter[str] | None = None,
) -> list[int]:
    """Validate every location and write one batch body per ``batch_size`` locations
    (``body-NNNNN.json``) and, into ``ids_dir``, its location ids; the batches' sizes.
    ``tally`` counts the locations per source code (a location's own, else the run's)."""
    if batch_size < 1:
        raise InvalidInputError("must be >= 1", field="batch_size")
    counts: list[int] = []
    pending: list[dict[str, Any]] = []

    async def flush() -> None:
        number = len(counts) + 1
        path = work_dir / f"body-{number:05d}.json"
        data = json.dumps(options.body(pending), separators=(",", ":")).encode()
        ids = json.dumps([loc["id"] for loc in pending], separators=(",", ":")).encode()
        if len(data) > _files.INLINE_WRITE_BYTES:
            await anyio.to_thread.run_sync(_downloads.write_bytes_atomic, path, data)
        else:
            # A worker-thread round trip waits a whole turn of a busy loop (~30 ms among
            # 700 other submissions): 20 batches took 0.6 s that way, not 0.05 s.
            _downloads.write_bytes_atomic(path, data)
        if ids_dir is not None:
            _downloads.write_bytes_atomic(ids_dir / f"ids-{number:05d}.json", ids)
        counts.append(len(pending))
        pending.clear()

    index = with_own = 0
    async for location in bulk_locations(locations):
        own = location.get("sources")
        if own is not None and known_sources is not None:
            unknown = sorted(set(own) - known_sources)
            if unknown:
                raise InvalidInputError(
                    f"unknown datasource code(s) {', '.join(unknown)}",
                    field=f"locations[{index}].sources",
                )
        index += 1
        if own is not None and tally is not None:
            tally.update(own)
            with_own += 1
        pending.append(location)
        if len(pending) >= batch_size:
            await flush()
    if pending:
        await flush()
    if tally is not None:  # the locations without sources of their own use the run's
        default_users = sum(counts) - with_own
        tally.update(dict.fromkeys(options.sources, default_users))
    return counts


async def send_slots(
    run: BulkEnhanceRun,
    slots: list[BatchSlot],
    concurrency: int,
    receiver: WebhookReceiver | None,
) -> list[SOVFixerError]:
    """POST the bodies of ``slots`` (at most ``concurrency`` at once); the errors met.

    Each batch ends accepted, pending or unknown, recorded in the state folder's journal
    as it goes and in its manifest at the end, whatever the end (a cancellation included:
    a batch in flight then is unknown). Each accepted batch is announced by a
    ``JobSubmitted`` event, and the run by one (with its token) once all were sent.
    """
    context, state = run._rt, run.state_folder
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    errors: list[SOVFixerError] = []
    stop: list[SOVFixerError] = []
    total = len(run.slots)

    async def send(slot: BatchSlot) -> None:
        async with limiter:
            if stop:
                return  # the account cannot submit at all: left pending, not tried
            callback_url = nonce = None
            if receiver is not None:
                nonce, callback_url = receiver.new_url()
            body_path = state.body(slot.number)
            gzip_above = context.config.gzip_threshold
            if body_path.stat().st_size <= _files.INLINE_ENCODE_BYTES:  # small: no hop
                body = _files.encoded_body(body_path, callback_url, gzip_above)
            else:
                body = await anyio.to_thread.run_sync(
                    _files.encoded_body, body_path, callback_url, gzip_above
                )
            slot.state = SENDING
            state.record(slot.number, SENDING)
            try:
                response = await context.transport.request(
                    "POST",
                    "data",
                    "/api/v1/bulk_enhance",
                    json=body,
                    safety=Safety.SUBMIT,
                    what=f"bulk_enhance submission of batch {slot.number}/{total}",
                )
                created = response.parse(CreatedResponse)  # unreadable: ambiguous
            except (AmbiguousSubmissionError, ResponseShapeError) as exc:
                # sent, and maybe made: listed, never resent silently
                _settle(state, slot, UNKNOWN, str(exc))
                errors.append(exc)
                return
            except SOVFixerError as exc:
                _settle(state, slot, PENDING, str(exc))
                errors.append(exc)
                if isinstance(
                    exc, AuthenticationError | PermissionDeniedError | ConfigurationError
                ):
                    stop.append(exc)
                return
            slot.handle = batch = BulkEnhanceBatch(context, created.id)
            _settle(state, slot, ACCEPTED, None)
            await _keep_body(body_path, run.work_dir / _files.batch_name(slot.number))
            if nonce is not None and receiver is not None:
                receiver.bind(nonce, batch)
            context.emit(JobSubmitted(batch.kind, created.id, batch.token))

    try:
        async with anyio.create_task_group() as tg:
            for slot in slots:
                tg.start_soon(send, slot)
    finally:  # (no await here: it all runs, cancelled or not)
        for slot in slots:
            if slot.state == SENDING:  # cancelled in flight: the server may have it
                slot.state, slot.detail = UNKNOWN, "cancelled while being sent"
        if state.owned():
            state.write_manifest(manifest_of(run.slots, run._sources))
        context.emit(JobSubmitted(run.kind, run.id, run.token))
    return errors


def _settle(state: RunState, slot: BatchSlot, outcome: str, detail: str | None) -> None:
    slot.state, slot.detail = outcome, detail
    state.record(slot.number, outcome, slot.handle.id if slot.handle is not None else None)


async def _keep_body(body: Path, target: Path) -> None:
    """An accepted batch's body becomes a temporary work file (removed when the client
    closes); the state folder keeps only what the server does not have."""
    try:
        os.replace(body, target)
    except OSError:  # another file system
        await anyio.to_thread.run_sync(shutil.move, body, target)


def resume_run(context: JobContext, data: dict[str, Any]) -> BulkEnhanceRun:
    """Rebuild a run from a parsed token and, when it is still there, its manifest.

    The state folder is found by the run's UUID under ``ClientConfig.state_dir``; a
    ``work_dir`` in a 0.1 token is ignored: a token never names a local path.
    """
    run_id = check_run_id(data["id"])
    slots = slots_from_token(context, data)
    config = context.config
    state = RunState(config.state_dir, run_id)
    manifest = state.read()
    sources: tuple[str, ...] = ()
    if manifest is not None:
        apply_manifest(context, slots, manifest)
        sources = tuple(manifest.sources)
    work_dir = context.folders.run_dir(run_id)
    return BulkEnhanceRun(context, run_id, slots, work_dir, state, sources)
