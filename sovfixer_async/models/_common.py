"""Pieces shared by every API: output files, creation answers, the job-status interface."""

from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from sovfixer_async._errors import SOVFixerError
from sovfixer_async.models._enums import TERMINAL_STATES

__all__ = [
    "CreatedResponse",
    "JobStatus",
    "Output",
    "ResponseShapeError",
]


class ResponseShapeError(SOVFixerError):
    """A response body does not have the shape of its model.

    Unknown keys and values never cause this; a wrong JSON type does (a list where an
    object belongs, text where a number belongs). ``errors`` holds one line per bad field,
    each naming its path, e.g. ``ParseStatus.request.pct_complete``.
    """

    def __init__(self, model: str, errors: Sequence[str]):
        self.model = model
        self.errors = list(errors)
        shown = "; ".join(self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"unexpected {model} response: {shown}{more}")


@attrs.frozen(kw_only=True)
class Output:
    """One generated file of a job: download ``url``, save as ``filename``."""

    url: str
    filename: str | None = None
    description: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CreatedResponse:
    """``{"id", "message"}`` of every job-creating POST."""

    id: str
    message: str | None = None


class JobStatus(Protocol):
    """What the poll loop and job handles read from any status body; no I/O, no clock."""

    @property
    def state(self) -> str:
        """``request.status`` as a plain string (unknown states included)."""
        ...

    @property
    def done(self) -> bool:
        """True once the state is COMPLETE or FAILED."""
        ...

    @property
    def succeeded(self) -> bool:
        """COMPLETE with a result status of SUCCESS (or none given)."""
        ...

    @property
    def failure(self) -> tuple[str | None, str | None] | None:
        """``(result status, message)`` when the job failed, else None."""
        ...

    @property
    def outputs(self) -> list[Output]:
        """The files to download, in the server's order (empty until there are any)."""
        ...

    @property
    def progress(self) -> float | None:
        """Fraction done in 0.0-1.0 when the server says, else None."""
        ...


class StatusLogic:
    """The :class:`JobStatus` rules every status body shares (``request`` and ``result``).

    Status classes inherit it and add ``progress`` (and ``outputs`` where their result
    is not a list of outputs).
    """

    __slots__ = ()
    request: Any
    result: Any

    @property
    def state(self) -> str:
        return str(self.request.status)

    @property
    def done(self) -> bool:
        return self.request.status in TERMINAL_STATES

    @property
    def failure(self) -> tuple[str | None, str | None] | None:
        result = self.result
        if result is None:
            return job_failure(self.state, None, None)
        return job_failure(self.state, result.status, result.message)

    @property
    def succeeded(self) -> bool:
        return self.request.status == "COMPLETE" and self.failure is None

    @property
    def outputs(self) -> list[Output]:
        return list(self.result.outputs) if self.result is not None else []


def job_failure(
    state: str, result_status: Any, message: str | None
) -> tuple[str | None, str | None] | None:
    """The failure rule of the contract: FAILED, or COMPLETE with a non-SUCCESS result."""
    status = None if result_status is None else str(result_status)
    if state == "FAILED":
        return (status, message)
    if state == "COMPLETE" and status is not None and status != "SUCCESS":
        return (status, message)
    return None


def fraction(done: float | None, total: float | None) -> float | None:
    """``done / total`` clamped to 0.0-1.0, or None when either is unknown."""
    if done is None or not total:
        return None
    return min(1.0, max(0.0, done / total))
