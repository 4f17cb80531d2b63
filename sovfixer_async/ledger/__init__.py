"""A durable job ledger shared by many workers: PostgreSQL for many machines, SQLite
(stdlib, the default) for one.

::

    from sovfixer_async.ledger import Ledger

    async with await Ledger.open("sqlite:///jobs.db") as ledger:
        await ledger.plan_parse("book.xlsx")
        async with Client() as client:
            await ledger.work(client, "out", exit_when_done=True)

Parse and update jobs are submitted exactly once (intent and ``client_ref`` recorded
before the POST, the job found again by its ``client_ref``); outputs at least once
(duplicates counted); a bulk batch whose submission is ambiguous is held for an operator.
"""

from sovfixer_async.ledger._ledger import LIVE_WITHIN, Ledger
from sovfixer_async.ledger._types import (
    ACTIVE,
    DONE,
    ENHANCE,
    FAILED,
    HELD,
    KINDS,
    OUTPUT,
    PARSE,
    PLANNED,
    STATES,
    SUBMITTED,
    SUBMITTING,
    UPDATE,
    FencedError,
    HeldItem,
    LedgerDataError,
    LedgerError,
    LedgerStatus,
    PlannedRun,
)
from sovfixer_async.ledger._url import LEDGER_URL_ENV, LedgerURL

__all__ = [
    "ACTIVE",
    "DONE",
    "ENHANCE",
    "FAILED",
    "HELD",
    "KINDS",
    "LEDGER_URL_ENV",
    "LIVE_WITHIN",
    "OUTPUT",
    "PARSE",
    "PLANNED",
    "STATES",
    "SUBMITTED",
    "SUBMITTING",
    "UPDATE",
    "FencedError",
    "HeldItem",
    "Ledger",
    "LedgerDataError",
    "LedgerError",
    "LedgerStatus",
    "LedgerURL",
    "PlannedRun",
]

for _name in __all__:
    _value = globals()[_name]
    if hasattr(_value, "__module__") and isinstance(_value, type):
        _value.__module__ = __name__
