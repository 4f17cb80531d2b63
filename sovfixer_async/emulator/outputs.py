"""SOV data in and out: reading .xlsx uploads, writing workbooks, rendering outputs.

Standard library only (zipfile + xml). Output bytes depend only on their input, so the
same (SOV, revision, format) always gives the same file and the same ETag.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class WorkbookError(Exception):
    """The upload is not a workbook this emulator can read."""


# -- reading ---------------------------------------------------------------------------


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _text_of(node: ET.Element) -> str:
    """Text of a shared-string or inline-string item, rich-text runs included."""
    direct = node.find(f"{_MAIN}t")
    if direct is not None:
        return direct.text or ""
    return "".join(t.text or "" for t in node.iter(f"{_MAIN}t"))


def _first_sheet(book: zipfile.ZipFile) -> tuple[str, str]:
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    sheet = workbook.find(f"{_MAIN}sheets/{_MAIN}sheet")
    if sheet is None:
        raise WorkbookError("the workbook has no sheets")
    name = sheet.get("name") or "Sheet1"
    rel_id = sheet.get(f"{_REL}id")
    target = "worksheets/sheet1.xml"
    try:
        rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        for rel in rels.iter(f"{_PKG_REL}Relationship"):
            if rel.get("Id") == rel_id and rel.get("Target"):
                target = str(rel.get("Target"))
                break
    except KeyError:
        pass
    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return name, path


def _number(text: str) -> object:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "e" not in text.lower() else value


def read_xlsx(data: bytes) -> tuple[str, list[dict[str, object]]]:
    """(first sheet's name, its rows from row 2 keyed by the header row).

    Each row also carries ``sheet_row_number``. Anything unreadable is a WorkbookError.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            name, sheet_path = _first_sheet(book)
            shared: list[str] = []
            if "xl/sharedStrings.xml" in book.namelist():
                root = ET.fromstring(book.read("xl/sharedStrings.xml"))
                shared = [_text_of(si) for si in root.iter(f"{_MAIN}si")]
            sheet = ET.fromstring(book.read(sheet_path))
    except WorkbookError:
        raise
    except (zipfile.BadZipFile, KeyError, ET.ParseError, ValueError, OSError, EOFError) as exc:
        raise WorkbookError(f"unreadable workbook: {exc}") from None
    except Exception as exc:  # zipfile and expat raise a zoo of errors on hostile input
        raise WorkbookError(f"unreadable workbook: {type(exc).__name__}") from None
    rows: dict[int, dict[int, object]] = {}
    try:
        for row in sheet.iter(f"{_MAIN}row"):
            for cell in row.iter(f"{_MAIN}c"):
                match = _CELL_REF.match(cell.get("r") or "")
                if not match:
                    continue
                col, number = _column_index(match.group(1)), int(match.group(2))
                kind = cell.get("t")
                value_node = cell.find(f"{_MAIN}v")
                raw = value_node.text if value_node is not None else None
                value: object
                if kind == "s" and raw is not None:
                    value = shared[int(raw)]
                elif kind == "inlineStr":
                    inline = cell.find(f"{_MAIN}is")
                    value = _text_of(inline) if inline is not None else ""
                elif kind == "b":
                    value = raw == "1"
                elif kind in ("str", "e"):
                    value = raw or ""
                elif raw is None:
                    continue
                else:
                    value = _number(raw)
                rows.setdefault(number, {})[col] = value
    except (ValueError, IndexError) as exc:
        raise WorkbookError(f"unreadable cell: {exc}") from None
    if 1 not in rows:
        raise WorkbookError("the first sheet has no header row")
    header = {col: str(v).strip() for col, v in rows[1].items() if str(v).strip()}
    if not header:
        raise WorkbookError("the header row is empty")
    out: list[dict[str, object]] = []
    for number in sorted(n for n in rows if n > 1):
        cells = rows[number]
        record: dict[str, object] = {
            header[col]: value for col, value in sorted(cells.items()) if col in header
        }
        if not any(v not in ("", None) for v in record.values()):
            continue
        record["sheet_row_number"] = number
        out.append(record)
    return name, out


# -- writing ---------------------------------------------------------------------------


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell_xml(ref: str, value: object) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    text = escape("" if value is None else str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _zip(entries: list[tuple[str, bytes]], stored: frozenset[str] = frozenset()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        for name, data in entries:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            book.writestr(info, data)
    return buffer.getvalue()


def _xlsx_entries(
    sheet_name: str, header: list[str], rows: list[list[object]]
) -> list[tuple[str, bytes]]:
    lines = []
    table: list[list[object]] = [list(header), *rows]
    for r, values in enumerate(table, start=1):
        cells = "".join(
            _cell_xml(f"{_column_letters(c)}{r}", v) for c, v in enumerate(values) if v is not None
        )
        lines.append(f'<row r="{r}">{cells}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(lines)}</sheetData></worksheet>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{escape(sheet_name, {chr(34): "&quot;"})}" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>'
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/octet-stream"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )
    book_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    )
    return [
        ("[Content_Types].xml", content_types.encode()),
        ("_rels/.rels", root_rels.encode()),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels", book_rels.encode()),
        ("xl/worksheets/sheet1.xml", sheet.encode()),
    ]


def make_xlsx(sheet_name: str, header: list[str], rows: list[list[object]]) -> bytes:
    """A minimal, valid .xlsx of one sheet (inline strings and numbers); deterministic."""
    return _zip(_xlsx_entries(sheet_name, header, rows))


# -- buildings -------------------------------------------------------------------------

_STREETS = ("Main St", "Ocean Dr", "Elm St", "Harbor Blvd", "Industrial Pkwy", "Commerce Way")
_PLACES = (
    ("Miami", "FL", "33131", "Miami-Dade", 25.76, -80.19),
    ("Tampa", "FL", "33602", "Hillsborough", 27.95, -82.46),
    ("Houston", "TX", "77002", "Harris", 29.76, -95.37),
    ("Charleston", "SC", "29401", "Charleston", 32.78, -79.93),
    ("New Orleans", "LA", "70112", "Orleans", 29.95, -90.07),
)
_OCCUPANCIES = ("Office", "Warehouse", "Retail", "Light Manufacturing", "Apartments", "Hotel")
_CONSTRUCTIONS = ("Joisted Masonry", "Masonry Non-Combustible", "Frame", "Fire Resistive")
_NAMES = ("Headquarters", "Distribution Center", "Store", "Plant", "Annex", "Tower")


def _building(sovid: str, sheet: str, row: int, counter: int, salt: str) -> dict[str, object]:
    h = hashlib.blake2b(f"{sovid}|{salt}|{row}".encode(), digest_size=16).digest()
    city, state, postal, county, lat, lon = _PLACES[h[0] % len(_PLACES)]
    value = 250_000 + (int.from_bytes(h[1:4], "big") % 400) * 25_000
    return {
        "item_key": f"i-{sovid}!{sheet}!{row}",
        "building_counter": counter,
        "sheet_name": sheet,
        "sheet_row_number": row,
        "parsing_sheet_name": sheet,
        "bldg_name": f"{_NAMES[h[4] % len(_NAMES)]} {counter}",
        "street": f"{100 + h[5] * 7} {_STREETS[h[6] % len(_STREETS)]}",
        "city": city,
        "state": state,
        "zip": postal,
        "county": county,
        "country": "US",
        "latitude": round(lat + (h[7] - 128) / 2560, 5),
        "longitude": round(lon + (h[8] - 128) / 2560, 5),
        "occupancy__desc_ping": _OCCUPANCIES[h[9] % len(_OCCUPANCIES)],
        "const__desc_ping": _CONSTRUCTIONS[h[10] % len(_CONSTRUCTIONS)],
        "const__bldg_year_built": 1950 + h[11] % 72,
        "const__num_stories": 1 + h[12] % 12,
        "const__bldg_area": 2_000 + (int.from_bytes(h[13:15], "big") % 200) * 500,
        "limits__building_limit": value,
        "limits__bpp_limit": value // 4,
        "limits__bi_limit": value // 10,
    }


def seed_buildings(sovid: str, count: int = 26) -> list[dict[str, object]]:
    """The docs' seed SOV: ``count`` buildings on Sheet1, rows 2 upward."""
    return [_building(sovid, "Sheet1", row, row - 1, "seed") for row in range(2, count + 2)]


def synthetic_buildings(sovid: str, filename: str, count: int = 12) -> list[dict[str, object]]:
    """Buildings for uploads this emulator does not read (.xls, .xlsb, .pdf ...)."""
    return [_building(sovid, "Sheet1", row, row - 1, filename) for row in range(2, count + 2)]


_HEADER_MAP = {
    "building name": "bldg_name",
    "location name": "bldg_name",
    "name": "bldg_name",
    "address": "street",
    "street": "street",
    "street address": "street",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "zip code": "zip",
    "postal code": "zip",
    "county": "county",
    "country": "country",
    "tiv": "limits__building_limit",
    "building value": "limits__building_limit",
    "building limit": "limits__building_limit",
    "year built": "const__bldg_year_built",
    "stories": "const__num_stories",
    "# stories": "const__num_stories",
    "number of stories": "const__num_stories",
    "construction": "const__desc_ping",
    "occupancy": "occupancy__desc_ping",
    "square feet": "const__bldg_area",
    "area": "const__bldg_area",
    "latitude": "latitude",
    "longitude": "longitude",
}


def _snake(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "column"


def buildings_from_rows(
    sovid: str, sheet_name: str, rows: list[dict[str, object]]
) -> list[dict[str, object]]:
    """Buildings from workbook rows, common SOV headers mapped to Ping attribute names."""
    out = []
    for counter, row in enumerate(rows, start=1):
        number = int(str(row.get("sheet_row_number", counter + 1)))
        building: dict[str, object] = {
            "item_key": f"i-{sovid}!{sheet_name}!{number}",
            "building_counter": counter,
            "sheet_name": sheet_name,
            "sheet_row_number": number,
            "parsing_sheet_name": sheet_name,
        }
        for key, value in row.items():
            if key == "sheet_row_number":
                continue
            building[_HEADER_MAP.get(key.strip().lower(), _snake(key))] = value
        out.append(building)
    return out


# -- outputs ---------------------------------------------------------------------------


def _pad_json(body: bytes, pad_to: int) -> bytes:
    missing = pad_to - len(body) - 1
    if missing <= 0:
        return body + b"\n"
    return body + b" " * missing + b"\n"  # trailing whitespace keeps the JSON valid


def render_output(
    sov: Mapping[str, object], output_format: str, extension: str, pad_to: int = 0
) -> bytes:
    """The bytes of an output of ``sov`` in ``output_format``; at least ``pad_to`` long."""
    buildings = list(sov.get("buildings") or [])  # type: ignore[call-overload]
    document = {
        "id": sov.get("id"),
        "source_filename": sov.get("source_filename"),
        "num_buildings": len(buildings),
        "extra_data": sov.get("extra_data") or {},
        "buildings": buildings,
    }
    ext = extension.lower().lstrip(".")
    fmt = output_format.upper()
    if ext == "json":
        if fmt == "DEBUGJSON":
            document["debug"] = {
                "output_format": fmt,
                "columns": sorted({k for b in buildings for k in b}),
            }
        body = json.dumps(document, indent=1, sort_keys=False, default=str).encode()
        return _pad_json(body, pad_to)
    columns: list[str] = []
    for b in buildings:
        for key in b:
            if key not in columns:
                columns.append(key)
    table = [[b.get(c) for c in columns] for b in buildings]
    if ext in ("xlsx", "xlsm"):
        entries = _xlsx_entries(fmt.title()[:31] or "Sheet1", columns, table)
        data = _zip(entries)
        if len(data) < pad_to:
            # an extra, uncompressed part keeps the workbook valid at any size
            filler = b"\0" * (pad_to - len(data) + 200)
            data = _zip(
                [*entries, ("docProps/padding.bin", filler)], frozenset({"docProps/padding.bin"})
            )
        return data
    lines = [",".join(columns)] + [
        ",".join("" if v is None else json.dumps(v) if isinstance(v, str) else str(v) for v in row)
        for row in table
    ]
    text = ("\n".join(lines) + "\n").encode()
    if len(text) < pad_to:
        text += b"\n" * (pad_to - len(text))
    return text
