"""Bulk enhance at scale: thousands to millions of locations split into server batches.

A run validates every location and writes the batch bodies to its work folder before the
first request, submits the batches with bounded concurrency, polls them, downloads each
batch's output file and merges them into one JSONL file (one line per submitted location,
failed ones included). Nothing holds more than one batch in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
from attrs import frozen

from sovfixer_async import _downloads
from sovfixer_async._downloads import DownloadResult
from sovfixer_async._errors import (
    DestinationExistsError,
    InvalidInputError,
    JobFailed,
    JobTimeout,
    SOVFixerError,
)
from sovfixer_async._events import JobSubmitted
from sovfixer_async._jobs import TOKEN_VERSION, BulkEnhanceJob, Runtime
from sovfixer_async._locations import LocationsInput, bulk_locations
from sovfixer_async._transport import EncodedJson, Safety, encode_json
from sovfixer_async._urls import check_id
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async.models import BulkEnhanceStatus, CreatedResponse, SourceResult, structure
from sovfixer_async.models._requests import bulk_enhance_body

MERGED_NAME = "results.jsonl"
#: Batch bodies up to this size are written to the (page-cached) work folder on the loop...
INLINE_WRITE_BYTES = 1 << 20
#: ...and read back and encoded for sending on the loop up to this size (no gzip below it).
INLINE_ENCODE_BYTES = 1 << 16


@frozen
class BulkOptions:
    """The top-level fields of every batch body (contract 4.1)."""

    sources: tuple[str, ...]
    include_raw_response: bool = False
    check_cache: bool = True
    timeout: float | None = None
    callback_url: str | None = None

    def body(self, locations: list[dict[str, Any]]) -> dict[str, Any]:
        return bulk_enhance_body(
            locations,
            self.sources,
            include_raw_response=self.include_raw_response,
            check_cache=self.check_cache,
            timeout=self.timeout,
            callback_url=self.callback_url,
        )


@frozen
class BulkRunStatus:
    """The sum of a run's batches; ``batches`` holds each one's last status (or None)."""

    batches: tuple[BulkEnhanceStatus | None, ...]

    def _sum(self, name: str) -> int:
        return sum(getattr(s.request, name) or 0 for s in self.batches if s is not None)

    @property
    def num_requested(self) -> int:
        return self._sum("num_requested")

    @property
    def num_completed(self) -> int:
        return self._sum("num_completed")

    @property
    def num_problems(self) -> int:
        return self._sum("num_problems")

    @property
    def num_failed_batches(self) -> int:
        return sum(1 for s in self.batches if s is not None and s.failure is not None)

    @property
    def done(self) -> bool:
        return all(s is not None and s.done for s in self.batches)

    @property
    def state(self) -> str:
        if not self.done:
            seen = {s.state for s in self.batches if s is not None}
            return "IN_PROGRESS" if seen - {"PENDING", "QUEUED"} else "PENDING"
        return "FAILED" if self.num_failed_batches == len(self.batches) else "COMPLETE"

    @property
    def progress(self) -> float | None:
        requested = self.num_requested
        return self.num_completed / requested if requested else None


class BulkRun:
    """Handle of a whole bulk-enhance run (kind ``bulk_run``)."""

    kind = "bulk_run"
    api = "data"

    def __init__(
        self,
        runtime: Runtime,
        run_id: str,
        batches: Sequence[BulkEnhanceJob],
        work_dir: Path,
    ):
        self._rt = runtime
        self.id = run_id
        self.batches = list(batches)
        self.work_dir = work_dir
        #: The merged JSONL, once the run is done and merged.
        self.merged_path: Path | None = None
        #: Size and sha256 of each file the last ``download`` wrote.
        self.files: list[DownloadResult] = []
        self._merge_lock = anyio.Lock()
        self._part_lock = anyio.Lock()
        #: Each batch's results as JSONL lines, written as soon as that batch is done.
        self._parts: list[Path | None] = [None] * len(self.batches)
        #: Set while (or once) a waiter fetches a batch's output and writes its part.
        self._settling: list[anyio.Event | None] = [None] * len(self.batches)

    def __repr__(self) -> str:
        return f"<BulkRun {self.id} {len(self.batches)} batches {self.state}>"

    @property
    def token(self) -> str:
        data = {
            "v": TOKEN_VERSION,
            "kind": self.kind,
            "id": self.id,
            "api": self.api,
            "batches": [b.id for b in self.batches],
        }
        return json.dumps(data, separators=(",", ":"))

    @property
    def status(self) -> BulkRunStatus | None:
        if all(b.status is None for b in self.batches):
            return None
        return BulkRunStatus(tuple(b.status for b in self.batches))

    @property
    def state(self) -> str | None:
        status = self.status
        return status.state if status is not None else None

    @property
    def done(self) -> bool:
        return self.merged_path is not None

    async def refresh(self) -> BulkRunStatus:
        """Fetch every batch's status once."""
        async with anyio.create_task_group() as tg:
            for batch in self.batches:
                if not batch.done:
                    tg.start_soon(batch.refresh)
        status = self.status
        assert status is not None
        return status

    async def wait(self, timeout: float | None = None) -> BulkRunStatus:
        """Wait for every batch, fetching each one's output as soon as it is done; then merge.

        Failed batches do not fail the run: their locations appear in ``results()`` with
        failed per-source results. Only a run whose every batch failed raises ``JobFailed``.
        """
        budget = self._rt.config.poll.deadline if timeout is None else timeout
        started = time.monotonic()
        problem: list[SOVFixerError] = []

        async def wait_batch(index: int, batch: BulkEnhanceJob) -> None:
            try:
                with contextlib.suppress(JobFailed):  # a failed batch still has its lines
                    await batch.wait(budget)
                await self._settle(index, batch)
            except SOVFixerError as exc:
                problem.append(exc)
                tg.cancel_scope.cancel()

        if self.merged_path is None:
            async with anyio.create_task_group() as tg:
                for index, batch in enumerate(self.batches):
                    tg.start_soon(wait_batch, index, batch)
            if problem:
                first = problem[0]
                if isinstance(first, JobTimeout):
                    raise JobTimeout(
                        self.kind, self.id, time.monotonic() - started, self.token, self.state
                    )
                first.add_note(f"bulk run {self.id}: resume it with client.resume(run.token)")
                raise first
            async with self._merge_lock:
                if self.merged_path is None:
                    await self._merge()
        status = self.status
        assert status is not None
        if status.num_failed_batches == len(self.batches):
            failure = self.batches[0].status.failure if self.batches[0].status else None
            raise JobFailed(
                self.kind,
                self.id,
                failure[0] if failure else None,
                f"all {len(self.batches)} batches failed; first: "
                + ((failure[1] or "no message") if failure else "no message"),
                status,
            )
        return status

    async def _settle(self, index: int, batch: BulkEnhanceJob) -> None:
        """Fetch a done batch's output and write its JSONL part (once, whoever asks)."""
        while (event := self._settling[index]) is not None:
            await event.wait()
            if self._parts[index] is not None:
                return
        self._settling[index] = event = anyio.Event()
        try:
            files: list[Path] = []
            failure = batch.status.failure if batch.status is not None else None
            message = None
            if failure is None:  # (the handle's download makes the folder)
                files = await batch.download(self.work_dir / "outputs", overwrite=True)
            else:
                message = f"batch {batch.id} failed ({failure[0]}): {failure[1] or 'no message'}"
            body = self.work_dir / _batch_name(index + 1)
            part = self.work_dir / "parts" / f"part-{index + 1:05d}.jsonl"
            try:
                async with self._part_lock:  # one batch in memory at a time (and one GIL)
                    await anyio.to_thread.run_sync(_write_part, body, files, message, part)
            except ValueError as exc:  # JSON the server sent, or a body on disk, is broken
                error = SOVFixerError(
                    f"bulk run {self.id}: cannot read the results of batch {batch.id}: {exc}"
                )
                error.job_id = batch.id
                raise error from exc
            self._parts[index] = part
        finally:
            if self._parts[index] is None:
                self._settling[index] = None  # the next waiter tries again
            event.set()

    async def _merge(self) -> None:
        """Join the batches' parts, in batch order, into one JSONL file (off the loop)."""
        parts = [part for part in self._parts if part is not None]
        assert len(parts) == len(self.batches)
        merged = self.work_dir / MERGED_NAME
        if len(parts) == 1:
            # a rename: no worker-thread hop (each costs a turn of a busy loop)
            os.replace(parts[0], merged)
        else:
            await anyio.to_thread.run_sync(_join_parts, parts, merged)
        self.merged_path = merged

    async def results(self) -> AsyncIterator[tuple[str, dict[str, SourceResult]]]:
        """``(location_id, {source: SourceResult})`` for every submitted location, from disk.

        Waits for the run first. Lines are read in blocks in a worker thread, so memory stays
        flat and the event loop free, whatever the run's size.
        """
        if self.merged_path is None:
            await self.wait()
        merged = self.merged_path
        assert merged is not None
        handle = await anyio.to_thread.run_sync(
            lambda: open(merged, encoding="utf-8")  # noqa: SIM115
        )
        try:
            while True:
                lines = await anyio.to_thread.run_sync(handle.readlines, 1 << 20)
                if not lines:
                    return
                for line in lines:
                    item = json.loads(line)
                    yield (
                        item["id"],
                        {
                            source: SourceResult.from_dict(value)
                            for source, value in item["results"].items()
                        },
                    )
        finally:
            handle.close()

    async def download(self, dest: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Copy the merged JSONL (first), then each raw batch file, into directory ``dest``."""
        if self.merged_path is None:
            await self.wait()
        assert self.merged_path is not None
        folder = Path(dest)
        await anyio.to_thread.run_sync(_downloads.ensure_directory, folder)
        sources = [(self.merged_path, f"bulk-{self.id}.jsonl")]
        outputs_dir = self.work_dir / "outputs"
        for batch in self.batches:
            for name in _downloads.output_names(batch.status.outputs if batch.status else []):
                if (outputs_dir / name).exists():
                    sources.append((outputs_dir / name, name))
        targets = [folder / name for name in _downloads.unique_names([n for _, n in sources])]
        if not overwrite:
            for target in targets:
                if target.exists():
                    raise DestinationExistsError(str(target), job_id=self.id)
        results = []
        for (source, _), target in zip(sources, targets, strict=True):
            size, digest = await anyio.to_thread.run_sync(_downloads.copy_atomic, source, target)
            results.append(DownloadResult(target, source.as_uri(), size, digest, 1, False))
        self.files = results
        return targets


def _encoded_body(path: Path, callback_url: str | None, gzip_above: int) -> EncodedJson:
    """A batch body as sent (JSON, gzipped when large).

    The file already holds the compact JSON to send; only a per-batch callback URL makes
    it be decoded and encoded again.
    """
    data = path.read_bytes()
    if callback_url is None:
        return EncodedJson.of(data, gzip_above)
    body = json.loads(data)
    body["callback_url"] = callback_url
    return encode_json(body, gzip_above)


def _batch_name(number: int) -> str:
    return f"batch-{number:05d}.json"


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _copy_with_hash(source: Path, target: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    tmp = target.with_name(target.name + ".part")
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    return size, digest.hexdigest()


def _write_part(body_path: Path, files: list[Path], failure: str | None, part: Path) -> None:
    """One batch's lines ``{"id": ..., "results": {source: {...}}}``, one per location sent.

    Each location's results are copied from the output file as the server wrote them (no
    re-encoding: half the cost); a location the output lacks gets a failed result per source.
    """
    found: dict[str, str] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for location_id, value, raw in _raw_members(text):
            if isinstance(value, dict):
                found[location_id] = raw
    part.parent.mkdir(parents=True, exist_ok=True)
    tmp = part.with_name(part.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        if not body_path.exists():  # a run resumed without its work folder
            for location_id, raw in found.items():
                out.write(f'{{"id":{json.dumps(location_id)},"results":{raw}}}\n')
        else:
            with open(body_path, encoding="utf-8") as f:
                body = json.load(f)
            default_sources = body.get("sources") or []
            reason = failure or "the server returned no result for this location"
            for location in body["locations"]:
                location_id = location["id"]
                raw_results = found.get(location_id)
                if raw_results is None:
                    raw_results = json.dumps(
                        {
                            source: {"is_success": False, "error_message": reason}
                            for source in (location.get("sources") or default_sources)
                        }
                    )
                out.write(f'{{"id":{json.dumps(location_id)},"results":{raw_results}}}\n')
    os.replace(tmp, part)


def _join_parts(parts: list[Path], merged: Path) -> None:
    tmp = merged.with_name(merged.name + ".part")
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    os.replace(tmp, merged)
    for part in parts:
        part.unlink()


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    """The index of the first non-whitespace character from ``i``."""
    match = _WS.match(text, i)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _raw_members(text: str) -> Iterator[tuple[str, Any, str]]:
    """``(key, value, value's JSON text)`` for each member of the JSON object ``text``."""
    decode = _DECODER.raw_decode
    i = _skip(text, 0)
    if text[i : i + 1] != "{":
        return  # not an object (as before: such a file holds no results)
    i = _skip(text, i + 1)
    if text[i : i + 1] == "}":
        return
    while True:
        key, i = decode(text, i)
        i = _skip(text, i)
        if text[i : i + 1] != ":":
            raise ValueError(f"expected ':' at character {i}")
        start = _skip(text, i + 1)
        value, end = decode(text, start)
        yield key, value, text[start:end]
        i = _skip(text, end)
        if text[i : i + 1] == ",":
            i = _skip(text, i + 1)
        elif text[i : i + 1] == "}":
            return
        else:
            raise ValueError(f"expected ',' or '}}' at character {i}")


#: The file that marks a folder as one this SDK made (and so may remove).
MARKER = ".sovfixer-async"


def new_work_dir(runtime: Runtime, run_id: str) -> Path:
    """The run's folder, named by its UUID inside the client's work root.

    A folder made here is marked and removed when the client closes (unless kept); an
    existing, marked one (an earlier client's, kept) is reused and left in place.
    """
    name = check_run_id(run_id)
    root = runtime.work_root
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="sovfixer-bulk-"))
        (root / MARKER).touch()
        runtime.work_root = root
        runtime.created_dirs.append(root)
    path = root / name
    if path in runtime.created_dirs or (path / MARKER).is_file():
        return path
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        raise InvalidInputError(
            f"{path} exists and was not made by sovfixer_async; not using it", field="work_dir"
        ) from None
    (path / MARKER).touch()
    runtime.created_dirs.append(path)
    return path


def check_run_id(value: object) -> str:
    """A bulk run id is a canonical UUID (the SDK makes them); anything else is refused."""
    try:
        canonical = str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        canonical = None
    if canonical is None or canonical != value:
        raise InvalidInputError("a bulk run id is a UUID", field="token.id")
    return canonical


async def start_run(
    runtime: Runtime,
    locations: LocationsInput,
    options: BulkOptions,
    *,
    batch_size: int,
    concurrency: int,
    known_sources: frozenset[str] | None = None,
    receiver: WebhookReceiver | None = None,
) -> BulkRun:
    """Validate and batch every location on disk, then submit the batches."""
    run_id = str(uuid.uuid4())
    work_dir = new_work_dir(runtime, run_id)
    try:
        paths = await prepare_batches(locations, options, batch_size, work_dir, known_sources)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return await submit_batches(runtime, run_id, paths, work_dir, concurrency, receiver)


async def prepare_batches(
    locations: LocationsInput,
    options: BulkOptions,
    batch_size: int,
    work_dir: Path,
    known_sources: frozenset[str] | None = None,
) -> list[Path]:
    """Validate every location and write one batch body per ``batch_size`` locations."""
    if batch_size < 1:
        raise InvalidInputError("must be >= 1", field="batch_size")
    paths: list[Path] = []
    pending: list[dict[str, Any]] = []

    async def flush() -> None:
        path = work_dir / _batch_name(len(paths) + 1)
        data = json.dumps(options.body(pending), separators=(",", ":")).encode()
        if len(data) > INLINE_WRITE_BYTES:
            await anyio.to_thread.run_sync(_downloads.write_bytes_atomic, path, data)
        else:
            # A worker-thread round trip waits a whole turn of a busy loop (~30 ms among
            # 700 other submissions): 20 batches took 0.6 s that way, not 0.05 s.
            _downloads.write_bytes_atomic(path, data)
        paths.append(path)
        pending.clear()

    index = 0
    async for location in bulk_locations(locations):
        own = location.get("sources")
        if own is not None and known_sources is not None:
            unknown = sorted(set(own) - known_sources)
            if unknown:
                raise InvalidInputError(
                    f"unknown datasource code(s) {', '.join(unknown)}",
                    field=f"locations[{index}].sources",
                )
        index += 1
        pending.append(location)
        if len(pending) >= batch_size:
            await flush()
    if pending:
        await flush()
    return paths


async def submit_batches(
    runtime: Runtime,
    run_id: str,
    paths: list[Path],
    work_dir: Path,
    concurrency: int,
    receiver: WebhookReceiver | None = None,
) -> BulkRun:
    """POST every prepared batch (at most ``concurrency`` at once) and return the run.

    With a webhook ``receiver``, each batch gets a callback URL of its own.
    """
    ids: list[str | None] = [None] * len(paths)
    nonces: list[str | None] = [None] * len(paths)
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    problem: list[BaseException] = []

    async def submit(index: int, path: Path) -> None:
        async with limiter:
            try:
                callback_url = None
                if receiver is not None:
                    nonces[index], callback_url = receiver.new_url()
                gzip_above = runtime.config.gzip_threshold
                if path.stat().st_size <= INLINE_ENCODE_BYTES:  # a small batch: no hop
                    body = _encoded_body(path, callback_url, gzip_above)
                else:
                    body = await anyio.to_thread.run_sync(
                        _encoded_body, path, callback_url, gzip_above
                    )
                response = await runtime.transport.request(
                    "POST",
                    "data",
                    "/api/v1/bulk_enhance",
                    json=body,
                    safety=Safety.SUBMIT,
                    what=f"bulk_enhance submission of batch {index + 1}/{len(paths)}",
                )
            except SOVFixerError as exc:
                problem.append(exc)
                tg.cancel_scope.cancel()
                return
            created = structure(response.json(), CreatedResponse)
            ids[index] = created.id
            if runtime.events.active:
                batch = BulkEnhanceJob(runtime, created.id)
                runtime.events.emit(JobSubmitted(batch.kind, created.id, batch.token))

    async with anyio.create_task_group() as tg:
        for index, path in enumerate(paths):
            tg.start_soon(submit, index, path)
    if problem:
        submitted = [i for i in ids if i is not None]
        exc = problem[0]
        exc.add_note(
            f"bulk run {run_id}: {len(submitted)} of {len(paths)} batches were submitted "
            f"before this error: {', '.join(submitted) or 'none'}"
        )
        raise exc
    batches = [BulkEnhanceJob(runtime, job_id) for job_id in ids if job_id is not None]
    if receiver is not None:
        for nonce, batch in zip(nonces, batches, strict=True):
            if nonce is not None:
                receiver.bind(nonce, batch)
    return BulkRun(runtime, run_id, batches, work_dir)


def resume_run(runtime: Runtime, data: dict[str, Any]) -> BulkRun:
    """Rebuild a run from a parsed token: its UUID and batch ids, nothing else.

    A ``work_dir`` in a 0.1 token is ignored: a token never names a local path.
    """
    run_id = check_run_id(data["id"])
    batches = data.get("batches")
    if not isinstance(batches, list) or not batches:
        raise InvalidInputError("bulk run token has no batch ids", field="token")
    ids = [check_id(b, f"token.batches[{i}]") for i, b in enumerate(batches)]
    work_dir = new_work_dir(runtime, run_id)
    return BulkRun(runtime, run_id, [BulkEnhanceJob(runtime, b) for b in ids], work_dir)


def remove_dirs(paths: list[Path]) -> None:
    """Remove the work folders a client made (newest first): only those it marked."""
    for path in reversed(paths):
        if not path.is_symlink() and (path / MARKER).is_file():
            shutil.rmtree(path, ignore_errors=True)
