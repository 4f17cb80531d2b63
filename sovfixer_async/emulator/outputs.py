"""SOV data in and out: reading .xlsx uploads, writing workbooks, buildings, rendered outputs.

Standard library only (zipfile, zlib, xml.etree). Output bytes depend only on their input (no
clock, no request ids, fixed zip timestamps), so the same (SOV, revision, format) always gives
the same file and the same ETag.
"""

from __future__ import annotations

import csv
import io
import json
import math
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from hashlib import blake2b
from xml.etree import ElementTree as ET

_ZIP_DATE, _ZIP_TIME = (0 << 9) | (1 << 5) | 1, 0  # 1980-01-01 00:00:00, DOS format
#: Largest part of an upload read (uncompressed); bigger ones are refused, not inflated.
MAX_PART_BYTES = 256 * 1024 * 1024
_OFFICE_DOC = "/officeDocument"
_SHEET_REL = "/worksheet"
_SHARED_REL = "/sharedStrings"
_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]*)")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
# characters XML 1.0 cannot carry (and CR, which XML turns into LF), written as _xHHHH_;
# a literal "_xHHHH_" is protected by escaping its underscore
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)
_SHEET_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f:\\/?*\[\]\ud800-\udfff\ufffe\uffff]")
_INTEGER = re.compile(r"[+-]?[0-9]+")


class WorkbookError(Exception):
    """The upload is not a workbook this emulator can read."""


# -- reading ---------------------------------------------------------------------------------


def _local(tag: object) -> str:
    """``{namespace}name`` -> ``name`` (transitional and strict OOXML use different ones)."""
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]


def _unescape(text: str) -> str:
    """Undo the ``_xHHHH_`` escapes of OOXML strings."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m[1], 16)), text)


def _string_item(node: ET.Element) -> str:
    """Text of a shared-string ``<si>`` or inline ``<is>``: its ``<t>``, or its runs' ``<t>``.

    Phonetic runs (``<rPh>``) are not part of the text.
    """
    parts: list[str] = []
    for child in node:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            for run_part in child:
                if _local(run_part.tag) == "t":
                    parts.append(run_part.text or "")
    return _unescape("".join(parts))


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _number(text: str) -> object:
    """A numeric cell: int when integral, else float; text that is no finite number stays text."""
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


class _Book:
    """Reads parts of an OOXML package, bounded in size."""

    def __init__(self, data: bytes) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.names = {info.filename: info for info in self.zip.infolist()}

    def xml(self, name: str) -> ET.Element:
        info = self.names.get(name)
        if info is None:
            raise WorkbookError(f"the workbook has no part {name}")
        if info.file_size > MAX_PART_BYTES:
            raise WorkbookError(f"{name} is too large ({info.file_size} bytes)")
        return ET.fromstring(self.zip.read(info))

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, resolved target part) of ``part``."""
        folder, name = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        if rels_name not in self.names:
            return {}
        out: dict[str, tuple[str, str]] = {}
        for rel in self.xml(rels_name):
            target = rel.get("Target") or ""
            if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id") or ""] = (rel.get("Type") or "", resolved)
        return out


def _workbook_part(book: _Book) -> str:
    for rel_type, target in book.rels("").values():
        if rel_type.endswith(_OFFICE_DOC) and target in book.names:
            return target
    return "xl/workbook.xml"


def _first_sheet(book: _Book) -> tuple[str, str, str | None]:
    """(first sheet's name, its part, the shared strings part or None), via the workbook."""
    workbook_part = _workbook_part(book)
    workbook = book.xml(workbook_part)
    sheets = next((n for n in workbook if _local(n.tag) == "sheets"), None)
    first = next((n for n in sheets if _local(n.tag) == "sheet"), None) if sheets else None
    if first is None:
        raise WorkbookError("the workbook lists no sheets")
    rel_id = next((v for k, v in first.attrib.items() if _local(k) == "id"), None)
    rels = book.rels(workbook_part)
    if not rels:
        raise WorkbookError("the workbook has no relationships part")
    if rel_id not in rels:
        raise WorkbookError("the first sheet's relationship is missing")
    shared = next((t for kind, t in rels.values() if kind.endswith(_SHARED_REL)), None)
    if shared is None and "xl/sharedStrings.xml" in book.names:
        shared = "xl/sharedStrings.xml"
    return first.get("name") or "Sheet1", rels[rel_id][1], shared


def _cells(sheet: ET.Element, shared: list[str]) -> dict[int, dict[int, object]]:
    """Row number -> column index -> value, for every cell with a value."""
    rows: dict[int, dict[int, object]] = {}
    data = next((n for n in sheet if _local(n.tag) == "sheetData"), None)
    if data is None:
        return rows
    row_number = 0
    for row in data:
        if _local(row.tag) != "row":
            continue
        r = row.get("r")
        if r is None:  # no row reference: the first cell's, else the next row
            first = next((c.get("r") for c in row if _local(c.tag) == "c"), None)
            ref = _CELL_REF.fullmatch(first or "")
            r = ref[2] if ref and ref[2] else None
        row_number = int(r) if r is not None else row_number + 1
        if not 0 < row_number <= 1_048_576:
            raise WorkbookError(f"row number {row_number} is out of range")
        column = -1
        for cell in row:
            if _local(cell.tag) != "c":
                continue
            ref = _CELL_REF.fullmatch(cell.get("r") or "")
            column = _column_index(ref[1]) if ref else column + 1
            if not 0 <= column < 16_384:
                raise WorkbookError(f"column {column + 1} is out of range")
            value = _cell_value(cell, shared)
            if value is not None:
                rows.setdefault(row_number, {})[column] = value
    return rows


def _cell_value(cell: ET.Element, shared: list[str]) -> object:
    kind = cell.get("t") or "n"
    raw: str | None = None
    inline: ET.Element | None = None
    for child in cell:
        name = _local(child.tag)
        if name == "v":
            raw = child.text or ""
        elif name == "is":
            inline = child
    if kind == "inlineStr":
        return _string_item(inline) if inline is not None else raw
    if raw is None or (not raw.strip() and kind not in ("str", "s")):
        return None
    if kind == "s":
        index = int(raw)
        if not 0 <= index < len(shared):
            raise WorkbookError(f"shared string {index} does not exist")
        return shared[index]
    if kind == "b":
        return raw.strip().lower() in ("1", "true")
    if kind in ("str", "e", "d"):
        return _unescape(raw)
    return _number(raw)


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


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read(data: bytes) -> tuple[str, list[dict[str, object]]]:
    book = _Book(data)
    name, sheet_part, shared_part = _first_sheet(book)
    shared: list[str] = []
    if shared_part is not None and shared_part in book.names:
        strings = book.xml(shared_part)
        shared = [_string_item(si) for si in strings if _local(si.tag) == "si"]
    rows = _cells(book.xml(sheet_part), shared)
    if 1 not in rows:
        raise WorkbookError("the first sheet has no header row (row 1 is empty)")
    header = _header(rows[1])
    if not header:
        raise WorkbookError("the header row has no names")
    out: list[dict[str, object]] = []
    for number in sorted(rows):
        if number == 1:
            continue
        cells = rows[number]
        record = {header[c]: cells[c] for c in header if c in cells}
        if all(_is_blank(v) for v in record.values()):
            continue
        record["sheet_row_number"] = number
        out.append(record)
    return name, out


def read_xlsx(data: bytes) -> tuple[str, list[dict[str, object]]]:
    """(first sheet's name, its rows from row 2 on, keyed by the header row's names).

    The first sheet is the first one ``xl/workbook.xml`` lists (found through the package
    relationships, not by file name). Shared strings (rich-text runs too), inline strings,
    formula strings, booleans and numbers (int when integral) are read; cells may be sparse,
    rows may be skipped, and cells or rows without an ``r`` reference follow the previous one.
    Each row also carries ``sheet_row_number``; rows with nothing in them are left out; a
    column with a blank header is ignored. Anything unreadable raises :class:`WorkbookError`
    and nothing else.
    """
    try:
        return _read(data)
    except WorkbookError:
        raise
    except Exception as exc:  # zipfile, zlib and expat raise a zoo of errors on hostile input
        raise WorkbookError(f"unreadable workbook: {type(exc).__name__}: {exc}") from None


# -- writing ---------------------------------------------------------------------------------


def sheet_title(name: str) -> str:
    """``name`` as spreadsheet software accepts it: at most 31 characters, none of
    ``: \\ / ? * [ ]`` or control characters, no apostrophe at either end, not blank."""
    title = _SHEET_FORBIDDEN.sub("_", name[:31])
    while len(title.encode("utf-16-le")) > 62:  # 31 UTF-16 units
        title = title[:-1]
    title = title.strip("'")
    if not title.strip():
        return "Sheet1"
    return title + "_" if title.lower() == "history" else title  # Excel reserves "History"


def _xml_text(value: str) -> str:
    """Element text: XML-escaped, with what XML cannot carry as ``_xHHHH_``."""
    if _UNSAFE.search(value):
        value = _UNSAFE.sub(lambda m: "_x005F_" if m[0] == "_" else f"_x{ord(m[0]):04X}_", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_attr(value: str) -> str:
    return _xml_text(value).replace('"', "&quot;")


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
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = str(value)
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'


_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CT_MACRO = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _sheet_xml(header: list[str], rows: Iterable[list[object]]) -> bytes:
    lines = [f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}"><sheetData>']
    table: list[list[object]] = [list(header), *rows]
    for r, values in enumerate(table, start=1):
        cells = "".join(
            _cell_xml(f"{_column_letters(c)}{r}", v) for c, v in enumerate(values) if v is not None
        )
        lines.append(f'<row r="{r}">{cells}</row>')
    lines.append("</sheetData></worksheet>")
    return "".join(lines).encode()


def _xlsx_parts(
    sheet_name: str, header: list[str], rows: Iterable[list[object]], *, macro: bool = False
) -> list[tuple[str, bytes]]:
    workbook = (
        f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<sheets><sheet name="{_xml_attr(sheet_title(sheet_name))}" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>"
    )
    content_types = (
        f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/octet-stream"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT_MACRO if macro else _CT_SHEET}"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT_WORKSHEET}"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT_STYLES}"/>'
        "</Types>"
    )
    root_rels = (
        f'{_XML_HEAD}<Relationships xmlns="{_PKG_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    book_rels = (
        f'{_XML_HEAD}<Relationships xmlns="{_PKG_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    return [
        ("[Content_Types].xml", content_types.encode()),
        ("_rels/.rels", root_rels.encode()),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels", book_rels.encode()),
        ("xl/styles.xml", _STYLES.encode()),
        ("xl/worksheets/sheet1.xml", _sheet_xml(header, rows)),
    ]


def _zip(parts: list[tuple[str, bytes]], padding: int = 0) -> bytes:
    """A deterministic zip of ``parts`` (deflated), plus a stored ``docProps/padding.bin`` of
    ``padding`` spaces when asked. Written by hand so the padding is copied only once."""
    pieces: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    entries: list[tuple[str, bytes, int]] = [(n, d, zipfile.ZIP_DEFLATED) for n, d in parts]
    filler = b" " * padding if padding > 0 else b""
    if padding > 0:
        entries.append(("docProps/padding.bin", filler, zipfile.ZIP_STORED))
    for name, data, method in entries:
        raw_name = name.encode()
        crc = zlib.crc32(data)
        if method == zipfile.ZIP_DEFLATED:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = packer.compress(data) + packer.flush()
        else:
            body = data
        if offset + len(body) >= 0xFFFFFFFF:
            raise ValueError("outputs of 4 GiB or more are not supported")
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            method,
            _ZIP_TIME,
            _ZIP_DATE,
            crc,
            len(body),
            len(data),
            len(raw_name),
            0,
        )
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                _ZIP_TIME,
                _ZIP_DATE,
                crc,
                len(body),
                len(data),
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw_name
        )
        pieces += (header, raw_name, body)
        offset += len(header) + len(raw_name) + len(body)
    directory = b"".join(central)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), offset, 0
    )
    return b"".join([*pieces, directory, end])


def make_xlsx(sheet_name: str, header: list[str], rows: list[list[object]]) -> bytes:
    """A minimal, valid one-sheet .xlsx: inline strings, numbers, booleans; deterministic.

    ``None`` cells are left empty; dicts and lists are written as JSON text; characters XML
    cannot carry are written as OOXML ``_xHHHH_`` escapes (``read_xlsx`` undoes them). The
    sheet is named ``sheet_title(sheet_name)``.
    """
    return _zip(_xlsx_parts(sheet_name, header, rows))


# -- buildings -------------------------------------------------------------------------------

# (city, state, zip, county, latitude, longitude)
_PLACES = (
    ("Miami", "FL", "33131", "Miami-Dade", 25.7617, -80.1918),
    ("Tampa", "FL", "33602", "Hillsborough", 27.9506, -82.4572),
    ("Orlando", "FL", "32801", "Orange", 28.5384, -81.3789),
    ("Houston", "TX", "77002", "Harris", 29.7604, -95.3698),
    ("Dallas", "TX", "75201", "Dallas", 32.7767, -96.7970),
    ("Charleston", "SC", "29401", "Charleston", 32.7765, -79.9311),
    ("New Orleans", "LA", "70112", "Orleans", 29.9511, -90.0715),
    ("Atlanta", "GA", "30303", "Fulton", 33.7490, -84.3880),
)
_STREETS = (
    "Main St", "Ocean Dr", "Elm St", "Harbor Blvd", "Industrial Pkwy", "Commerce Way",
    "Market St", "Park Ave",
)  # fmt: skip
# occupancy -> (building name, stories low/high, area per story low/high, $ per sq ft low/high)
_OCCUPANCIES = {
    "Office": ("Office Building", 1, 12, 5_000, 25_000, 180, 320),
    "Warehouse": ("Distribution Center", 1, 2, 20_000, 120_000, 70, 120),
    "Retail": ("Retail Store", 1, 2, 3_000, 30_000, 140, 240),
    "Light Manufacturing": ("Plant", 1, 3, 15_000, 80_000, 90, 160),
    "Apartments": ("Apartments", 2, 8, 6_000, 20_000, 150, 260),
    "Hotel": ("Hotel", 3, 15, 8_000, 20_000, 200, 350),
}
_CONSTRUCTIONS = ("Frame", "Joisted Masonry", "Masonry Non-Combustible", "Fire Resistive")


def _building(sovid: str, sheet: str, row: int, counter: int, salt: str) -> dict[str, object]:
    h = blake2b(f"{sovid}\x1f{salt}\x1f{row}".encode(), digest_size=32).digest()
    city, state, postal, county, lat, lon = _PLACES[h[0] % len(_PLACES)]
    occupancy = list(_OCCUPANCIES)[h[1] % len(_OCCUPANCIES)]
    label, st_lo, st_hi, area_lo, area_hi, rate_lo, rate_hi = _OCCUPANCIES[occupancy]
    stories = st_lo + h[2] % (st_hi - st_lo + 1)
    per_story = area_lo + (int.from_bytes(h[3:5], "big") % ((area_hi - area_lo) // 500 + 1)) * 500
    area = stories * per_story
    construction = _CONSTRUCTIONS[
        min(3, (stories > 3) * 2 + h[5] % 2) if stories > 1 else h[5] % len(_CONSTRUCTIONS)
    ]
    rate = rate_lo + h[6] % (rate_hi - rate_lo + 1)
    building_limit = area * rate // 1000 * 1000
    return {
        "item_key": f"i-{sovid}!{sheet}!{row}",
        "building_counter": counter,
        "sheet_name": sheet,
        "sheet_row_number": row,
        "parsing_sheet_name": sheet,
        "bldg_name": f"{city} {label} {counter}",
        "street": f"{100 + int.from_bytes(h[7:9], 'big') % 9800} {_STREETS[h[9] % len(_STREETS)]}",
        "city": city,
        "state": state,
        "zip": postal,
        "county": county,
        "country": "US",
        "latitude": round(lat + (h[10] - 128) / 2560, 5),
        "longitude": round(lon + (h[11] - 128) / 2560, 5),
        "occupancy__desc_ping": occupancy,
        "const__desc_ping": construction,
        "const__bldg_year_built": 1955 + h[12] % 69,
        "const__num_stories": stories,
        "const__bldg_area": area,
        "limits__building_limit": building_limit,
        "limits__bpp_limit": building_limit * (10 + h[13] % 31) // 100_000 * 1000,
        "limits__bi_limit": building_limit * (5 + h[14] % 16) // 100_000 * 1000,
    }


def seed_buildings(sovid: str, count: int = 26) -> list[dict[str, object]]:
    """The docs' seed SOV: ``count`` buildings on Sheet1, rows 2 upward; deterministic."""
    return [_building(sovid, "Sheet1", row, row - 1, "seed") for row in range(2, count + 2)]


def synthetic_buildings(sovid: str, filename: str, count: int = 12) -> list[dict[str, object]]:
    """Buildings for uploads this emulator does not read (.xls, .xlsm, .xlsb, .pdf ...).

    Deterministic from (sovid, filename), on Sheet1 rows 2 upward, shaped as the seed's.
    """
    return [
        _building(sovid, "Sheet1", row, row - 1, f"file:{filename}") for row in range(2, count + 2)
    ]


def _key(header: str) -> str:
    """A header reduced for matching: lower case, words separated by one space."""
    return " ".join(re.sub(r"[^0-9a-z#]+", " ", header.lower()).split())


# (normalised headers, Ping attribute, priority): a more specific header wins a tie
_HEADER_GROUPS: tuple[tuple[tuple[str, ...], str, int], ...] = (
    (("building name", "bldg name", "location name", "property name"), "bldg_name", 2),
    (("name", "location", "building"), "bldg_name", 1),
    (("street address", "address 1", "address line 1", "street"), "street", 2),
    (("address", "location address", "property address"), "street", 1),
    (("city", "town", "city town"), "city", 2),
    (("state", "state code", "st", "province", "state province"), "state", 2),
    (("zip", "zip code", "zipcode", "postal code", "postcode", "zip postal code"), "zip", 2),
    (("county",), "county", 2),
    (("country", "country code"), "country", 2),
    (("latitude", "lat"), "latitude", 2),
    (("longitude", "long", "lon", "lng"), "longitude", 2),
    (
        ("occupancy", "occupancy type", "occupancy description", "occupancy desc", "use"),
        "occupancy__desc_ping",
        2,
    ),
    (
        ("construction", "construction type", "construction description", "construction class"),
        "const__desc_ping",
        2,
    ),
    (("year built", "yr built", "year of construction", "built"), "const__bldg_year_built", 2),
    (
        ("stories", "# stories", "# of stories", "no of stories", "number of stories"),
        "const__num_stories",
        2,
    ),
    (("num stories", "floors", "# floors", "number of floors"), "const__num_stories", 2),
    (
        ("square feet", "square footage", "sq ft", "sqft", "area", "building area", "floor area"),
        "const__bldg_area",
        2,
    ),
    (
        ("building value", "building limit", "bldg value", "building replacement cost"),
        "limits__building_limit",
        2,
    ),
    (("tiv", "total insured value", "total value"), "limits__building_limit", 1),
    (
        ("contents", "contents value", "bpp", "business personal property", "bpp limit"),
        "limits__bpp_limit",
        2,
    ),
    (
        ("bi", "business income", "bi ee", "time element", "bi limit", "rents"),
        "limits__bi_limit",
        2,
    ),
)
_HEADERS: dict[str, tuple[str, int]] = {
    name: (attribute, priority) for names, attribute, priority in _HEADER_GROUPS for name in names
}
_IDENTITY = ("item_key", "building_counter", "sheet_name", "sheet_row_number", "parsing_sheet_name")
_ORDER = {name: i for i, name in enumerate(_building("s", "S", 2, 1, "order"))}
_INTEGER_FIELDS = frozenset({"const__bldg_year_built", "const__num_stories", "const__bldg_area"})
_MONEY_FIELDS = frozenset({"limits__building_limit", "limits__bpp_limit", "limits__bi_limit"})
_SNAKE = re.compile(r"[a-z_][a-z0-9_]*")


def _snake(header: str) -> str:
    """A header as an attribute name; names that already are one (``const__num_stories``)
    are kept as they are."""
    stripped = header.strip()
    if _SNAKE.fullmatch(stripped):
        return stripped
    return re.sub(r"[^0-9a-z]+", "_", stripped.lower()).strip("_") or "column"


def _coerce(name: str, value: object) -> object:
    """Numbers for numeric attributes when the cell holds one as text (``$1,250,000``)."""
    if isinstance(value, str) and (name in _INTEGER_FIELDS or name in _MONEY_FIELDS):
        text = value.strip().replace(",", "").replace("$", "").strip()
        number = _number(text) if text else value
        if isinstance(number, int | float):
            return number
        return value
    if isinstance(value, float) and name in _INTEGER_FIELDS and value.is_integer():
        return int(value)
    if name == "zip" and isinstance(value, int) and 0 <= value < 100_000:
        return f"{value:05d}"  # a zip stored as a number lost its leading zeros
    if isinstance(value, str):
        return value.strip()
    return value


def buildings_from_rows(
    sovid: str, sheet_name: str, rows: list[dict[str, object]]
) -> list[dict[str, object]]:
    """Buildings from ``read_xlsx`` rows, common SOV headers mapped to Ping attribute names.

    Headers are matched case- and punctuation-insensitively ("Building Name", "Address",
    "Zip Code", "TIV", "Year Built", "# Stories" ...); when two columns map to the same
    attribute the more specific header wins (a "Building Value" column over "TIV"). Other
    columns keep their own snake_case names; numeric attributes written as text become numbers.
    Keys come in the seed buildings' order, then the other columns in sheet order.
    """
    out: list[dict[str, object]] = []
    for counter, row in enumerate(rows, start=1):
        number_value = row.get("sheet_row_number", counter + 1)
        number = number_value if isinstance(number_value, int) else counter + 1
        mapped: dict[str, tuple[int, object]] = {}
        extra: dict[str, object] = {}
        for header, value in row.items():
            if header == "sheet_row_number":
                continue
            target = _HEADERS.get(_key(header))
            if target is None:
                name = _snake(header)
                if name in _IDENTITY:  # the building's own identity is not the sheet's to set
                    extra.setdefault(f"source_{name}", _coerce(name, value))
                    continue
                if name not in _ORDER:  # not an attribute we know: kept under its own name
                    extra.setdefault(name, _coerce(name, value))
                    continue
                target = (name, 3)  # already a Ping attribute name
            attribute, priority = target
            if _is_blank(value) and attribute in mapped:
                continue
            if attribute not in mapped or priority > mapped[attribute][0]:
                mapped[attribute] = (priority, _coerce(attribute, value))
        building: dict[str, object] = {
            "item_key": f"i-{sovid}!{sheet_name}!{number}",
            "building_counter": counter,
            "sheet_name": sheet_name,
            "sheet_row_number": number,
            "parsing_sheet_name": sheet_name,
        }
        for attribute in sorted(mapped, key=lambda a: _ORDER.get(a, len(_ORDER))):
            if attribute not in _IDENTITY:
                building[attribute] = mapped[attribute][1]
        for name, value in extra.items():
            building.setdefault(name, value)
        out.append(building)
    return out


# -- outputs ---------------------------------------------------------------------------------


def _finite(value: object) -> object:
    """JSON-safe: non-finite floats become their text (JSON has no NaN/Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json_bytes(document: dict[str, object]) -> bytes:
    try:
        text = json.dumps(document, indent=2, allow_nan=False, default=str)
    except ValueError:  # a NaN or infinity somewhere
        text = json.dumps(_finite(document), indent=2, allow_nan=False, default=str)
    return text.encode()


def _columns(buildings: list[Mapping[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for building in buildings:
        for key in building:
            seen.setdefault(key, None)
    return list(seen)


def _text_table(columns: list[str], table: list[list[object]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in table:
        writer.writerow(
            [
                ""
                if v is None
                else json.dumps(v, sort_keys=True, default=str)
                if isinstance(v, dict | list)
                else v
                for v in row
            ]
        )
    return buffer.getvalue().encode()


def _pad_text(body: bytes, pad_to: int, filler: bytes) -> bytes:
    missing = pad_to - len(body)
    if missing <= 0:
        return body
    return b"".join((body, filler * missing))  # one multiplication, one copy


def render_output(
    sov: Mapping[str, object], output_format: str, extension: str, pad_to: int = 0
) -> bytes:
    """The bytes of ``sov`` as ``output_format`` with file ``extension``; at least ``pad_to`` long.

    ``sov`` is ``{"id", "source_filename", "num_buildings", "extra_data", "buildings"}``.
    ``json`` (and any unknown extension): the JSON document of contract 7.3 (DEBUGJSON adds
    a ``debug`` section), padded with trailing whitespace. ``xlsx``/``xlsm``/``xls``/``xlsb``:
    a workbook of the buildings, one row each, padded with a stored ``docProps/padding.bin``.
    ``csv``/``tsv``/``txt``: a table of the buildings, padded with trailing newlines.
    Deterministic: the same input always gives the same bytes. Padding is built with one
    multiplication and copied once (about twice ``pad_to`` of memory at the peak); workbooks
    of 4 GiB or more (no zip64) raise ValueError.
    """
    raw_buildings = sov.get("buildings")
    buildings: list[Mapping[str, object]] = (
        [b for b in raw_buildings if isinstance(b, Mapping)]
        if isinstance(raw_buildings, list | tuple)
        else []
    )
    fmt = output_format.strip().upper()
    ext = extension.strip().lower().lstrip(".")
    pad_to = max(0, int(pad_to))
    if ext in ("xlsx", "xlsm", "xls", "xlsb"):
        columns = _columns(buildings)
        table = [[b.get(c) for c in columns] for b in buildings]
        parts = _xlsx_parts(fmt.title() or "Sheet1", columns, table, macro=ext == "xlsm")
        data = _zip(parts)
        if len(data) < pad_to:
            # a stored entry costs its data plus 30 + 46 bytes of headers and twice its name
            overhead = 76 + 2 * len("docProps/padding.bin")
            data = _zip(parts, padding=max(1, pad_to - len(data) - overhead))
        return data
    if ext in ("csv", "tsv", "txt"):
        columns = _columns(buildings)
        table = [[b.get(c) for c in columns] for b in buildings]
        body = _text_table(columns, table, "," if ext == "csv" else "\t")
        return _pad_text(body, pad_to, b"\n")
    extra_data = sov.get("extra_data")
    document: dict[str, object] = {
        "id": sov.get("id"),
        "source_filename": sov.get("source_filename"),
        "num_buildings": len(buildings),
        "extra_data": extra_data if isinstance(extra_data, Mapping) else {},
        "buildings": buildings,
    }
    if fmt == "DEBUGJSON":
        columns = _columns(buildings)
        document["debug"] = {
            "output_format": fmt,
            "num_columns": len(columns),
            "columns": columns,
            "sheets": sorted({str(b.get("sheet_name")) for b in buildings if "sheet_name" in b}),
            "fill_rates": {
                c: round(sum(1 for b in buildings if not _is_blank(b.get(c))) / len(buildings), 4)
                for c in columns
            },
        }
    body = _json_bytes(document) + b"\n"
    return _pad_text(body, pad_to, b" ")
