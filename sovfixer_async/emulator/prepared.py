"""Workbooks read ahead in a worker thread, handed to the synchronous job code.

The parse route reads each uploaded workbook off the event loop (bounded, see
:mod:`xlsx_read`) and maps its rows to buildings for a placeholder SOV id. It then calls the
synchronous job code inside :func:`read_ahead`; when that code asks :func:`xlsx_read.read_xlsx`
for the same bytes object, and :func:`buildings.buildings_from_rows` for its rows, they answer
from here, so the loop only fills in the SOV id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

Row = dict[str, object]
Outcome = tuple[str, "PreparedRows"] | Exception


class PreparedRows(list[Row]):
    """Rows read ahead (a plain list of them) plus their buildings, mapped once."""

    def __init__(self, rows: Iterable[Row], sheet: str, buildings: list[Row]) -> None:
        super().__init__(rows)
        self.sheet = sheet
        self._buildings: list[Row] | None = buildings

    def take_buildings(self, sovid: str, sheet: str) -> list[Row] | None:
        """The mapped buildings with ``sovid`` in their item keys (once), else None."""
        buildings, self._buildings = self._buildings, None
        if buildings is None or sheet != self.sheet:
            return None
        for building in buildings:  # assigning an existing key keeps the key order
            building["item_key"] = f"i-{sovid}!{sheet}!{building['sheet_row_number']}"
        return buildings


_AHEAD: dict[int, tuple[bytes, Outcome]] = {}


@contextmanager
def read_ahead(outcomes: Iterable[tuple[bytes, Outcome]]) -> Iterator[None]:
    """Within the block, :func:`lookup` answers for these exact bytes objects."""
    keys = []
    for data, outcome in outcomes:
        _AHEAD[id(data)] = (data, outcome)
        keys.append(id(data))
    try:
        yield
    finally:
        for key in keys:
            _AHEAD.pop(key, None)


def lookup(data: bytes) -> Outcome | None:
    """What was read ahead for this very object (not an equal one), if anything."""
    entry = _AHEAD.get(id(data))
    if entry is None or entry[0] is not data:
        return None
    return entry[1]
