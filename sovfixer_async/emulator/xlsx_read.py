"""Reading the first sheet of an .xlsx upload, streamed and bounded.

Every part is inflated in chunks (:mod:`zipread`) straight into an expat parser; the sheet
and the shared strings are never held as trees: cells are taken as their elements end, and
only the text of cells is kept, within :class:`limits.UploadLimits`. Documents with a DTD are
refused (no entity expansion at all). Anything unreadable or over a limit raises
:class:`WorkbookError` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sovfixer_async.emulator import prepared
from sovfixer_async.emulator.cells import is_blank, number, unescape
from sovfixer_async.emulator.limits import DEFAULT_LIMITS, UploadLimits
from sovfixer_async.emulator.xlsx_package import (
    MAX_DEPTH,
    WorkbookError,
    first_sheet,
    local_name,
    parse_part,
)
from sovfixer_async.emulator.zipread import BoundedZip, ZipLimitError

__all__ = ["WorkbookError", "read_xlsx"]

_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]*)")

Row = dict[str, object]


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


class _Text:
    """Collects an element's text (what precedes its first child), within the limits."""

    def __init__(self, reader: _Reader, depth: int) -> None:
        self.reader = reader
        self.depth = depth
        self.parts: list[str] = []
        self.open = True

    def add(self, data: str) -> None:
        self.reader.chars(len(data))
        self.parts.append(data)


class _Reader:
    """The expat handlers of the shared strings and the sheet: one pass, bounded."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.depth = 0
        self.text_total = 0
        self.cell_chars = 0
        self.capture: _Text | None = None
        self.item: list[str] | None = None  # the parts of a string item (si / is)
        self.item_depth = 0
        self.in_cell_elements = 0
        self.elements = 0

    def chars(self, count: int) -> None:
        self.text_total += count
        self.cell_chars += count
        if self.cell_chars > self.limits.max_cell_chars:
            raise WorkbookError(f"a cell holds more than {self.limits.max_cell_chars} characters")
        if self.text_total > self.limits.max_text_chars:
            raise WorkbookError(
                f"the workbook holds more than {self.limits.max_text_chars} characters"
            )

    def text(self, data: str) -> None:
        capture = self.capture
        if capture is not None and capture.open and self.depth == capture.depth:
            capture.add(data)

    def begin(self) -> None:
        """An element starts (``self.depth`` is its depth): close the parent's text."""
        if self.depth > MAX_DEPTH:
            raise WorkbookError(f"elements nested deeper than {MAX_DEPTH}")
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise WorkbookError(f"a part has more than {self.limits.max_elements} elements")
        if self.capture is not None and self.depth == self.capture.depth + 1:
            self.capture.open = False

    def item_end(self) -> None:
        if self.capture is not None and self.depth == self.capture.depth and self.item is not None:
            self.item.append("".join(self.capture.parts))
            self.capture = None


class _SharedStrings(_Reader):
    def __init__(self, limits: UploadLimits) -> None:
        super().__init__(limits)
        self.strings: list[str] = []
        self.parents: list[str] = []

    def start(self, tag: str, _: dict[str, str]) -> None:
        self.depth += 1
        self.begin()
        local = local_name(tag)
        self.parents.append(local)
        if self.depth == 2 and local == "si":
            self.item, self.item_depth, self.in_cell_elements = [], 2, 0
            self.cell_chars = 0
        elif self.item is not None:
            self.in_cell_elements += 1
            if self.in_cell_elements > self.limits.max_cell_elements:
                raise WorkbookError("a shared string has too many elements")
            if _item_text_element(self.parents, self.depth - self.item_depth):
                self.capture = _Text(self, self.depth)

    def end(self, _: str) -> None:
        self.item_end()
        if self.depth == 2 and self.item is not None:
            self.strings.append(unescape("".join(self.item)))
            self.item = None
            if len(self.strings) > self.limits.max_cells:
                raise WorkbookError(f"more than {self.limits.max_cells} shared strings")
        self.parents.pop()
        self.depth -= 1


def _item_text_element(parents: list[str], relative: int) -> bool:
    """Is the element just opened (last of ``parents``) a ``t`` that carries item text?"""
    if parents[-1] != "t":
        return False
    return relative == 1 or (relative == 2 and parents[-2] == "r")


class _Sheet(_Reader):
    def __init__(self, limits: UploadLimits, shared: list[str]) -> None:
        super().__init__(limits)
        self.shared = shared
        self.rows: dict[int, dict[int, object]] = {}
        self.cells = 0
        self.parents: list[str] = []
        self.data_state = 0  # 0 before sheetData, 1 inside the first one, 2 after it
        self.row_number = 0
        self.row_r: str | None = None
        self.row_pending = False
        self.column = -1
        self.kind = "n"
        self.raw: str | None = None
        self.inline: list[str] | None = None

    def _resolve_row(self, first_ref: str | None) -> None:
        r = self.row_r
        if r is None:  # no row reference: the first cell's, else the next row
            ref = _CELL_REF.fullmatch(first_ref or "")
            r = ref[2] if ref and ref[2] else None
        self.row_number = int(r) if r is not None else self.row_number + 1
        if not 0 < self.row_number <= 1_048_576:
            raise WorkbookError(f"row number {self.row_number} is out of range")
        self.row_pending = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        self.begin()
        local = local_name(tag)
        self.parents.append(local)
        depth = self.depth
        if depth == 2:
            if local == "sheetData" and self.data_state == 0:
                self.data_state = 1
            return
        if self.data_state != 1 or depth < 3:
            return
        path = self.parents
        if depth == 3:
            if local == "row":
                self.row_r, self.row_pending, self.column = attrib.get("r"), True, -1
            return
        if path[2] != "row":
            return
        if depth == 4:
            if local == "c":
                self._cell_start(attrib)
            return
        if path[3] != "c":
            return
        self.in_cell_elements += 1
        if self.in_cell_elements > self.limits.max_cell_elements:
            raise WorkbookError("a cell has too many elements")
        if depth == 5 and local == "v":
            self.capture = _Text(self, depth)
        elif depth == 5 and local == "is":
            self.inline, self.item, self.item_depth = [], [], 5
        elif self.item is not None and _item_text_element(path, depth - self.item_depth):
            self.capture = _Text(self, depth)

    def _cell_start(self, attrib: dict[str, str]) -> None:
        if self.row_pending:
            self._resolve_row(attrib.get("r"))
        ref = _CELL_REF.fullmatch(attrib.get("r") or "")
        self.column = _column_index(ref[1]) if ref else self.column + 1
        if not 0 <= self.column < 16_384:
            raise WorkbookError(f"column {self.column + 1} is out of range")
        self.kind = attrib.get("t") or "n"
        self.raw, self.inline, self.item = None, None, None
        self.in_cell_elements = 0
        self.cell_chars = 0

    def end(self, _: str) -> None:
        depth, path = self.depth, self.parents
        if self.data_state == 1:
            if depth == 2:
                self.data_state = 2
            elif depth == 3 and path[2] == "row" and self.row_pending:
                self._resolve_row(None)
            elif depth == 4 and path[2] == "row" and path[3] == "c":
                self._cell_end()
            elif depth >= 5 and path[2] == "row" and path[3] == "c":
                self._inner_end(depth)
        path.pop()
        self.depth -= 1

    def _inner_end(self, depth: int) -> None:
        capture = self.capture
        if depth == 5 and self.parents[4] == "v" and capture is not None:
            self.raw = "".join(capture.parts)
            self.capture = None
        elif depth == 5 and self.parents[4] == "is" and self.item is not None:
            self.inline = self.item
            self.item = None
        else:
            self.item_end()

    def _cell_end(self) -> None:
        value = self._value()
        if value is not None:
            self.rows.setdefault(self.row_number, {})[self.column] = value
            self.cells += 1
            if self.cells > self.limits.max_cells:
                raise WorkbookError(f"the sheet has more than {self.limits.max_cells} cells")

    def _value(self) -> object:
        kind, raw = self.kind, self.raw
        if kind == "inlineStr":
            return unescape("".join(self.inline)) if self.inline is not None else raw
        if raw is None or (not raw.strip() and kind not in ("str", "s")):
            return None
        if kind == "s":
            index = int(raw)
            if not 0 <= index < len(self.shared):
                raise WorkbookError(f"shared string {index} does not exist")
            return self.shared[index]
        if kind == "b":
            return raw.strip().lower() in ("1", "true")
        if kind in ("str", "e", "d"):
            return unescape(raw)
        return number(raw)


def _header(cells: Mapping[int, object]) -> dict[int, str]:
    """Column -> name; blank names are no column, repeats get `` (2)``, `` (3)`` ..."""
    header: dict[int, str] = {}
    seen: set[str] = set()
    for column in sorted(cells):
        value = cells[column]
        name = value if isinstance(value, str) else str(value)
        if not name.strip():
            continue
        unique, n = name, 1
        while unique in seen:
            n += 1
            unique = f"{name} ({n})"
        seen.add(unique)
        header[column] = unique
    return header


def _read(data: bytes, limits: UploadLimits) -> tuple[str, list[Row]]:
    book = BoundedZip(data, limits)
    name, sheet_part, shared_part = first_sheet(book)
    shared: list[str] = []
    if shared_part is not None and shared_part in book.names:
        strings = _SharedStrings(limits)
        parse_part(
            book, shared_part, strings.start, strings.end, strings.text, limits.max_part_bytes
        )
        shared = strings.strings
    sheet = _Sheet(limits, shared)
    sheet.text_total = sum(len(s) for s in shared)
    parse_part(book, sheet_part, sheet.start, sheet.end, sheet.text, limits.max_part_bytes)
    rows = sheet.rows
    if 1 not in rows:
        raise WorkbookError("the first sheet has no header row (row 1 is empty)")
    header = _header(rows[1])
    if not header:
        raise WorkbookError("the header row has no names")
    out: list[Row] = []
    for row_number in sorted(rows):
        if row_number == 1:
            continue
        cells = rows.pop(row_number)
        record: Row = {header[c]: cells[c] for c in header if c in cells}
        if all(is_blank(v) for v in record.values()):
            continue
        record["sheet_row_number"] = row_number
        out.append(record)
    return name, out


def read_xlsx(data: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> tuple[str, list[Row]]:
    """(first sheet's name, its rows from row 2 on, keyed by the header row's names).

    The first sheet is the first one ``xl/workbook.xml`` lists (found through the package
    relationships, not by file name). Shared strings (rich-text runs too), inline strings,
    formula strings, booleans and numbers (int when integral) are read; cells may be sparse,
    rows may be skipped, and cells or rows without an ``r`` reference follow the previous one.
    Each row also carries ``sheet_row_number``; rows with nothing in them are left out; a
    column with a blank header is ignored. Anything unreadable, or over ``limits``, raises
    :class:`WorkbookError` and nothing else. A workbook read ahead (:mod:`prepared`) for this
    very bytes object is answered from there.
    """
    ahead = prepared.lookup(data)
    if ahead is not None:
        if isinstance(ahead, Exception):
            raise ahead
        return ahead
    try:
        return _read(data, limits)
    except WorkbookError:
        raise
    except ZipLimitError as exc:
        raise WorkbookError(str(exc)) from None
    except Exception as exc:  # zipfile, zlib and expat raise a zoo of errors on hostile input
        raise WorkbookError(f"unreadable workbook: {type(exc).__name__}: {exc}") from None
