"""Bulk enhance at scale: thousands to millions of locations split into server batches.

Rooms: :mod:`._run` (the run handle: waits, merge, results), :mod:`._submit` (batch
preparation and submission, resume from a token), :mod:`._files` (batch bodies, parts,
the merged JSONL, reading raw members of an output).
"""

from sovfixer_async._bulk._run import BulkEnhanceRun, BulkRunStatus
from sovfixer_async._bulk._submit import (
    BulkOptions,
    check_run_id,
    prepare_batches,
    resume_run,
    start_run,
    submit_batches,
)

__all__ = [
    "BulkEnhanceRun",
    "BulkOptions",
    "BulkRunStatus",
    "check_run_id",
    "prepare_batches",
    "resume_run",
    "start_run",
    "submit_batches",
]
