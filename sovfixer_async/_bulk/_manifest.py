"""A bulk run's state folder: what must outlive the process that submitted the run.

``<state_dir>/runs/<run UUID>/`` holds ``manifest.json`` (each batch's number, state and
job id), ``journal.jsonl`` (the state changes since the manifest was written, appended
before and after each submission, so a killed process leaves a truthful record), one
``ids-NNNNN.json`` per batch (its location ids) and ``body-NNNNN.json`` for each batch the
server has not accepted yet. The folder is found by the run's UUID (never by a path read
from a token), removed once the run is merged with nothing left to send, and pruned after
``ClientConfig.state_max_age`` if it never is. Everything read back is untrusted: sizes
are capped and shapes checked.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from attrs import define

from sovfixer_async._errors import InvalidInputError
from sovfixer_async._urls import check_id
from sovfixer_async._workfolders import MARKER

ACCEPTED = "accepted"
PENDING = "pending"
UNKNOWN = "unknown"
#: Written to the journal just before a batch is sent; read back, it means unknown.
SENDING = "sending"
STATES = (ACCEPTED, PENDING, UNKNOWN)

MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 16 << 20
MAX_JOURNAL_BYTES = 64 << 20
MAX_IDS_BYTES = 256 << 20
MAX_BATCHES = 100_000
MAX_BATCH_LOCATIONS = 10_000_000
MAX_SOURCES = 1000


@define
class Entry:
    """One batch as the manifest records it."""

    number: int
    state: str
    job_id: str | None
    count: int


@define
class Manifest:
    sources: list[str]
    entries: list[Entry]


def _bad(what: str) -> InvalidInputError:
    return InvalidInputError(f"the run's manifest is not usable: {what}", field="manifest")


def _read_capped(path: Path, cap: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise _bad(f"{path.name} is larger than {cap} bytes")
    return data


class RunState:
    """The state folder of one run (found by its UUID under the state root)."""

    def __init__(self, root: Path, run_id: str):
        if str(uuid.UUID(run_id)) != run_id:  # the caller checked it; never a path
            raise InvalidInputError("a bulk run id is a UUID", field="run_id")
        self.root = root
        self.dir = root / "runs" / run_id
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"<RunState {self.dir}>"

    def body(self, number: int) -> Path:
        return self.dir / f"body-{number:05d}.json"

    def ids(self, number: int) -> Path:
        return self.dir / f"ids-{number:05d}.json"

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def journal(self) -> Path:
        return self.dir / "journal.jsonl"

    def exists(self) -> bool:
        return self.owned() and self.manifest.is_file()

    def owned(self) -> bool:
        """The folder is a real one this SDK made (marked, not a symlink)."""
        return not self.dir.is_symlink() and (self.dir / MARKER).is_file()

    def create(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=False, mode=0o700)
        (self.dir / MARKER).touch()

    # -- writing -----------------------------------------------------------------------

    def write_manifest(self, manifest: Manifest) -> None:
        """The whole manifest, atomically; the journal it absorbed is then removed."""
        data = {
            "v": MANIFEST_VERSION,
            "run": self.run_id,
            "sources": manifest.sources,
            "batches": [
                {"n": e.number, "state": e.state, "id": e.job_id, "count": e.count}
                for e in manifest.entries
            ],
        }
        tmp = self.manifest.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, self.manifest)
        self.journal.unlink(missing_ok=True)

    def record(self, number: int, state: str, job_id: str | None = None) -> None:
        """Append one state change (small, so a crash leaves at most one torn line)."""
        line = json.dumps({"n": number, "state": state, "id": job_id}, separators=(",", ":"))
        with open(self.journal, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def remove(self) -> None:
        if self.owned():
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- reading (untrusted) -----------------------------------------------------------

    def read(self) -> Manifest | None:
        """The manifest with its journal applied; None when there is none."""
        if not self.exists():
            return None
        raw = _read_capped(self.manifest, MAX_MANIFEST_BYTES)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise _bad("manifest.json is not JSON") from None
        manifest = _check_manifest(data, self.run_id)
        if self.journal.is_file():
            _apply_journal(manifest, _read_capped(self.journal, MAX_JOURNAL_BYTES))
        return manifest

    def read_ids(self, number: int, count: int) -> list[str] | None:
        """A batch's location ids; None when the file is gone."""
        path = self.ids(number)
        if not self.owned() or not path.is_file():
            return None
        raw = _read_capped(path, MAX_IDS_BYTES)
        try:
            ids = json.loads(raw)
        except (ValueError, RecursionError):
            raise _bad(f"{path.name} is not JSON") from None
        if not isinstance(ids, list) or len(ids) != count:
            raise _bad(f"{path.name} does not list the batch's {count} location ids")
        if not all(isinstance(i, str) for i in ids):
            raise _bad(f"{path.name} holds a location id that is not a string")
        return ids


def _check_manifest(data: Any, run_id: str) -> Manifest:
    if not isinstance(data, dict) or data.get("v") != MANIFEST_VERSION:
        raise _bad("unknown version")
    if data.get("run") != run_id:
        raise _bad("it names another run")
    sources = data.get("sources")
    if (
        not isinstance(sources, list)
        or len(sources) > MAX_SOURCES
        or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in sources)
    ):
        raise _bad("bad sources")
    batches = data.get("batches")
    if not isinstance(batches, list) or not 0 < len(batches) <= MAX_BATCHES:
        raise _bad("bad batch list")
    entries = []
    for index, item in enumerate(batches, start=1):
        if not isinstance(item, dict):
            raise _bad(f"batch {index} is not an object")
        number, state, job_id, count = (item.get(k) for k in ("n", "state", "id", "count"))
        if type(number) is not int or number != index:
            raise _bad(f"batch {index} has number {number!r}")
        if state not in STATES:
            raise _bad(f"batch {index} has state {state!r}")
        if type(count) is not int or not 0 < count <= MAX_BATCH_LOCATIONS:
            raise _bad(f"batch {index} has count {count!r}")
        if (state == ACCEPTED) != (job_id is not None):
            raise _bad(f"batch {index}: a job id goes with the accepted state only")
        if job_id is not None:
            check_id(job_id, f"manifest.batches[{index}].id")
        entries.append(Entry(number, str(state), job_id, count))
    return Manifest(list(sources), entries)


def _apply_journal(manifest: Manifest, data: bytes) -> None:
    entries = manifest.entries
    for raw in data.split(b"\n"):
        try:
            change = json.loads(raw)
        except (ValueError, RecursionError):
            break  # a torn last line (the process died writing it): nothing after it
        if not isinstance(change, dict):
            raise _bad("a journal line is not an object")
        number, state, job_id = change.get("n"), change.get("state"), change.get("id")
        if type(number) is not int or not 1 <= number <= len(entries):
            raise _bad(f"a journal line names batch {number!r}")
        entry = entries[number - 1]
        if entry.state == ACCEPTED:
            continue  # accepted is final
        if state == ACCEPTED:
            entry.state, entry.job_id = ACCEPTED, check_id(job_id, "journal id")
        elif state in (SENDING, UNKNOWN):
            entry.state = UNKNOWN  # sent, and no answer recorded: the server may have it
        elif state == PENDING:
            entry.state = PENDING
        else:
            raise _bad(f"a journal line has state {state!r}")


#: When each state root was last pruned by this process.
_PRUNED: dict[Path, float] = {}
PRUNE_EVERY = 3600.0


def prune_sometimes(root: Path, max_age: float) -> list[Path]:
    """``prune``, at most once an hour per state root and process."""
    now = time.monotonic()
    last = _PRUNED.get(root)
    if last is not None and now - last < PRUNE_EVERY:
        return []
    _PRUNED[root] = now
    return prune(root, max_age)


def prune(root: Path, max_age: float, now: float | None = None) -> list[Path]:
    """Remove the runs under ``root`` untouched for ``max_age`` seconds; the removed ones."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    runs = root / "runs"
    if not runs.is_dir():
        return removed
    for path in runs.iterdir():
        try:
            if str(uuid.UUID(path.name)) != path.name:
                continue
        except ValueError:
            continue
        if path.is_symlink() or not (path / MARKER).is_file():
            continue
        newest = max(
            (
                p.stat().st_mtime
                for p in (path / "manifest.json", path / "journal.jsonl", path)
                if p.exists()
            ),
            default=now,
        )
        if now - newest > max_age:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
