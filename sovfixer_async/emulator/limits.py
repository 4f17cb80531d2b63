"""How much of an upload the emulator will read, and the errors that say it would not.

Every upload (a workbook, a CSV, a JSON or form body, gzip-encoded or not) is read within
these limits, so that any body up to ``--max-body-bytes`` costs a bounded amount of memory
and CPU. A workbook over a limit is an unreadable workbook (its parse job fails with
``FAILED_TO_READ``, contract 12.1); a request body over a limit is answered ``413``.
"""

from __future__ import annotations

from attrs import frozen

MIB = 1024 * 1024


class TooLarge(Exception):
    """A request body the emulator will not read, answered with 413."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@frozen
class UploadLimits:
    """Caps on what reading one upload may cost."""

    #: Entries a workbook (zip) may hold, and the size of its central directory.
    max_members: int = 2_000
    max_directory_bytes: int = 1 * MIB
    #: Inflated bytes of one XML part, and of all the parts read from one workbook.
    max_part_bytes: int = 64 * MIB
    max_inflated_bytes: int = 128 * MIB
    #: Cells with a value (and shared strings) in one workbook.
    max_cells: int = 500_000
    #: Characters of one cell's text (Excel's own limit is 32,767) and of all of them.
    max_cell_chars: int = 32_767
    max_text_chars: int = 32 * 1024 * 1024
    #: Elements of one streamed part (a sheet row with one cell is about three).
    max_elements: int = 3_000_000
    #: Elements nested inside one cell or shared string (runs, phonetic hints ...).
    max_cell_elements: int = 1_000
    #: Elements of a small part (workbook, relationships) read as a tree.
    max_tree_elements: int = 100_000
    #: JSON: values (upper bound: , : [ { count), nesting, one string's length.
    max_json_values: int = 1_000_000
    max_json_depth: int = 64
    max_json_string_chars: int = 1 * MIB
    #: JSON bodies: bytes (turning them into text fills fresh memory in one call that holds
    #: the GIL, about 1 ms per MiB), and bytes when some are not ASCII (up to 4 bytes of
    #: text per character).
    max_json_bytes: int = 16 * MIB
    max_json_non_ascii_bytes: int = 4 * MIB
    #: JSON documents this small decode in one C call: at most ~80 ns per value and ~2 ms
    #: per MiB (measured worst case: 8 MiB of ``[]`` take 0.44 s), so under ~30 ms of GIL.
    json_one_call_values: int = 250_000
    json_one_call_chars: int = 4 * MIB
    #: CSV: bytes, rows (upper bound: line ends) and cells (upper bound: commas and line ends).
    max_csv_bytes: int = 16 * MIB
    max_csv_rows: int = 100_000
    max_csv_cells: int = 500_000
    #: Bytes inflated or parsed per step, so the worker thread lets the event loop run.
    chunk_bytes: int = 64 * 1024


DEFAULT_LIMITS = UploadLimits()
