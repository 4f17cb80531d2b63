"""The :class:`Ledger`: a durable table of work items shared by any number of workers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from sovfixer_async._client import Client
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._jobs import TOKEN_VERSION, BulkEnhanceBatch
from sovfixer_async._locations import LocationsInput
from sovfixer_async._urls import check_id
from sovfixer_async.ledger import _operators, _plan, _results, _schema, _store
from sovfixer_async.ledger._budget import RequestBudget
from sovfixer_async.ledger._db import Database, connect
from sovfixer_async.ledger._types import (
    ENHANCE,
    OUTPUT,
    PARSE,
    UPDATE,
    HeldItem,
    LedgerStatus,
    PlannedRun,
)
from sovfixer_async.ledger._url import LedgerURL
from sovfixer_async.ledger._worker import Worker, WorkOptions
from sovfixer_async.models import SourceResult

#: The handle kind and API of each item kind (an adopted job's token).
_HANDLE_KINDS = {
    PARSE: ("parse", "extraction"),
    UPDATE: ("update", "extraction"),
    OUTPUT: ("output", "extraction"),
    ENHANCE: (BulkEnhanceBatch.kind, "data"),
}
#: Seconds within which a worker's last heartbeat counts it as live (in ``status()``).
LIVE_WITHIN = 30.0


class Ledger:
    """Work items (parses, updates, outputs, bulk batches) that any worker may carry out.

    ``ledger = await Ledger.open("sqlite:///jobs.db")`` (or ``postgresql://...``); plan
    items, run ``await ledger.work(client, dest)`` in as many processes as you like, and
    ``await ledger.close()`` (or ``async with``). The URL's password is never shown.
    """

    def __init__(self, url: LedgerURL, db: Database):
        self.url = url
        self._db = db

    def __repr__(self) -> str:
        return f"<Ledger {self.url}>"

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 4) -> Ledger:
        """Connect, and create or migrate the schema forward."""
        parsed = LedgerURL.parse(url)
        db = connect(parsed, pool_size=pool_size)
        try:
            await db.run(_schema.migrate)
        except BaseException:
            await db.close()
            raise
        return cls(parsed, db)

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Ledger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- planning ----------------------------------------------------------------------

    async def plan_parse(
        self,
        file: str | PathLike[str] | bytes,
        *,
        filename: str | None = None,
        document_type: str = "SOV",
        output_formats: Sequence[str] | None = None,
        client_ref: str | None = None,
        extra_data: Mapping[str, Any] | None = None,
    ) -> int:
        """Plan a parse of ``file`` (copied into the ledger); the item's id."""
        return await _plan.plan_parse(
            self._db,
            file,
            filename=filename,
            document_type=document_type,
            output_formats=output_formats,
            client_ref=client_ref,
            extra_data=extra_data,
        )

    async def plan_update(
        self,
        sovid: str,
        locations: str | PathLike[str] | bytes,
        *,
        output_formats: Sequence[str] | None = None,
        update_type: str | None = None,
        client_ref: str | None = None,
        extra_data: Mapping[str, Any] | None = None,
    ) -> int:
        """Plan an update of ``sovid`` with the CSV ``locations`` (checked, copied in)."""
        return await _plan.plan_update(
            self._db,
            sovid,
            locations,
            output_formats=output_formats,
            update_type=update_type,
            client_ref=client_ref,
            extra_data=extra_data,
        )

    async def plan_output(
        self,
        sovid_or_sudid: str,
        output_format: str,
        *,
        revision: int = -1,
        overwrite_existing: bool = False,
    ) -> int:
        """Plan a get-or-create output request; the item's id."""
        return await _plan.plan_output(
            self._db,
            sovid_or_sudid,
            output_format,
            revision=revision,
            overwrite_existing=overwrite_existing,
        )

    async def plan_enhance(
        self,
        locations: LocationsInput,
        *,
        sources: Sequence[str],
        batch_size: int = 1000,
        include_raw_response: bool = False,
        check_cache: bool = True,
        timeout: float | None = None,
    ) -> PlannedRun:
        """Validate every location and plan one item per batch of ``batch_size``."""
        return await _plan.plan_enhance(
            self._db,
            locations,
            sources=sources,
            batch_size=batch_size,
            include_raw_response=include_raw_response,
            check_cache=check_cache,
            timeout=timeout,
        )

    # -- working -----------------------------------------------------------------------

    async def work(
        self,
        client: Client,
        dest: str | PathLike[str],
        *,
        concurrency: int = 16,
        exit_when_done: bool = False,
        resubmit_ambiguous_bulk: bool = False,
        max_jobs: Mapping[str, int] | None = None,
        max_requests_in_flight: int | None = None,
        max_requests_per_second: float | None = None,
        lease: float = 30.0,
        idle: float = 1.0,
    ) -> None:
        """Claim and carry out items until cancelled (or, with ``exit_when_done``, until
        no item is left to do). ``client`` must be entered.

        ``max_jobs``: server jobs in flight per kind across every worker;
        ``max_requests_in_flight`` and ``max_requests_per_second``: the API token's request
        budget across every live worker (each worker's client gets its share of both).
        """
        options = WorkOptions(
            Path(dest),
            concurrency,
            exit_when_done,
            resubmit_ambiguous_bulk,
            dict(max_jobs or {}),
            lease,
            RequestBudget(max_requests_in_flight, max_requests_per_second),
            idle,
        )
        await Worker(self._db, client, options).run()

    # -- operators ---------------------------------------------------------------------

    async def status(self) -> LedgerStatus:
        """Counts of items by kind and state, duplicates, live workers, and the writes
        refused by fencing (``fenced_writes``) with any job they show made twice."""
        return await self._db.run(lambda tx: _operators.status(tx, LIVE_WITHIN), write=False)

    async def held(self) -> list[HeldItem]:
        """Items waiting for an operator's ``resolve``, with why and any evidence."""
        return await self._db.run(_operators.held, write=False)

    async def resolve(
        self, item_id: int, *, adopt: str | None = None, resubmit: bool = False
    ) -> None:
        """End a hold: ``adopt=JOB_ID`` (the job the server has: a worker waits for it and
        downloads it) or ``resubmit=True`` (planned again; a parse or update gets a new
        ``client_ref``)."""
        if (adopt is None) == (not resubmit):
            raise InvalidInputError("give adopt=JOB_ID or resubmit=True", field="adopt")
        job_id = token = None
        if adopt is not None:
            job_id = check_id(adopt, "adopt")
            kind = await self._db.run(lambda tx: _store.load(tx, item_id).kind, write=False)
            handle_kind, api = _HANDLE_KINDS[kind]
            token = json.dumps(
                {"v": TOKEN_VERSION, "kind": handle_kind, "id": job_id, "api": api},
                separators=(",", ":"),
            )
        await self._db.run(lambda tx: _operators.resolve(tx, item_id, job_id, token))

    def results(self, run_id: str) -> AsyncIterator[tuple[str, dict[str, SourceResult]]]:
        """Every location of the planned bulk run ``run_id``, with its results."""
        return _results.results(self._db, run_id)

    async def prune(self, *, older_than: float) -> int:
        """Forget done and failed items older than ``older_than`` seconds; how many."""
        if older_than < 0:
            raise InvalidInputError("must be >= 0", field="older_than")
        return await self._db.run(lambda tx: _operators.prune(tx, older_than))
