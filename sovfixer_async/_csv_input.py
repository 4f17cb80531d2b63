"""Reading users' CSV and JSONL files strictly, a bounded line at a time.

One reader for the library and the CLI. Malformed input is an
:class:`~sovfixer_async._errors.InvalidInputError` naming the line, never a silent
change: an unterminated quote, a quote inside an unquoted cell, a NUL byte, a row with
more cells than the header, text that is not UTF-8, a line longer than
:data:`MAX_LINE_CHARS`, a record longer than :data:`MAX_RECORD_CHARS` or a cell longer
than the csv module's field limit. Memory is bounded per row: the file is never read
whole.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from sovfixer_async._errors import InvalidInputError

__all__ = ["MAX_LINE_CHARS", "MAX_RECORD_CHARS", "csv_rows", "jsonl_rows"]

#: The longest physical line read (a JSONL object, or a CSV line).
MAX_LINE_CHARS = 1 << 20
#: The longest CSV record (one row, over all the lines of its quoted cells).
MAX_RECORD_CHARS = 4 << 20

_FIELD = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)'
#: One well-formed CSV record (RFC 4180): a quote only around a whole cell.
_RECORD = re.compile(rf"{_FIELD}(?:,{_FIELD})*(?:\r\n|\n|\r)?")


class _Lines:
    """The lines of a text stream, each checked and bounded; ``record`` holds the lines
    read since the last :meth:`next_record` (the raw text of the CSV record being read)."""

    def __init__(self, stream: IO[str], binary: IO[bytes] | None, where: str, source: str):
        self.stream = stream
        self.binary = binary
        self.where = where
        self.source = source
        self.number = 0  # lines before the current record
        self.record: list[str] = []
        self.record_chars = 0  # of a record over several lines

    def error(self, message: str, line: int | None = None) -> InvalidInputError:
        number = self.number + max(len(self.record), 1) if line is None else line
        return InvalidInputError(message + self.source, field=f"{self.where} line {number}")

    def __iter__(self) -> Iterator[str]:
        readline = self.stream.readline
        record = self.record
        append = record.append
        limit = MAX_LINE_CHARS + 1
        while True:
            try:
                line = readline(limit)
            except UnicodeDecodeError:
                raise self._not_utf8() from None
            if not line:
                return
            append(line)
            if len(line) > MAX_LINE_CHARS:
                raise self.error(f"a line longer than {MAX_LINE_CHARS:,} characters")
            if "\0" in line:
                raise self.error("a NUL character: this is not a text CSV file")
            if len(record) > 1:
                self.record_chars += len(line) + (len(record[0]) if len(record) == 2 else 0)
                if self.record_chars > MAX_RECORD_CHARS:
                    raise self.error(f"a row longer than {MAX_RECORD_CHARS:,} characters")
            yield line

    def next_record(self) -> None:
        self.number += len(self.record)
        self.record.clear()
        self.record_chars = 0

    def _not_utf8(self) -> InvalidInputError:
        """The error naming the line of the first byte that is not UTF-8."""
        binary = self.binary
        line, offset = self.number + len(self.record) + 1, None
        if binary is not None and binary.seekable():
            binary.seek(0)
            decoder = codecs.getincrementaldecoder("utf-8")()
            start, newlines = 0, 0
            while chunk := binary.read(1 << 16):
                pending = len(decoder.getstate()[0])  # bytes of a character cut by the chunk
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    offset = start - pending + exc.start
                    line = newlines + chunk.count(b"\n", 0, max(exc.start - pending, 0)) + 1
                    break
                start += len(chunk)
                newlines += chunk.count(b"\n")
        at = "" if offset is None else f" (byte {offset})"
        return self.error(f"not UTF-8 text{at}: save the file as UTF-8 CSV", line)


def _text_stream(binary: IO[bytes]) -> IO[str]:
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")


def csv_rows(
    binary: IO[bytes],
    where: str,
    *,
    source: str = "",
    required: tuple[str, ...] = (),
    origins: list[int] | None = None,
) -> Iterator[dict[str, str]]:
    """Every non-blank row of a CSV stream, read strictly; ``origins`` gets their lines.

    Errors name ``<where> line <n>``; ``source`` (such as ``" (in data.csv)"``) ends their
    message. Rows with fewer cells than the header lack the missing columns.
    """
    lines = _Lines(_text_stream(binary), binary, where, source)
    reader = csv.reader(lines, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInputError("the CSV is empty (no header row)" + source, field=where) from None
    except csv.Error as exc:
        raise lines.error(f"malformed CSV header: {exc}", lines.number + 1) from None
    if len(lines.record) > 1 or '"' in "".join(header):
        _check_quotes(lines)
    _check_header(header, f"{where} line 1", source, required)  # the header is line 1
    width = len(header)
    lines.next_record()
    record = lines.record
    try:
        for values in reader:
            if len(record) > 1 or '"' in "".join(values):
                _check_quotes(lines)
            lines.number += len(record)
            record.clear()
            if not values or (not values[0].strip() and all(not v.strip() for v in values)):
                continue
            if len(values) > width:
                raise lines.error(f"{len(values)} fields but the header has {width}", lines.number)
            if origins is not None:
                origins.append(lines.number)
            yield dict(zip(header, values, strict=False))
    except csv.Error as exc:
        text = str(exc)
        start = lines.number + 1  # the line the row starts on
        if text == "unexpected end of data":
            raise lines.error("malformed CSV: a quote is never closed", start) from None
        if text.startswith("field larger than field limit"):
            limit = csv.field_size_limit()
            raise lines.error(f"a cell longer than {limit:,} characters", start) from None
        raise lines.error(f"malformed CSV: {text}") from None


def _check_quotes(lines: _Lines) -> None:
    """A quote may only surround a whole cell: ``ab"c`` is how swallowed rows show.

    Run on every row that spans lines or has a quote in a cell (a quote out of place
    always leaves one of the two).
    """
    lines.record_chars = 0
    if _RECORD.fullmatch("".join(lines.record)) is None:
        raise lines.error(
            "malformed CSV: a quote inside an unquoted cell (quote the whole cell and double "
            'the quote: "5\'6"" wide")',
            lines.number + 1,
        )


def _check_header(header: list[str], where: str, source: str, required: tuple[str, ...]) -> None:
    if not any(header):
        raise InvalidInputError("the CSV header row is blank" + source, field=where)
    blank = [i + 1 for i, h in enumerate(header) if not h]
    if blank:
        raise InvalidInputError(
            f"the CSV header has blank column name(s) at {blank}{source}", field=where
        )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InvalidInputError(
                f"the CSV header has a repeated column {name!r}{source}", field=where
            )
        seen.add(name)
    missing = [r for r in required if r not in seen]
    if missing:
        raise InvalidInputError(
            f"the CSV has no {', '.join(missing)} column (columns: {', '.join(header)}){source}",
            field=where,
        )


def jsonl_rows(binary: IO[bytes], where: str, *, source: str = "") -> Iterator[dict[str, Any]]:
    """Every JSON object of a JSONL stream (one per non-blank line)."""
    lines = _Lines(_text_stream(binary), binary, where, source)
    for line in lines:
        lines.next_record()
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise lines.error(f"not JSON: {exc}", lines.number) from None
        if not isinstance(row, dict):
            raise lines.error("each line must be a JSON object", lines.number)
        yield row
