"""What an error says when the server already holds work: the live handle, how to go on.

``carry(error, handle, how)`` puts the handle on ``error.handle`` and adds a note saying
how to carry on; ``mark_ambiguous`` records on an ``AmbiguousSubmissionError`` what
``client.reconcile`` needs to find the job the server may have made.
"""

from __future__ import annotations

import contextlib
from typing import Any


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
