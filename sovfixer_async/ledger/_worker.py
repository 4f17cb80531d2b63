"""The worker loop: claim items under a lease, carry each in its own task, renew the
leases (and the worker's registration) with heartbeats, and give an item back when a
transient failure stops it. A task whose lease was taken over is cancelled."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Mapping
from functools import partial
from pathlib import Path

import anyio
from attrs import define, field

from sovfixer_async._client import Client
from sovfixer_async._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidInputError,
    LocalFileError,
    NotFoundError,
    PermissionDeniedError,
)
from sovfixer_async.ledger import _store
from sovfixer_async.ledger._budget import RequestBudget, apply_share
from sovfixer_async.ledger._db import Database, Tx
from sovfixer_async.ledger._item import ItemWork
from sovfixer_async.ledger._types import (
    FAILED,
    KINDS,
    FencedError,
    LedgerDataError,
    LedgerError,
)

log = logging.getLogger("sovfixer_async.ledger")

#: Errors that will not change by trying again: the item fails.
_PERMANENT = (InvalidInputError, BadRequestError, NotFoundError, LedgerDataError)
#: Errors every item would meet: the worker stops (its items go back when leases end).
_FATAL = (AuthenticationError, PermissionDeniedError, ConfigurationError, LocalFileError)
#: Seconds a worker goes on claiming (less and less often) while its ledger cannot be
#: reached, at least (two leases, if longer); then it stops with the ledger's error.
OUTAGE_MAX = 120.0


@define
class WorkOptions:
    dest: Path
    concurrency: int = 16
    exit_when_done: bool = False
    resubmit_ambiguous_bulk: bool = False
    #: Server jobs in flight per kind, at most, across every worker.
    max_jobs: Mapping[str, int] = field(factory=dict)
    #: Seconds a claim lasts without a heartbeat; heartbeats come every third of it.
    lease: float = 30.0
    budget: RequestBudget = field(factory=RequestBudget)
    #: Seconds between claim attempts while there is nothing to claim.
    idle: float = 1.0
    #: Claims of one item (each transient failure is one) before it is marked failed.
    max_attempts: int = 10

    def __attrs_post_init__(self) -> None:
        if self.concurrency < 1:
            raise InvalidInputError("concurrency must be >= 1", field="concurrency")
        if not 1.0 <= self.lease <= 86400:
            raise InvalidInputError("lease must be 1 to 86400 seconds", field="lease")
        for kind, cap in self.max_jobs.items():
            if kind not in KINDS or not isinstance(cap, int) or cap < 1:
                raise InvalidInputError(
                    f"max_jobs is KIND=N with KIND one of {', '.join(KINDS)} and N >= 1",
                    field="max_jobs",
                )


class Worker:
    def __init__(self, db: Database, client: Client, options: WorkOptions):
        self.db, self.client, self.options = db, client, options
        self.host = socket.gethostname()[:200]
        self.id = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        #: item id -> (epoch, the cancel scope of its task)
        self.active: dict[int, tuple[int, anyio.CancelScope]] = {}
        self._wake = anyio.Event()
        self.live_workers = 1

    async def run(self) -> None:
        try:
            await self._beat()
            if self.options.budget.max_in_flight is not None:
                # Wait one heartbeat, so that every live worker has counted this one (and
                # lowered its share) before this one sends anything, then take the share.
                await anyio.sleep(self.options.lease / 3 * 1.1)
                await self._beat()
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._heartbeats)
                await self._claims(tg)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await self.db.run(lambda tx: _store.leave(tx, self.id))

    async def _claims(self, tg: anyio.abc.TaskGroup) -> None:
        """Claim items while there is room; ride out a ledger that cannot be reached for
        a while (a restart, a failover: ``OUTAGE_MAX``), trying again less and less often."""
        options = self.options
        since: float | None = None  # when the ledger stopped answering
        failures = 0
        while True:
            try:
                claimed = await self._claim(tg)
                finished = (
                    not claimed
                    and options.exit_when_done
                    and not self.active
                    and await self.db.run(_store.remaining, write=False) == 0
                )
            except (LedgerDataError, FencedError):
                raise  # not an outage
            except LedgerError as exc:
                now = anyio.current_time()
                since = now if since is None else since
                if now - since > max(OUTAGE_MAX, 2 * options.lease):
                    raise
                failures += 1
                delay = min(options.idle * 2.0**failures, options.lease / 3)
                log.warning(
                    "the ledger cannot be reached (%s); claiming again in %.1f s", exc, delay
                )
                await anyio.sleep(delay)
                continue
            since, failures = None, 0
            if claimed:
                continue
            if finished:
                return
            with anyio.move_on_after(options.idle):
                await self._wake.wait()
            self._wake = anyio.Event()

    async def _claim(self, tg: anyio.abc.TaskGroup) -> bool:
        """Claim as many items as there is room for and start them; whether any came."""
        options = self.options
        free = options.concurrency - len(self.active)
        if free <= 0:
            return False
        got: list[tuple[int, int]] = await self.db.run(
            partial(
                _store.claim,
                owner=self.id,
                n=free,
                lease=options.lease,
                caps=options.max_jobs,
            )
        )
        for item_id, epoch in got:
            stale = self.active.get(item_id)
            if stale is not None:  # our own lease on it had lapsed: that task is fenced
                stale[1].cancel()
            scope = anyio.CancelScope()
            self.active[item_id] = (epoch, scope)
            tg.start_soon(self._carry, item_id, epoch, scope)
        return bool(got)

    async def _carry(self, item_id: int, epoch: int, scope: anyio.CancelScope) -> None:
        work = ItemWork(
            self.db,
            self.client,
            self.id,
            item_id,
            epoch,
            self.options.dest,
            self.options.resubmit_ambiguous_bulk,
        )
        try:
            with scope:
                try:
                    await work.run()
                except FencedError:
                    log.info("ledger item %s: lease taken over; left to its new holder", item_id)
                except anyio.get_cancelled_exc_class():
                    # stopped (or the lease was lost): whoever claims it next goes on
                    with contextlib.suppress(LedgerError):
                        await self._give_back(item_id, epoch, 0.0, "its worker stopped")
                    raise
                except _FATAL:
                    with contextlib.suppress(LedgerError):
                        await self._give_back(item_id, epoch, 0.0, "the worker cannot go on")
                    raise
                except _PERMANENT as exc:
                    log.warning("ledger item %s failed: %s", item_id, exc)
                    await self._settle(self._fail(work, str(exc)))
                except Exception as exc:  # transient: back to the ledger, later
                    await self._settle(self._transient(work, exc))
        finally:
            if self.active.get(item_id, (None,))[0] == epoch:  # not a newer claim's entry
                del self.active[item_id]
            self._wake.set()

    async def _settle(self, step: Awaitable[None]) -> None:
        """Record how an item ended; if the ledger cannot be reached, its lease ends it."""
        try:
            await step
        except (FencedError, LedgerError) as exc:
            log.warning("could not record how an item ended: %s", exc)

    async def _fail(self, work: ItemWork, reason: str) -> None:
        await work.end(FAILED, reason)

    async def _transient(self, work: ItemWork, exc: Exception) -> None:
        item = await self.db.run(lambda tx: _store.load(tx, work.id), write=False)
        if item.attempts >= self.options.max_attempts:
            await self._fail(work, f"gave up after {item.attempts} attempts: {exc}")
            return
        delay = min(60.0, 0.5 * 2 ** min(item.attempts, 7))
        log.info("ledger item %s: %s; again in %.1f s", work.id, exc, delay)
        await self._give_back(work.id, work.epoch, delay, f"attempt {item.attempts}: {exc}")

    async def _give_back(self, item_id: int, epoch: int, delay: float, reason: str) -> None:
        with anyio.CancelScope(shield=True):
            await self.db.run(
                lambda tx: _store.release(tx, item_id, epoch, delay, reason[:2000], self.id)
            )

    async def _beat(self) -> None:
        held = {item_id: epoch for item_id, (epoch, _) in self.active.items()}

        def run(tx: Tx) -> tuple[set[int], int]:
            return _store.heartbeat(tx, self.id, self.host, held, self.options.lease)

        mine, live = await self.db.run(run)
        for item_id in set(held) - mine:  # taken over: stop working on it
            entry = self.active.get(item_id)
            if entry is not None and entry[0] == held[item_id]:
                entry[1].cancel()
        self.live_workers = live
        apply_share(self.client, self.options.budget.share(live))

    async def _heartbeats(self) -> None:
        lease = self.options.lease
        last_ok = anyio.current_time()
        while True:
            await anyio.sleep(lease / 3)
            try:
                await self._beat()
                last_ok = anyio.current_time()
            except LedgerError as exc:
                log.warning("ledger heartbeat failed: %s", exc)
                if anyio.current_time() - last_ok > lease * 0.8:  # our leases are ending
                    for _, scope in list(self.active.values()):
                        scope.cancel()
