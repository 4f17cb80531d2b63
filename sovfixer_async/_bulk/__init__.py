"""Bulk enhance at scale: thousands to millions of locations split into server batches.

Rooms: :mod:`._run` (the run handle: waits, merge, results), :mod:`._submit` (batch
preparation and submission, resume from a token), :mod:`._slots` (every batch's state and
the run token), :mod:`._manifest` (the state folder that outlives the process),
:mod:`._status`, :mod:`._files` (batch bodies, parts, the merged JSONL, reading raw
members of an output).
"""

from sovfixer_async._bulk._run import BulkEnhanceRun
from sovfixer_async._bulk._status import BulkRunStatus
from sovfixer_async._bulk._submit import (
    BulkOptions,
    check_run_id,
    prepare_batches,
    resume_run,
    send_slots,
    start_run,
)

__all__ = [
    "BulkEnhanceRun",
    "BulkOptions",
    "BulkRunStatus",
    "check_run_id",
    "prepare_batches",
    "resume_run",
    "send_slots",
    "start_run",
]
