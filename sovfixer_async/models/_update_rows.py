"""One row of an update's ``add_locations`` CSV (contract §7), checked before it is sent.

:func:`validate_update_row` runs once per row of large updates; it keeps text cells as
they are and turns other values into the text a CSV cell holds.
"""

import math
from collections.abc import Mapping
from typing import Any

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._checks import cell as _cell
from sovfixer_async.models._checks import kind as _kind
from sovfixer_async.models._coerce import show

__all__ = ["validate_update_row"]


def _row_number(text: str, field: str) -> str:
    """A positive whole row number as text (``"7"``, ``"7.0"`` and ``7`` -> ``"7"``)."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or number < 1:
        raise InvalidInputError(
            f"expected a positive whole row number, got {show(text)}", field=field
        )
    return str(int(number))


def validate_update_row(row: Mapping[str, Any], index: int) -> dict[str, str]:
    """One ``add_locations`` CSV row as strings (None/empty -> ``""``).

    The row must name its building by a non-empty ``item_key`` or by both ``sheet_name``
    and ``sheet_row_number`` (a positive whole number). Column names must be non-empty
    strings; values text, numbers, booleans or None.
    """
    where = f"locations[{index}]"
    try:
        items = row.items()
    except AttributeError:
        raise InvalidInputError(
            f"expected a mapping, got {_kind(row)} {show(row)}", field=where
        ) from None
    out: dict[str, str] = {}
    for key, value in items:
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(
                f"column names must be non-empty strings, got {show(key)}", field=where
            )
        out[key] = value if type(value) is str else _cell(value, f"{where}.{key}")
    row_number = out.get("sheet_row_number", "")
    if row_number.strip():
        out["sheet_row_number"] = _row_number(row_number, f"{where}.sheet_row_number")
    if out.get("item_key", "").strip():
        return out
    if out.get("sheet_name", "").strip() and row_number.strip():
        return out
    if out.get("sheet_name", "").strip():
        raise InvalidInputError(
            "sheet_name is given but sheet_row_number is missing: a row names its building "
            "by item_key, or by sheet_name and sheet_row_number",
            field=f"{where}.sheet_row_number",
        )
    raise InvalidInputError(
        "the row names no building: give item_key, or both sheet_name and sheet_row_number",
        field=where,
    )
