"""One claimed item carried as far as it goes: intent, submission, adoption, wait,
downloads, done. Every write names the lease epoch; a refused one raises ``FencedError``
(and, when it carried a job, leaves the job behind as evidence)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from sovfixer_async._client import Client
from sovfixer_async._errors import (
    AmbiguousSubmissionError,
    BadRequestError,
    ConflictError,
    DuplicateClientRefError,
    InvalidInputError,
    JobFailed,
    SOVFixerError,
)
from sovfixer_async._jobs import JobHandle
from sovfixer_async._refs import LOCATIONS_SENT, STARTED, new_client_ref
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._urls import check_id
from sovfixer_async.ledger import _store, _submit
from sovfixer_async.ledger._db import Database, Tx
from sovfixer_async.ledger._results import batch_results
from sovfixer_async.ledger._store import Item
from sovfixer_async.ledger._types import (
    DONE,
    ENHANCE,
    FAILED,
    HELD,
    OUTPUT,
    PARSE,
    PLANNED,
    SUBMITTED,
    SUBMITTING,
    UPDATE,
    FencedError,
    LedgerError,
)

log = logging.getLogger("sovfixer_async.ledger")

#: Submissions of one item in one claim (an ambiguous one the server turned out not to have).
SUBMIT_ATTEMPTS = 3
#: Seconds between attempts to record a job just made when the ledger cannot be reached
#: (a database restarting, a failover): ~7.5 s in all, well within a lease.
RECORD_DELAYS = (0.5, 1.0, 2.0, 4.0)


class ItemWork:
    """What a worker does for one item it holds at ``epoch``."""

    def __init__(
        self,
        db: Database,
        client: Client,
        worker: str,
        item_id: int,
        epoch: int,
        dest: Path,
        resubmit_ambiguous_bulk: bool,
    ):
        self.db, self.client, self.worker = db, client, worker
        self.id, self.epoch, self.dest = item_id, epoch, dest
        self.resubmit_bulk = resubmit_ambiguous_bulk
        #: Job-carrying evidence rows already read (and found unusable) by ``obtain``.
        self.evidence_seen = 0

    # -- fenced writes -----------------------------------------------------------------

    async def _fenced(
        self, apply: Callable[[Tx], bool], note: str, job_id: str | None, token: str | None
    ) -> None:
        """Run ``apply(tx)`` (False: the epoch no longer holds the item); a refused write
        is kept as evidence, with the job it carried, and raises ``FencedError``."""

        def run(tx: Tx) -> bool:
            if apply(tx):
                return True
            _store.keep_evidence(tx, self.id, self.epoch, self.worker, job_id, token, note)
            return False

        if not await self.db.run(run):
            raise FencedError(self.id, self.epoch)

    async def write(self, *, dup: int = 0, **fields: Any) -> None:
        await self._fenced(
            lambda tx: _store.write(tx, self.id, self.epoch, fields, dup=dup),
            f"refused write: {', '.join(sorted(fields)) or 'duplicates'}"
            + (f" (state {fields['state']})" if "state" in fields else ""),
            fields.get("job_id"),
            fields.get("token"),
        )

    async def finish_write(self, handle: JobHandle[Any], fn: Callable[[Tx], None]) -> None:
        """``fn(tx)`` (outputs, results) and ``state = done``, in one fenced transaction."""

        def apply(tx: Tx) -> bool:
            done = {"state": DONE, "lease_owner": None, "lease_until": None}
            if not _store.write(tx, self.id, self.epoch, done):
                return False
            fn(tx)
            return True

        await self._fenced(apply, "refused write: done", handle.id, handle.token)

    async def end(self, state: str, reason: str) -> None:
        if state == HELD:  # adopts a job a fenced-out worker's evidence names, if any
            await self._fenced(
                lambda tx: _store.hold(tx, self.id, self.epoch, reason[:2000], self.evidence_seen),
                "refused write: held",
                None,
                None,
            )
            return
        await self.write(state=state, reason=reason[:2000], lease_owner=None, lease_until=None)

    # -- the item ----------------------------------------------------------------------

    async def run(self) -> None:
        item = await self.db.run(lambda tx: _store.load(tx, self.id), write=False)
        if item.epoch != self.epoch:
            raise FencedError(self.id, self.epoch)
        try:
            handle = await self.obtain(item)
        except DuplicateClientRefError as exc:
            await self.end(HELD, f"several jobs carry this item's client_ref: {exc}")
            return
        if handle is not None:
            await self.complete(item, handle)

    async def obtain(self, item: Item) -> JobHandle[Any] | None:
        """The item's server job: resumed, adopted, found, or submitted now."""
        if item.state == SUBMITTED:
            return self.resume(item.token)
        if item.state == SUBMITTING:
            adopted = await self.db.run(lambda tx: _store.evidence(tx, self.id), write=False)
            self.evidence_seen = len(adopted)
            for job_id, token in adopted:
                if token is not None:
                    try:
                        handle = self.resume(token)
                    except InvalidInputError:  # untrusted: an unreadable token is no job
                        continue
                    if handle.id == job_id:
                        await self.write(state=SUBMITTED, job_id=handle.id, token=handle.token)
                        return handle
            if item.kind in (PARSE, UPDATE) and item.client_ref is not None:
                found = await _submit.find(self.client, item)
                if found is not None:
                    await self.write(state=SUBMITTED, job_id=found.id, token=found.token)
                    return found
                return await self.submit(item, item.client_ref)
            if item.kind == ENHANCE and not self.resubmit_bulk:
                await self.end(
                    HELD,
                    f"a worker stopped while submitting batch {item.seq}: the server may "
                    "have it and a batch cannot be looked up; resolve with adopt JOB_ID or "
                    "resubmit",
                )
                return None
            return await self.submit(item, item.client_ref, dup=1)  # output, or opted in
        assert item.state == PLANNED
        client_ref = None
        if item.kind in (PARSE, UPDATE):
            given = item.params.get("client_ref")
            client_ref = item.client_ref or (given if isinstance(given, str) else new_client_ref())
        return await self.submit(item, client_ref)

    def resume(self, token: str | None) -> JobHandle[Any]:
        handle = self.client.resume(token or "")  # checks the (untrusted) token
        if not isinstance(handle, JobHandle):
            raise InvalidInputError("the ledger's token names no single job", field="token")
        return handle

    async def submit(
        self, item: Item, client_ref: str | None, dup: int = 0
    ) -> JobHandle[Any] | None:
        """Intent first (with the ``client_ref``), then the POST, then the job's token.

        The POST and the write of its answer are shielded from cancellation (a lease taken
        over cancels the item's task): the job the server made is recorded, or kept as
        evidence when the lease is gone, never dropped with the answer that named it. The
        client's timeouts and retry policy bound how long that lasts."""
        await self.write(state=SUBMITTING, client_ref=client_ref, dup=dup)
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            with anyio.CancelScope(shield=True):
                try:
                    handle = await _submit.send(self.client, item, client_ref)
                except AmbiguousSubmissionError as exc:
                    ambiguous = exc
                except SOVFixerError as exc:
                    made = getattr(exc, "handle", None)
                    if not isinstance(made, JobHandle):  # nothing was made: planned again
                        await self.write(state=PLANNED)
                        raise
                    await self.record(made)  # an update made, not finished: finished later
                    return made
                else:
                    await self.record(handle)
                    return handle
            if item.kind in (PARSE, UPDATE):
                found = await self.client.reconcile(ambiguous)
                if found is None:
                    continue  # the server has none: send it again
                await self.record(found)
                return found
            if item.kind == OUTPUT or self.resubmit_bulk:
                await self.write(dup=1)
                if attempt < SUBMIT_ATTEMPTS:
                    continue
                raise ambiguous
            await self.end(
                HELD,
                f"the submission of batch {item.seq} is ambiguous ({ambiguous.detail}): the "
                "server may have it; resolve with adopt JOB_ID or resubmit",
            )
            return None
        # Left in ``submitting``: whoever claims it next looks the job up by its client_ref
        # before sending (one that shows up late is adopted, not made twice).
        raise AmbiguousSubmissionError(
            f"ledger item {item.id}", f"{SUBMIT_ATTEMPTS} submissions were all ambiguous"
        )

    async def record(self, handle: JobHandle[Any]) -> None:
        """The job's id and resume token, after its POST, tried again for a while when the
        ledger cannot be reached (the write is fenced and sets the same values: repeating
        it is harmless); if it never can, the job is named in the log (the only other
        place it is known)."""
        for delay in (*RECORD_DELAYS, None):
            try:
                await self.write(state=SUBMITTED, job_id=handle.id, token=handle.token)
                return
            except FencedError:
                raise
            except LedgerError as exc:
                if delay is None:
                    log.error(
                        "ledger item %s: server job %s was made but could not be recorded",
                        self.id,
                        handle.id,
                    )
                    raise
                log.warning(
                    "ledger item %s: recording server job %s failed (%s); again in %s s",
                    self.id,
                    handle.id,
                    exc,
                    delay,
                )
                await anyio.sleep(delay)

    async def complete(self, item: Item, handle: JobHandle[Any]) -> None:
        """Start an update that is not started, wait, download, record, done."""
        if isinstance(handle, UpdateJob) and handle.stage != STARTED:
            await self.finish_update(item, handle)
        try:
            await handle.wait(timeout=math.inf)
        except JobFailed as exc:
            if item.kind == ENHANCE:
                await self.store_batch(item, handle, failure=str(exc))
            await self.end(FAILED, str(exc))
            return
        if item.kind == ENHANCE:
            await self.store_batch(item, handle, failure=None)
            return
        folder = self.dest / f"{item.kind}-{item.id}"
        await handle.download(folder, overwrite=True)
        files = [(check_id(r.path.name, "file name"), r.size, r.sha256) for r in handle.files]
        await self.finish_write(handle, lambda tx: _store.add_outputs(tx, self.id, files))

    async def finish_update(self, item: Item, handle: UpdateJob) -> None:
        """Send the rows and start an update a lost attempt left unstarted (or so it seems).

        A found update is "initiated" as far as anyone knows: the API reports an open and a
        started one alike. Its rows were checked when planned, so a refusal of them says it
        is no longer open; contract 3.6 answers a second start with 400 or 409. When both
        the rows and the start are refused, the update was started: it is waited for.
        """
        rows_refused = False
        if handle.stage != LOCATIONS_SENT:
            try:
                await handle.add_locations(item.input or b"")
            except (ConflictError, BadRequestError):
                rows_refused = True
        try:
            await handle.start(
                output_formats=_submit._opt_list(item.params, "output_formats"),
                extra_data=_submit._opt_map(item.params, "extra_data"),
            )
        except BadRequestError:
            if not rows_refused:
                raise
            handle.stage = STARTED
        await self.write(token=handle.token)

    async def store_batch(self, item: Item, handle: JobHandle[Any], failure: str | None) -> None:
        body = _submit.batch_body(item)
        folder = self.dest / f"enhance-{item.run_id}" / f"batch-{item.seq:05d}"
        paths: list[Path] = []
        if failure is None:
            paths = await handle.download(folder, overwrite=True)
        count, lines = await batch_results(body, paths, failure)
        files = [(check_id(r.path.name, "file name"), r.size, r.sha256) for r in handle.files]

        def record(tx: Tx) -> None:
            _store.add_outputs(tx, self.id, files)
            _store.put_results(tx, self.id, count, lines)

        if failure is None:
            await self.finish_write(handle, record)
            return

        def apply(tx: Tx) -> bool:
            if _store.load(tx, self.id).epoch != self.epoch:
                return False
            record(tx)
            return True

        await self._fenced(apply, "refused write: failed batch's results", handle.id, None)
