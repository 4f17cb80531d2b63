"""What an error says when the server already holds work: the live handle, how to go on.

``carry(error, handle, how)`` puts the handle on ``error.handle`` and adds a note saying
how to carry on; ``mark_ambiguous`` records on an ``AmbiguousSubmissionError`` what
``client.reconcile`` needs to find the job the server may have made.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from sovfixer_async._errors import SOVFixerError


class DuplicateClientRefError(SOVFixerError):
    """``client.reconcile`` found several jobs with the same ``client_ref`` (a reused one).

    ``job_ids`` lists them all; pick the right one with ``client.resume`` or by id.
    """

    def __init__(self, kind: str, client_ref: str, job_ids: Sequence[str]):
        self.kind = kind
        self.client_ref = client_ref
        self.job_ids = tuple(job_ids)
        super().__init__(
            f"{len(self.job_ids)} {kind} jobs carry client_ref {client_ref!r}: "
            + ", ".join(self.job_ids)
            + "; reconcile cannot tell which one this submission made"
        )


class MissingLocationsError(SOVFixerError):
    """A resumed bulk run cannot list the locations of some batches (their manifest is gone).

    ``batches`` names each one (its job id, or ``batch N`` for one never accepted); the
    other batches' results are on disk (``run.results()`` is not given a partial file).
    """

    def __init__(self, run_id: str, batches: Sequence[str]):
        self.run_id = run_id
        self.batches = tuple(batches)
        self.job_id = run_id
        super().__init__(
            f"bulk run {run_id}: the locations of {len(self.batches)} batch(es) cannot be "
            f"listed ({', '.join(self.batches)}): their manifest and bodies are gone "
            "(removed, pruned, or made on another machine)"
        )


def carry(error: BaseException, handle: Any, how: str) -> None:
    """Hand ``handle`` to the caller on ``error.handle``, with a note saying how to go on."""
    if getattr(error, "handle", None) is None:
        with contextlib.suppress(AttributeError):  # an exception type without a __dict__
            error.handle = handle  # type: ignore[attr-defined]
    error.add_note(how)


def mark_ambiguous(
    error: BaseException, kind: str, client_ref: str | None, sovid: str | None = None
) -> None:
    """Record what ``client.reconcile(error)`` needs: the job kind, ``client_ref``, SOV id."""
    with contextlib.suppress(AttributeError):
        vars(error).update(kind=kind, client_ref=client_ref, sovid=sovid)
    if client_ref is not None:
        error.add_note(
            f"this {kind} submission carried client_ref {client_ref!r}: "
            "`await client.reconcile(error)` finds the job if the server made it"
        )
