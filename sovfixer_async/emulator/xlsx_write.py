"""Writing workbooks: a minimal, valid, deterministic one-sheet .xlsx (stdlib ``zipfile``).

Output bytes depend only on their input (fixed zip timestamps and attributes), so the same
rows always give the same file and the same ETag.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Iterable

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# characters XML 1.0 cannot carry (and CR, which XML turns into LF), written as _xHHHH_;
# a literal "_xHHHH_" is protected by escaping its underscore
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)
_SHEET_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f:\\/?*\[\]\ud800-\udfff\ufffe\uffff]")


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


def xlsx_parts(
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


def _entry(name: str, method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _ZIP_DATE_TIME)
    info.compress_type = method
    info.create_system = 0  # the same bytes on every platform
    info.external_attr = 0o600 << 16  # a regular file, rw------- (zipfile would set it anyway)
    return info


#: Bytes a stored entry adds besides its data: local header (30) + central record (46),
#: each also carrying the entry name.
STORED_OVERHEAD = 76


def zip_parts(parts: list[tuple[str, bytes]], padding: int = 0, comment: int = 0) -> bytes:
    """A deterministic zip of ``parts`` (deflated), plus a stored ``docProps/padding.bin`` of
    ``padding`` spaces and an archive comment of ``comment`` spaces (at most 65,535) when
    asked. Workbooks of 4 GiB or more (no zip64) raise ValueError."""
    size = sum(len(data) for _, data in parts) + max(0, padding)
    if size >= 0xFFFFFFFF:
        raise ValueError("outputs of 4 GiB or more are not supported")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=False) as book:
        book.comment = b" " * min(max(0, comment), 0xFFFF)
        for name, data in parts:
            book.writestr(_entry(name, zipfile.ZIP_DEFLATED), data)
        if padding > 0:
            with book.open(_entry(PADDING_NAME, zipfile.ZIP_STORED), "w") as part:
                chunk = b" " * min(padding, 1 << 20)
                left = padding
                while left > 0:  # written in slices: the padding is never held whole
                    part.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
    return buffer.getvalue()


PADDING_NAME = "docProps/padding.bin"


def make_xlsx(sheet_name: str, header: list[str], rows: list[list[object]]) -> bytes:
    """A minimal, valid one-sheet .xlsx: inline strings, numbers, booleans; deterministic.

    ``None`` cells are left empty; dicts and lists are written as JSON text; characters XML
    cannot carry are written as OOXML ``_xHHHH_`` escapes (``read_xlsx`` undoes them). The
    sheet is named ``sheet_title(sheet_name)``.
    """
    return zip_parts(xlsx_parts(sheet_name, header, rows))
