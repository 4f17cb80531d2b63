"""The JobStatus interface the poll loop reads: state, done, succeeded, failure, progress."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async.models import (
    TERMINAL_STATES,
    BulkEnhanceStatus,
    JobStatus,
    OutputStatus,
    ParseStatus,
    RequestStatus,
    UpdateStatus,
    structure,
)

STATUS_MODELS = [ParseStatus, UpdateStatus, OutputStatus, BulkEnhanceStatus]


def _status(cls: type, state: str, result: dict[str, Any] | None = None) -> JobStatus:
    body: dict[str, Any] = {"request": {"status": state}}
    if result is not None:
        body["result"] = result
    status: JobStatus = structure(body, cls)
    return status


@pytest.mark.parametrize("cls", STATUS_MODELS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("state", "result", "done", "succeeded", "failure"),
    [
        ("PENDING", None, False, False, None),
        ("QUEUED", None, False, False, None),
        ("IN_PROGRESS", None, False, False, None),
        ("ENRICHING", None, False, False, None),
        ("SOMETHING_NEW", None, False, False, None),
        ("COMPLETE", None, True, True, None),
        ("COMPLETE", {"status": "SUCCESS", "message": "ok"}, True, True, None),
        ("COMPLETE", {"message": "ok"}, True, True, None),
        (
            "COMPLETE",
            {"status": "PARTIAL_PARSE", "message": "m"},
            True,
            False,
            ("PARTIAL_PARSE", "m"),
        ),
        ("COMPLETE", {"status": "NEW_FAILURE"}, True, False, ("NEW_FAILURE", None)),
        ("FAILED", None, True, False, (None, None)),
        ("FAILED", {"message": "boom"}, True, False, (None, "boom")),
        (
            "FAILED",
            {"status": "FAILED_TO_PARSE", "message": "row 2"},
            True,
            False,
            ("FAILED_TO_PARSE", "row 2"),
        ),
    ],
)
def test_failure_rule(
    cls: type,
    state: str,
    result: dict[str, Any] | None,
    done: bool,
    succeeded: bool,
    failure: tuple[str | None, str | None] | None,
) -> None:
    status = _status(cls, state, result)
    assert status.state == state
    assert type(status.state) is str
    assert status.done is done
    assert status.succeeded is succeeded
    assert status.failure == failure
    if failure is not None:
        assert all(part is None or type(part) is str for part in failure)


@given(st.sampled_from(STATUS_MODELS), st.text() | st.sampled_from(list(RequestStatus)))
def test_done_is_terminal_state(cls: type, state: str) -> None:
    status = _status(cls, state)
    assert status.done is (state in TERMINAL_STATES)
    assert not (status.succeeded and status.failure is not None)


@pytest.mark.parametrize("cls", [ParseStatus, UpdateStatus])
@pytest.mark.parametrize(
    ("pct", "progress"), [(None, None), (0, 0.0), (50, 0.5), (100, 1.0), (150, 1.0), (-5, 0.0)]
)
def test_progress_from_pct_complete(cls: type, pct: int | None, progress: float | None) -> None:
    status: JobStatus = structure({"request": {"status": "IN_PROGRESS", "pct_complete": pct}}, cls)
    assert status.progress == progress


@pytest.mark.parametrize(
    ("completed", "requested", "progress"),
    [(None, 10, None), (5, None, None), (5, 0, None), (0, 10, 0.0), (5, 10, 0.5), (10, 10, 1.0)],
)
def test_progress_from_counts(
    completed: int | None, requested: int | None, progress: float | None
) -> None:
    status = structure(
        {
            "request": {
                "status": "IN_PROGRESS",
                "num_completed": completed,
                "num_requested": requested,
            }
        },
        BulkEnhanceStatus,
    )
    assert status.progress == progress


def test_output_status_outputs_need_a_url() -> None:
    status = structure(
        {"request": {"status": "COMPLETE"}, "result": {"label": "JSON", "url": None}}, OutputStatus
    )
    assert status.outputs == []
