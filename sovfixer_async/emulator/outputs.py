"""SOV data in and out, under one name: reading .xlsx uploads, writing workbooks, buildings,
rendered outputs.

Each lives in its own module (:mod:`xlsx_read`, :mod:`xlsx_write`, :mod:`buildings`,
:mod:`render`); this module keeps the names the job code and the tests import from here.
"""

from __future__ import annotations

from sovfixer_async.emulator.buildings import (
    buildings_from_rows,
    seed_buildings,
    synthetic_buildings,
)
from sovfixer_async.emulator.render import render_output
from sovfixer_async.emulator.xlsx_read import WorkbookError, read_xlsx
from sovfixer_async.emulator.xlsx_write import make_xlsx, sheet_title

__all__ = [
    "WorkbookError",
    "buildings_from_rows",
    "make_xlsx",
    "read_xlsx",
    "render_output",
    "seed_buildings",
    "sheet_title",
    "synthetic_buildings",
]
