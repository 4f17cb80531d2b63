"""The OOXML package of an upload: parts streamed into expat, small parts as trees, and the
first sheet found through the relationships (not by file name).

Every part is inflated in chunks (:mod:`zipread`) straight into an expat parser; documents
with a DTD are refused (no entity expansion at all) and elements nest at most 64 deep.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from xml.parsers import expat

from attrs import define, field

from sovfixer_async.emulator.zipread import BoundedZip

_OFFICE_DOC = "/officeDocument"
_SHARED_REL = "/sharedStrings"
_SMALL_PART_BYTES = 4 * 1024 * 1024
#: Deepest element nesting read (expat keeps a stack entry per open element).
MAX_DEPTH = 64


class WorkbookError(Exception):
    """The upload is not a workbook this emulator can read."""


def local_name(name: str) -> str:
    """``namespace}name`` -> ``name`` (transitional and strict OOXML use different ones)."""
    return name.rpartition("}")[2]


def _refuse(*_: object) -> None:
    raise WorkbookError("the workbook declares a DTD (refused)")


def parse_part(
    book: BoundedZip,
    name: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    text: Callable[[str], None] | None,
    max_bytes: int,
) -> None:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    book.stream(name, lambda chunk: parser.Parse(chunk, False), max_bytes)
    parser.Parse(b"", True)


@define
class _Node:
    tag: str
    attrib: dict[str, str]
    children: list[_Node] = field(factory=list)


def _tree(book: BoundedZip, name: str) -> _Node:
    """A small part (workbook, relationships) as a tree of elements, without text."""
    root: list[_Node] = []
    stack: list[_Node] = []
    count = 0

    def start(tag: str, attrib: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if len(stack) >= MAX_DEPTH:
            raise WorkbookError(f"{name} nests elements deeper than {MAX_DEPTH}")
        if count > book.limits.max_tree_elements:
            raise WorkbookError(f"{name} has too many elements")
        node = _Node(local_name(tag), attrib)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(_: str) -> None:
        stack.pop()

    parse_part(book, name, start, end, None, _SMALL_PART_BYTES)
    if not root:
        raise WorkbookError(f"{name} is empty")
    return root[0]


def _rels(book: BoundedZip, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, resolved target part) of ``part``."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if rels_name not in book.names:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for rel in _tree(book, rels_name).children:
        target = rel.attrib.get("Target") or ""
        if rel.tag != "Relationship" or rel.attrib.get("TargetMode") == "External":
            continue
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        out[rel.attrib.get("Id") or ""] = (rel.attrib.get("Type") or "", resolved)
    return out


def first_sheet(book: BoundedZip) -> tuple[str, str, str | None]:
    """(first sheet's name, its part, the shared strings part or None), via the workbook."""
    workbook_part = next(
        (
            t
            for kind, t in _rels(book, "").values()
            if kind.endswith(_OFFICE_DOC) and t in book.names
        ),
        "xl/workbook.xml",
    )
    workbook = _tree(book, workbook_part)
    sheets = next((n for n in workbook.children if n.tag == "sheets"), None)
    first = next((n for n in sheets.children if n.tag == "sheet"), None) if sheets else None
    if first is None:
        raise WorkbookError("the workbook lists no sheets")
    rel_id = next((v for k, v in first.attrib.items() if local_name(k) == "id"), None)
    rels = _rels(book, workbook_part)
    if not rels:
        raise WorkbookError("the workbook has no relationships part")
    if rel_id not in rels:
        raise WorkbookError("the first sheet's relationship is missing")
    shared = next((t for kind, t in rels.values() if kind.endswith(_SHARED_REL)), None)
    if shared is None and "xl/sharedStrings.xml" in book.names:
        shared = "xl/sharedStrings.xml"
    return first.attrib.get("name") or "Sheet1", rels[rel_id][1], shared
