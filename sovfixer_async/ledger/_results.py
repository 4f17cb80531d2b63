"""Bulk results kept per batch in the ledger (gzip-compressed JSONL, one line per
location), so ``results()`` works from any machine; read back as untrusted data."""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from sovfixer_async._bulk import _files
from sovfixer_async.ledger import _store
from sovfixer_async.ledger._db import Database, Tx
from sovfixer_async.ledger._types import LedgerDataError, LedgerError
from sovfixer_async.models import SourceResult

#: Bytes one batch's results may inflate to when read back.
MAX_BATCH_RESULTS = 512 * 1024 * 1024
#: Longest line of results read back.
MAX_LINE = 16 * 1024 * 1024


async def batch_results(
    body: dict[str, Any], files: list[Path], failure: str | None
) -> tuple[int, bytes]:
    """One line per location of the batch ``body``: its results in ``files``, or a failed
    result per source (saying ``failure``) when the output lacks it. Gzipped."""

    def build() -> tuple[int, bytes]:
        with tempfile.TemporaryDirectory(prefix="sovfixer-ledger-batch-") as folder:
            body_path = Path(folder) / "body.json"
            body_path.write_text(json.dumps(body), encoding="utf-8")
            part = Path(folder) / "part.jsonl"
            count = _files.write_part(part, files, failure, body=body_path)
            return count, gzip.compress(part.read_bytes(), compresslevel=5)

    return await anyio.to_thread.run_sync(build)


def _unplanned_lines(body_data: bytes | None, reason: str) -> list[bytes]:
    """Failed lines for a batch with no stored results (held, failed to submit...)."""
    try:
        body = json.loads(body_data or b"")
        default = body.get("sources") or []
        lines = []
        for location in body["locations"]:
            sources = location.get("sources") or default
            results = {str(s): {"is_success": False, "error_message": reason} for s in sources}
            lines.append(json.dumps({"id": str(location["id"]), "results": results}).encode())
        return lines
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LedgerDataError("a batch body in the ledger is unreadable") from None


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, MAX_BATCH_RESULTS + 1)
    if len(out) > MAX_BATCH_RESULTS or inflater.unconsumed_tail:
        raise LedgerDataError(f"a batch's results inflate past {MAX_BATCH_RESULTS} bytes")
    return out


def _batch_lines(tx: Tx, *, item_id: int) -> list[bytes]:
    row = tx.one("SELECT lines FROM ledger_results WHERE item_id = ?", (item_id,))
    if row is not None:
        try:
            return _inflate(bytes(row[0])).splitlines()
        except zlib.error:
            raise LedgerDataError(f"ledger item {item_id}: its results are unreadable") from None
    item = _store.load(tx, item_id)
    why = item.reason or f"this batch is {item.state}"
    return _unplanned_lines(item.input, f"no result: {why}")


async def results(db: Database, run_id: str) -> AsyncIterator[tuple[str, dict[str, SourceResult]]]:
    """``(location_id, {source: SourceResult})`` for every location of the run, batch by
    batch; locations of batches without results carry failed results saying why."""
    rows = await db.run(
        lambda tx: tx.q(
            "SELECT id FROM ledger_items WHERE run_id = ? AND kind = 'enhance_batch' "
            "ORDER BY seq, id",
            (run_id,),
        ),
        write=False,
    )
    if not rows:
        raise LedgerError(f"no bulk run {run_id!r} in the ledger")
    for (item_id,) in rows:
        lines = await db.run(partial(_batch_lines, item_id=int(item_id)), write=False)
        for line in lines:
            if len(line) > MAX_LINE:
                raise LedgerDataError(f"ledger item {item_id}: a result line is too long")
            try:
                entry = json.loads(line)
                location_id = entry["id"]
                if not isinstance(location_id, str):
                    raise TypeError
                by_source = {
                    str(source): SourceResult.from_dict(value)
                    for source, value in entry["results"].items()
                }
            except (ValueError, KeyError, TypeError, AttributeError):
                raise LedgerDataError(
                    f"ledger item {item_id}: a result line is unreadable"
                ) from None
            yield location_id, by_source
