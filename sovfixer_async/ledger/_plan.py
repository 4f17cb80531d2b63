"""Planning: every input validated as the Client would, then copied into the ledger (a
path on one machine means nothing on another)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import anyio

from sovfixer_async._bulk._submit import BulkOptions, prepare_batches
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._locations import LocationsInput, update_csv_batches
from sovfixer_async._refs import check_client_ref
from sovfixer_async._urls import check_id
from sovfixer_async._workflows.parse import PARSE_EXTENSIONS
from sovfixer_async.ledger import _store
from sovfixer_async.ledger._db import Database, Tx
from sovfixer_async.ledger._types import ENHANCE, OUTPUT, PARSE, UPDATE, PlannedRun
from sovfixer_async.models._checks import require_str_list

#: The largest input the ledger copies in (a workbook, an update's CSV, one batch body).
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: Longest file name kept for a parse input.
MAX_NAME = 255


async def _read(file: str | PathLike[str] | bytes, what: str) -> bytes:
    if isinstance(file, bytes | bytearray):
        data = bytes(file)
    else:
        path = Path(file)
        if not path.is_file():
            raise InvalidInputError(f"file not found: {path}", field=what)
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InvalidInputError(f"{path} is larger than {MAX_INPUT_BYTES} bytes", field=what)
        data = await anyio.Path(path).read_bytes()
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInputError(f"the input is larger than {MAX_INPUT_BYTES} bytes", field=what)
    return data


def check_name(name: object) -> str:
    """A parse input's file name: a bare name with a known extension (also read back)."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > MAX_NAME
        or Path(name).name != name
        or name in (".", "..")
        or not name.isprintable()
        or "\\" in name
    ):
        raise InvalidInputError("a parse input's file name is a bare file name", field="filename")
    if Path(name).suffix.lower() not in PARSE_EXTENSIONS:
        raise InvalidInputError(
            f"unsupported file type of {name!r}; expected one of {', '.join(PARSE_EXTENSIONS)}",
            field="filename",
        )
    return name


async def plan_parse(
    db: Database,
    file: str | PathLike[str] | bytes,
    *,
    filename: str | None,
    document_type: str,
    output_formats: Sequence[str] | None,
    client_ref: str | None,
    extra_data: Mapping[str, Any] | None,
) -> int:
    if isinstance(file, bytes | bytearray):
        if filename is None:
            raise InvalidInputError("give filename=... when file is bytes", field="filename")
        name = filename
    else:
        name = filename or Path(file).name
    name = check_name(name)
    params: dict[str, Any] = {"document_type": str(document_type)}
    if output_formats is not None:
        params["output_formats"] = require_str_list(output_formats, "output_formats")
    if client_ref is not None:
        params["client_ref"] = check_client_ref(client_ref, "client_ref")
    if extra_data:
        params["extra_data"] = {str(k): str(v) for k, v in extra_data.items()}
    data = await _read(file, "file")
    return await db.run(lambda tx: _store.insert_item(tx, PARSE, params, data, name))


async def plan_update(
    db: Database,
    sovid: str,
    locations: str | PathLike[str] | bytes,
    *,
    output_formats: Sequence[str] | None,
    update_type: str | None,
    client_ref: str | None,
    extra_data: Mapping[str, Any] | None,
) -> int:
    params: dict[str, Any] = {"sovid": check_id(sovid, "sovid")}
    if output_formats is not None:
        params["output_formats"] = require_str_list(output_formats, "output_formats")
    if update_type is not None:
        params["update_type"] = str(update_type)
    if client_ref is not None:
        params["client_ref"] = check_client_ref(client_ref, "client_ref")
    if extra_data:
        params["extra_data"] = {str(k): str(v) for k, v in extra_data.items()}
    data = await _read(locations, "locations")
    await update_csv_batches(data, 5000)  # every row checked now, not on a worker later
    return await db.run(lambda tx: _store.insert_item(tx, UPDATE, params, data, "rows.csv"))


async def plan_output(
    db: Database,
    sovid_or_sudid: str,
    output_format: str,
    *,
    revision: int,
    overwrite_existing: bool,
) -> int:
    if not isinstance(output_format, str) or not output_format.strip():
        raise InvalidInputError("an output format is a name", field="output_format")
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise InvalidInputError("revision is a whole number", field="revision")
    params = {
        "sovid": check_id(sovid_or_sudid, "sovid_or_sudid"),
        "output_format": output_format,
        "revision": revision,
        "overwrite_existing": bool(overwrite_existing),
    }
    return await db.run(lambda tx: _store.insert_item(tx, OUTPUT, params))


async def plan_enhance(
    db: Database,
    locations: LocationsInput,
    *,
    sources: Sequence[str],
    batch_size: int,
    include_raw_response: bool,
    check_cache: bool,
    timeout: float | None,
) -> PlannedRun:
    """Validate every location, cut the batches' bodies, and copy them in one transaction.

    The bodies are written to a temporary folder first and read back one at a time inside
    the transaction, so planning a million locations holds one batch in memory, not all.
    """
    checked = tuple(require_str_list(sources, "sources"))
    if not checked:
        raise InvalidInputError("name at least one datasource", field="sources")
    options = BulkOptions(checked, include_raw_response, check_cache, timeout, None)
    run_id = str(uuid.uuid4())
    with tempfile.TemporaryDirectory(prefix="sovfixer-ledger-plan-") as name:
        folder = Path(name)
        counts = await prepare_batches(locations, options, batch_size, folder)
        if not counts:
            raise InvalidInputError("no locations to enhance", field="locations")

        def insert(tx: Tx) -> list[int]:
            return [
                _store.insert_item(
                    tx,
                    ENHANCE,
                    {"count": count},
                    (folder / f"body-{seq:05d}.json").read_bytes(),
                    None,
                    run_id,
                    seq,
                )
                for seq, count in enumerate(counts, start=1)
            ]

        ids = await db.run(insert)
    return PlannedRun(run_id, tuple(ids), sum(counts))
