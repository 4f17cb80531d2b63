"""The emulator's in-memory world: SOVs, their revisions, jobs, output files and history.

Plain records plus one store. Jobs carry their clock (``started``/``running_from``/``ends``);
the store's :class:`~sovfixer_async.emulator.timing.JobTiming` keeps the run queues and a heap
of due jobs so :func:`sovfixer_async.emulator.jobs.advance` can apply terminal effects in
end-time order, lazily, whenever a request (or the callback scheduler) looks.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import random
import string
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from attrs import Factory, define, field

from sovfixer_async.emulator import catalog
from sovfixer_async.emulator.protocol import JSONDict, quote_segment
from sovfixer_async.emulator.settings import EmulatorSettings
from sovfixer_async.emulator.timing import JobRecord, JobTiming

Clock = Callable[[], float]

SEED_SOVID = "s-no-ping-hggcsk"
SEED_SOURCE_FILENAME = "parse_sov_testfile.xlsx"

CONTENT_TYPES = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def content_type_for(filename: str) -> str:
    """Content-Type of a download, from its extension."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return CONTENT_TYPES.get(ext, "application/octet-stream")


@define(eq=False)
class Blob:
    """Immutable bytes of one served file with its strong ETag."""

    data: bytes
    etag: str
    content_type: str

    @classmethod
    def of(cls, data: bytes, filename: str) -> Blob:
        digest = hashlib.sha256(data).hexdigest()
        return cls(data=data, etag=f'"{digest}"', content_type=content_type_for(filename))


@define(eq=False)
class Revision:
    """A completed revision of a SOV: 0 is the parse, N the update ``<sovid>-rNNN``."""

    sovid: str
    number: int
    #: Id the revision's files are served under: the SOV id for 0, else the SUD id.
    path_id: str
    #: Stem of this revision's output filenames.
    stem: str
    buildings: list[JSONDict]
    extra_data: JSONDict
    completed: float
    record_type: str = "ORIG"
    #: Format (canonical) -> filename of every output generated for this revision.
    files: dict[str, str] = field(factory=dict)
    blobs: dict[str, Blob] = field(factory=dict)

    def filename_for(self, output_format: str, extension: str) -> str:
        """The existing or newly assigned filename of ``output_format`` (unique per revision)."""
        if output_format in self.files:
            return self.files[output_format]
        name = f"{self.stem}.{extension}"
        if name in self.files.values():
            name = f"{self.stem}_{output_format.lower()}.{extension}"
        self.files[output_format] = name
        return name


@define(eq=False)
class Job:
    """What every job shares: identity, clock, callback and the origin of its creator."""

    id: str
    created: float
    origin: str
    phases: tuple[str, ...]
    #: When it asked to run (creation; an update's ``start``); it may then wait in a queue.
    started: float | None = None
    #: When it left the queue and began running (None while it waits).
    running_from: float | None = None
    ends: float | None = None
    #: ``running_from + duration``: the phases are laid out up to here even if it is held.
    planned_end: float | None = None
    #: Its running time, drawn when it is submitted.
    duration: float = 0.0
    #: Progress reported in coarse, slow-starting steps (``--progress coarse``).
    coarse: bool = False
    #: Called once when it begins running.
    on_begin: Callable[[Job], None] | None = None
    #: Set when it finishes (the stats endpoint's job record).
    record: JobRecord | None = None
    callback_url: str | None = None
    finished: bool = False
    failed: bool = False

    def done_at(self, now: float) -> None:
        """Mark a job that never queued or ran (a cached answer, the seed) finished at ``now``."""
        self.started = self.running_from = self.ends = self.planned_end = now
        self.finished = True

    @property
    def kind(self) -> str:
        raise NotImplementedError


@define(eq=False)
class InputFile:
    filename: str
    data: bytes
    status: str = "SUCCESS"
    document_type: str | None = None
    message: str | None = None


@define(eq=False)
class ParseJob(Job):
    """``POST /api/v1/sov``: its outcome is decided on upload and shown at its end time."""

    sovid: str = ""
    output_formats: tuple[str, ...] = ("JSON",)
    integrations: tuple[str, ...] = ()
    pending_buildings: list[JSONDict] = field(factory=list)
    result_status: str = "SUCCESS"
    result_message: str = ""
    outputs: list[tuple[str, str]] = field(factory=list)  # (format, filename)

    @property
    def kind(self) -> str:
        return "parse"


@define(eq=False)
class UpdateJob(Job):
    """A SUD: open until ``start``, then timed like any job."""

    sovid: str = ""
    revision: int = 0
    update_type: str = "API"
    client_ref: str | None = None
    request_uuid: str = ""
    #: Uploaded CSV files, each a list of (line number, row).
    batches: list[list[tuple[int, dict[str, str]]]] = field(factory=list)
    extra_data: JSONDict = field(factory=dict)
    output_formats: tuple[str, ...] = ("JSON",)
    integrations: tuple[str, ...] = ()
    result_status: str = ""
    result_message: str = ""
    outputs: list[tuple[str, str]] = field(factory=list)

    @property
    def kind(self) -> str:
        return "update"

    @property
    def num_rows(self) -> int:
        return sum(len(b) for b in self.batches)


@define(eq=False)
class OutputJob(Job):
    """A get_or_create_output generation request (or an ``immediately-done-`` answer)."""

    sovid: str = ""
    revision: int = 0
    output_format: str = "JSON"
    label: str = "JSON"
    filename: str = ""
    path_id: str = ""

    @property
    def kind(self) -> str:
        return "output"


@define(eq=False)
class BulkJob(Job):
    """A bulk enhance job; its results are computed once, at its end time."""

    locations: list[JSONDict] = field(factory=list)
    sources: tuple[str, ...] = ()
    include_raw: bool = False
    num_requested: int = 0
    num_problems: int = 0
    source_stats: list[JSONDict] = field(factory=list)
    output: Blob | None = None
    #: The worker-thread computation of a large job's results, while it runs.
    pending: asyncio.Future[Any] | None = None

    @property
    def kind(self) -> str:
        return "bulk_enhance"

    @property
    def filename(self) -> str:
        return f"output-data-{self.id}.json"


@define(eq=False)
class Sov:
    """A SOV: its parse job, the revisions completed so far and its open updates."""

    id: str
    source_filename: str
    document_type: str
    created: float
    parse: ParseJob
    client_ref: str | None = None
    extra_data: JSONDict = field(factory=dict)
    update_callback_url: str | None = None
    inputs: list[InputFile] = field(factory=list)
    revisions: dict[int, Revision] = field(factory=dict)
    next_revision: int = 1
    #: Created by ``POST /api/v1/submission``: update rows may add buildings.
    is_submission: bool = False
    added_buildings: list[JSONDict] = field(factory=list)
    #: Ids of this SOV's updates, in the order they were opened.
    update_ids: list[str] = field(factory=list)

    def latest(self) -> Revision | None:
        """The highest completed revision."""
        return self.revisions[max(self.revisions)] if self.revisions else None


@define(eq=False)
class HistoryRecord:
    """One row of the history feed (contract 3.11), appended when a job completes."""

    id: str
    sovid: str
    record_type: str
    completed: float
    revision: int
    status: str
    client_ref: str | None
    error_message: str | None = None


@define
class UsageEvent:
    at: float
    source: str
    count: int


def output_path(path_id: str, filename: str) -> str:
    """Path of a SOV output download (contract 3.3)."""
    return f"/api/v1/sov/{quote_segment(path_id)}/output/{quote_segment(filename)}"


@define(eq=False)
class EmulatorState:
    """Everything the emulator remembers, keyed for O(1) lookups."""

    settings: EmulatorSettings
    clock: Clock = time.time
    sovs: dict[str, Sov] = field(factory=dict)
    updates: dict[str, UpdateJob] = field(factory=dict)
    #: ``POST /api/v1/submission`` numeric id -> SUD id.
    submissions: dict[str, str] = field(factory=dict)
    output_jobs: dict[str, OutputJob] = field(factory=dict)
    bulk_jobs: dict[str, BulkJob] = field(factory=dict)
    #: (path id, filename) -> (revision, format) of every downloadable SOV output.
    files: dict[tuple[str, str], tuple[Revision, str]] = field(factory=dict)
    history: list[HistoryRecord] = field(factory=list)
    history_index: dict[str, int] = field(factory=dict)
    usage: list[UsageEvent] = field(factory=list)
    #: One lock per output being rendered for the first time.
    render_locks: dict[tuple[str, str], asyncio.Lock] = field(factory=dict)
    #: Big bulk jobs are computed in a worker thread one at a time: several at once took
    #: the GIL from the event loop, and every request stalled for a second.
    compute_slot: asyncio.Semaphore = field(factory=lambda: asyncio.Semaphore(1))
    #: Run queues, durations and the heap of due jobs.
    timing: JobTiming = field(
        default=Factory(lambda self: JobTiming(self.settings), takes_self=True)
    )
    #: Ping.Data calls made with ``delegate_to`` or unknown top-level body fields (newest
    #: last, the last 1000): route, organisation, those fields (issue 14).
    data_calls: collections.deque[JSONDict] = field(factory=lambda: collections.deque(maxlen=1000))
    _ids: random.Random = field(factory=random.Random)
    _submission_ids: itertools.count[int] = field(factory=lambda: itertools.count(1001))

    def __attrs_post_init__(self) -> None:
        self._ids.seed(self.settings.seed)

    # --- formats -------------------------------------------------------------------------

    def allowed_formats(self) -> list[JSONDict]:
        """The organisation's enabled output formats (contract 3.10 entries)."""
        allowed = self.settings.allowed_formats
        return [
            dict(f)
            for f in catalog.DEFAULT_OUTPUT_FORMATS
            if allowed is None or str(f["output_format"]).upper() in allowed
        ]

    def format_info(self, name: str) -> JSONDict | None:
        """The enabled format called ``name`` (case-insensitive), else None."""
        wanted = name.strip().upper()
        for info in self.allowed_formats():
            if str(info["output_format"]).upper() == wanted:
                return info
        return None

    # --- ids -----------------------------------------------------------------------------

    def new_sovid(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            sovid = "s-em-ping-" + "".join(self._ids.choice(alphabet) for _ in range(6))
            if sovid not in self.sovs:
                return sovid

    def new_submission_id(self) -> int:
        return next(self._submission_ids)

    @staticmethod
    def new_uuid() -> str:
        return str(uuid.uuid4())

    # --- lookups -------------------------------------------------------------------------

    def update(self, ident: str) -> UpdateJob | None:
        """A SUD by its id (or the numeric id of a submission)."""
        return self.updates.get(ident) or self.updates.get(self.submissions.get(ident, ""))

    def add_history(self, record: HistoryRecord) -> None:
        self.history_index[record.id] = len(self.history)
        self.history.append(record)

    def register_file(self, revision: Revision, output_format: str, filename: str) -> str:
        """Make ``filename`` of ``revision`` downloadable; returns its URL path."""
        self.files[(revision.path_id, filename)] = (revision, output_format)
        return output_path(revision.path_id, filename)


STATE: web.AppKey[EmulatorState] = web.AppKey("sovfixer_emulator_state", EmulatorState)


def revision_document(sov: Sov, revision: Revision) -> dict[str, Any]:
    """The ``sov`` mapping that :func:`outputs.render_output` renders."""
    return {
        "id": sov.id,
        "source_filename": sov.source_filename,
        "num_buildings": len(revision.buildings),
        "extra_data": revision.extra_data,
        "buildings": revision.buildings,
    }
