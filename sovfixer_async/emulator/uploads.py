"""Uploaded files read off the event loop and within limits: workbooks and location CSVs.

:func:`read_workbooks` reads every ``.xlsx`` of a parse request in a worker thread and maps
its rows to buildings (see :mod:`prepared`); the job code then finds them ready. CSVs of
``add_locations`` are checked against cheap upper bounds (bytes; cells, by counting commas
and line ends) before they are parsed, also in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import TypeVar

from sovfixer_async.emulator.bodies import dispose, off_loop
from sovfixer_async.emulator.buildings import buildings_from_rows
from sovfixer_async.emulator.limits import DEFAULT_LIMITS, TooLarge, UploadLimits
from sovfixer_async.emulator.prepared import Outcome, PreparedRows
from sovfixer_async.emulator.protocol import scrub_filename
from sovfixer_async.emulator.xlsx_read import WorkbookError, read_xlsx

T = TypeVar("T")

#: The SOV id the buildings are mapped for before the job has one (only item keys use it).
_PLACEHOLDER = "\x00sovid\x00"
_COUNT_STEP = 1 << 20


def is_workbook(filename: str) -> bool:
    """Will the job code read this upload as an .xlsx (as it names the file)?"""
    return PurePath(scrub_filename(filename)).suffix.lower() == ".xlsx"


def prepare_workbook(data: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> Outcome:
    """The read rows (with their buildings), or the WorkbookError reading raised."""
    try:
        sheet, rows = read_xlsx(data, limits)
    except WorkbookError as exc:
        return exc
    buildings = buildings_from_rows(_PLACEHOLDER, sheet, rows)
    return sheet, PreparedRows(rows, sheet, buildings)


async def read_workbooks(uploads: Sequence[tuple[str, bytes]]) -> list[tuple[bytes, Outcome]]:
    """Each workbook upload with what reading it gave, read one at a time off the loop."""
    out: list[tuple[bytes, Outcome]] = []
    for filename, data in uploads:
        if is_workbook(filename):
            out.append((data, await off_loop(prepare_workbook, data)))
    return out


def _release(outcomes: list[tuple[bytes, Outcome]]) -> None:
    for _, outcome in outcomes:
        if isinstance(outcome, tuple):
            dispose(outcome[1])
    outcomes.clear()


async def release_workbooks(outcomes: list[tuple[bytes, Outcome]]) -> None:
    """Free the rows read ahead in a worker thread, in slices (not on the loop at once)."""
    if any(isinstance(outcome, tuple) and len(outcome[1]) > 1000 for _, outcome in outcomes):
        await off_loop(_release, outcomes)


def _count(data: bytes, needles: Sequence[bytes]) -> int:
    return sum(
        data.count(needle, at, at + _COUNT_STEP)
        for at in range(0, len(data), _COUNT_STEP)
        for needle in needles
    )


def check_csv(data: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> None:
    """TooLarge when a CSV is over the byte, row or cell cap (cells <= commas + lines)."""
    if len(data) > limits.max_csv_bytes:
        raise TooLarge(f"The locations file is larger than {limits.max_csv_bytes} bytes.")
    lines = _count(data, (b"\n",))
    if lines > limits.max_csv_rows:
        raise TooLarge(f"The locations file has more than {limits.max_csv_rows} rows.")
    if _count(data, (b",", b"\n", b"\r")) + 1 > limits.max_csv_cells:
        raise TooLarge(f"The locations file has more than {limits.max_csv_cells} cells.")


async def parse_csvs(files: Sequence[bytes], parse: Callable[[bytes], T]) -> list[T]:
    """``parse`` of each CSV, checked first, in a worker thread (one at a time)."""

    def checked(data: bytes) -> T:
        check_csv(data)
        return parse(data)

    return [await off_loop(checked, data) for data in files]
