"""Streaming downloads to disk: chunked, atomic, resumable, verified, with safe names.

Every output file reaches disk through :func:`download`. The body is read on the event
loop and handed in batches to a worker thread that hashes and writes it into
``<name>.part`` beside the target while the loop reads the next batch, so memory stays
flat and the loop never blocks on the disk. The part file is length-checked, verified
against the server's sha256 ETag, fsynced and only then renamed into place: nothing
half-written ever carries the final name. A dropped connection resumes with a ``Range``
request guarded by ``If-Range``.

No resume across processes is attempted: a ``.part`` file never outlives the call that
created it (it is removed on success, failure and cancellation), except when the process
itself dies. Such a stale file is never reused or deleted by a later call (it cannot tell a
stale file from a live one); that call writes beside it under a unique ``.part`` name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import secrets
import time
import unicodedata
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Final

import aiohttp
import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import define, frozen
from yarl import URL

from sovfixer_async._errors import (
    DestinationExistsError,
    DownloadError,
    DownloadIntegrityError,
    InvalidInputError,
)
from sovfixer_async._events import DownloadFinished, DownloadProgress, EventBus
from sovfixer_async._transport import (
    _DATA_PATHS,
    Response,
    Transport,
    api_error,
    backoff_delay,
    parse_retry_after,
)

logger = logging.getLogger("sovfixer_async")

# Chunk size handed to ``iter_chunked`` (it also sets aiohttp's read buffer to 2x this).
# Measured on a 2-core VM, 1 GB over loopback from a server in another process that
# streams at ~1.4 GB/s, sha256 and fsync included, median of 5 (MB/s):
#   64 KiB 393, 128 KiB 402, 256 KiB 437, 512 KiB 436, 1 MiB 393.
# Writing off the loop, same setup: anyio.open_file (a thread hop per chunk) 480-600,
# to_thread per chunk 470-520, batches of 1 MiB in one hop 540-670, batches handed to a
# writer task so the loop reads batch k+1 while a thread hashes and writes batch k
# 800-950 (no fsync in that comparison). Batches of 4 MiB gained nothing over 1 MiB.
DEFAULT_CHUNK_SIZE: Final = 256 * 1024
# Bytes gathered before one hop to the writer thread (one writev + hash per batch);
# with one batch queued, one being written and one being filled, a download holds about
# 3 batches + 2 chunks in memory whatever the file size.
_BATCH_BYTES: Final = 1024 * 1024
_QUEUE_DEPTH: Final = 1
# A slow link still hands its bytes to disk (and reports progress) this often.
_BATCH_SECONDS: Final = 0.5
# Progress events are emitted at most once per this many bytes.
_PROGRESS_BYTES: Final = 1024 * 1024
# Start kernel writeback every so often so the final fsync has little left to flush.
_WRITEBACK_BYTES: Final = 32 * 1024 * 1024
_MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_NAME_BYTES: Final = 200
_MAX_EXT_BYTES: Final = 32
_ERROR_BODY_LIMIT: Final = 64 * 1024
_DECODE_PIECE: Final = 1024 * 1024
_IOV_MAX: Final = 512
_SHA256_ETAG = re.compile(r'^"([0-9a-fA-F]{64})"$')
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)\s*/\s*(\d+|\*)\s*$", re.IGNORECASE)
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789¹²³"}
)
# Path separators, characters Windows forbids in names, and bidi/line controls.
_UNSAFE_CHARS = re.compile(
    r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]'
)
_rng = random.Random()
_writev = getattr(os, "writev", None)  # not on Windows


@frozen
class DownloadResult:
    """Where the file landed and what it is: size and sha256 of the bytes on disk."""

    path: Path
    url: str
    size: int
    sha256: str
    #: HTTP attempts made (a resume or a retry is one more).
    attempts: int
    #: True when at least one attempt continued with a ``Range`` request.
    resumed: bool


# -- names ---------------------------------------------------------------------------------


def safe_filename(name: str | None, *, fallback: str) -> str:
    """A plain file name from an untrusted one: never a path, never empty, never escaping.

    Keeps the last path component (``/`` and ``\\`` both count), replaces control, bidi
    and Windows-forbidden characters (``:`` included, so ``C:`` is no drive) with ``_``,
    strips leading dots and spaces (no hidden files, no ``..``) and trailing dots and
    spaces, prefixes Windows device names (``CON``, ``NUL``...) with ``_``, and caps the
    name at 200 bytes of UTF-8 keeping the extension. ``fallback`` (itself sanitised, then
    ``"download"``) is used when nothing is left. Idempotent.
    """
    cleaned = _clean(name) if name else ""
    if cleaned:
        return cleaned
    cleaned = _clean(fallback) if fallback else ""
    return cleaned or "download"


def _clean(name: str) -> str:
    # Lone surrogates (from undecodable bytes) cannot be written as UTF-8 names.
    name = "".join("_" if "\ud800" <= ch <= "\udfff" else ch for ch in name)
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_CHARS.sub("_", name)
    name = name.strip(". ")
    if not name:
        return ""
    if name.partition(".")[0].upper().rstrip(" ") in _WINDOWS_DEVICES:
        name = "_" + name
    return _cap(name)


def _cap(name: str) -> str:
    """Cut to ``_MAX_NAME_BYTES`` of UTF-8 on a character boundary, keeping the suffix."""
    if len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > _MAX_EXT_BYTES:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = _MAX_NAME_BYTES - len(suffix.encode())
    cut = stem.encode()[:room].decode("utf-8", "ignore")
    # NFC again: a cut may split a base character from its combining mark.
    cut = unicodedata.normalize("NFC", cut).rstrip(". ")
    while len(cut.encode()) > room:
        cut = cut[:-1].rstrip(". ")
    return (cut or "_") + suffix


_DISPOSITION_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.DOTALL)


def parse_content_disposition(value: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header proposes, not yet sanitised.

    ``filename*=charset'lang'percent-encoded`` (RFC 6266/8187) wins over ``filename=``,
    which may be a quoted string with backslash escapes or a bare token.
    """
    if not value:
        return None
    plain: str | None = None
    extended: str | None = None
    for match in _DISPOSITION_PARAM.finditer(value):
        key = match.group(1).lower()
        raw = match.group(2).strip()
        if key == "filename*":
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':  # lenient: some servers quote it
                raw = raw[1:-1]
            charset, _, rest = raw.partition("'")
            _, _, encoded = rest.partition("'")
            if not rest:
                continue
            charset = charset.strip().lower() or "utf-8"
            try:
                extended = urllib.parse.unquote(encoded, encoding=charset, errors="replace")
            except LookupError:
                extended = urllib.parse.unquote(encoded, errors="replace")
        elif key == "filename":
            if raw.startswith('"'):
                body = raw[1:-1] if len(raw) > 1 and raw.endswith('"') else raw[1:]
                plain = re.sub(r"\\(.)", r"\1", body, flags=re.DOTALL)
            else:
                plain = raw
    return extended if extended else (plain or None)


def resolve_url(transport: Transport, url: str) -> str:
    """An absolute URL; one starting with ``/`` is joined to the matching API base."""
    if url.startswith("/"):
        return transport.url("data" if url.startswith(_DATA_PATHS) else "extraction", url)
    scheme = URL(url).scheme if "://" in url else ""
    if scheme not in ("http", "https"):
        raise InvalidInputError(
            f"expected an http(s) URL or a path starting with '/', got {url!r}", field="url"
        )
    return url


# -- destination ---------------------------------------------------------------------------


@frozen
class _Plan:
    """Where the file goes: a directory (name still open) or a fixed file path."""

    directory: Path
    path: Path | None


def _plan(dest: str | os.PathLike[str], filename: str | None) -> _Plan:
    raw = os.fspath(dest)
    here = Path(raw)
    as_dir = (
        here.is_dir()
        or raw.endswith(("/", os.sep))
        or (filename is not None and not here.exists() and not here.is_symlink())
    )
    if as_dir:
        here.mkdir(parents=True, exist_ok=True)
        path = here / safe_filename(filename, fallback="download") if filename is not None else None
        return _Plan(here, path)
    here.parent.mkdir(parents=True, exist_ok=True)
    return _Plan(here.parent, here)


def _check_target(plan: _Plan, path: Path, overwrite: bool, url: str, job_id: str | None) -> None:
    """Refuse a path that resolves outside the directory (a symlink too), is a directory,
    or exists when ``overwrite`` is false."""
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(plan.directory):
        raise DownloadError(
            url, f"refusing to write {path}: it resolves outside {plan.directory}", job_id=job_id
        )
    if path.is_dir():
        raise DownloadError(url, f"{path} is a directory", job_id=job_id)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise DestinationExistsError(str(path), job_id=job_id)


# -- the part file (used from the writer thread only) --------------------------------------


class _PartFile:
    """``<name>.part`` beside the target, with the running sha256 of what was written."""

    def __init__(self, target: Path):
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        flags |= getattr(os, "O_CLOEXEC", 0)
        path = target.with_name(target.name + ".part")
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            # Another download (or a crashed process) owns that name: never touch it.
            path = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
            fd = os.open(path, flags, 0o666)
        self.path = path
        self.fd: int | None = fd
        self.size = 0
        self.hasher = hashlib.sha256()
        self.decoder: zlib._Decompress | None = None
        self._flushed = 0

    def restart(self, encoding: str | None) -> None:
        """Back to zero bytes: the server sent a fresh full body."""
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.size = 0
        self._flushed = 0
        self.hasher = hashlib.sha256()
        self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding else None

    def write(self, batch: Sequence[bytes]) -> None:
        if self.decoder is not None:
            for chunk in batch:
                data = chunk
                while data:  # bounded pieces: a small gzip bomb cannot fill memory
                    piece = self.decoder.decompress(data, _DECODE_PIECE)
                    if piece:
                        self._write([piece])
                    data = self.decoder.unconsumed_tail
            return
        for start in range(0, len(batch), _IOV_MAX):
            self._write(batch[start : start + _IOV_MAX])

    def _write(self, pieces: Sequence[bytes]) -> None:
        assert self.fd is not None
        total = 0
        for piece in pieces:
            self.hasher.update(piece)
            total += len(piece)
        if len(pieces) > 1 and _writev is not None:
            done = _writev(self.fd, pieces)
        else:
            done = os.write(self.fd, pieces[0] if len(pieces) == 1 else b"".join(pieces))
        if done < total:  # a short write (rare on regular files): write the rest
            rest = memoryview(b"".join(pieces))[done:]
            while rest:
                rest = rest[os.write(self.fd, rest) :]
        self.size += total
        if hasattr(os, "posix_fadvise") and self.size - self._flushed >= _WRITEBACK_BYTES:
            # Starts writeback of what was just written (Linux), so fsync finds less to do.
            os.posix_fadvise(
                self.fd, self._flushed, self.size - self._flushed, os.POSIX_FADV_DONTNEED
            )
            self._flushed = self.size

    def finish(self) -> bool:
        """Flush the decoder, fsync, close; False when a compressed body was cut short."""
        assert self.fd is not None
        complete = True
        if self.decoder is not None:
            tail = self.decoder.flush()
            if tail:
                self._write([tail])
            complete = self.decoder.eof
        os.fsync(self.fd)
        self.close()
        return complete

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def discard(self) -> None:
        self.close()
        with suppress(FileNotFoundError):
            os.unlink(self.path)


def _commit(part: Path, target: Path, overwrite: bool) -> None:
    """Move the finished part into place; without overwrite never clobber a newcomer."""
    if overwrite:
        os.replace(part, target)
    else:
        try:
            os.link(part, target)  # atomic: fails if the target appeared meanwhile
        except OSError as exc:
            if isinstance(exc, FileExistsError) or target.exists() or target.is_symlink():
                raise FileExistsError(str(target)) from None
            os.replace(part, target)  # no hard links here (FAT, some network file systems)
        else:
            os.unlink(part)
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # not supported on some platforms
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# -- the download --------------------------------------------------------------------------


@define
class _Retry:
    """An attempt that ended without the whole body; why, and any server wait hint."""

    reason: str
    retry_after: float | None = None
    #: 429/503: the server refused for now; counted against the retry policy's attempts,
    #: like any request's, not against the stalled-attempts limit.
    refused: bool = False


_DONE: Final = "done"
# A batch to write, or a restart: truncate and decode the new body with this encoding
# ("" for identity).
_Item = list[bytes] | str


@asynccontextmanager
async def _borrow(limiter: anyio.CapacityLimiter) -> AsyncIterator[None]:
    token = object()
    await limiter.acquire_on_behalf_of(token)
    try:
        yield
    finally:
        limiter.release_on_behalf_of(token)


class _Download:
    """State of one download across its attempts (offsets, validator, writer)."""

    def __init__(
        self,
        transport: Transport,
        url: str,
        plan: _Plan,
        overwrite: bool,
        job_id: str | None,
        events: EventBus | None,
        max_stalled_attempts: int,
        chunk_size: int,
    ):
        self.transport = transport
        self.url = url
        self.plan = plan
        self.overwrite = overwrite
        self.job_id = job_id
        self.events = events if events is not None and events.active else None
        self.max_stalled = max_stalled_attempts
        self.chunk_size = chunk_size
        self.batch_bytes = max(_BATCH_BYTES, chunk_size)
        self.path: Path | None = plan.path
        self.fallback = safe_filename(URL(url).name, fallback="download")
        self.part: _PartFile | None = None
        self.offset = 0  # bytes of the current representation handed to the writer
        self.best = 0  # furthest offset ever reached in this representation
        self.total: int | None = None
        self.etag: str | None = None
        self.validator: str | None = None  # strong ETag usable in If-Range
        self.encoding: str | None = None
        self.attempts = 0
        self.resumed = False
        self.writer_error: BaseException | None = None
        self.last_progress = 0
        send, receive = anyio.create_memory_object_stream[_Item](_QUEUE_DEPTH)
        self.send: MemoryObjectSendStream[_Item] = send
        self.receive: MemoryObjectReceiveStream[_Item] = receive

    def fail(self, detail: str, cls: type[DownloadError] = DownloadError) -> DownloadError:
        if self.total is not None:
            detail = f"{detail} ({self.offset} of {self.total} bytes received)"
        return cls(
            self.url,
            detail,
            bytes_received=self.offset,
            attempts=self.attempts,
            job_id=self.job_id,
        )

    # -- writer task ----------------------------------------------------------------------

    async def write_loop(self) -> None:
        """Apply batches in a worker thread, in order; stores its error, never raises it."""
        try:
            async with self.receive:
                async for item in self.receive:
                    part = self.part
                    assert part is not None
                    if isinstance(item, str):
                        await anyio.to_thread.run_sync(part.restart, item or None)
                        self.last_progress = 0
                        continue
                    await anyio.to_thread.run_sync(part.write, item)
                    if self.events is not None and part.size - self.last_progress >= (
                        _PROGRESS_BYTES
                    ):
                        self.last_progress = part.size
                        assert self.path is not None
                        self.events.emit(
                            DownloadProgress(
                                self.url, self.path, self.job_id, part.size, self.total
                            )
                        )
        except Exception as exc:  # a disk error: the reader sees a closed stream
            self.writer_error = exc

    async def put(self, item: _Item) -> None:
        try:
            await self.send.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise self.fail(f"cannot write {self.part_path()}: {self.writer_error}") from (
                self.writer_error
            )

    def part_path(self) -> Path | None:
        return None if self.part is None else self.part.path

    # -- reader ---------------------------------------------------------------------------

    async def fetch(self) -> None:
        """Attempts until the whole body has been handed to the writer."""
        stalled = refused = 0
        policy = self.transport.config.retry
        while True:
            self.attempts += 1
            best_before = self.best
            outcome = await self.attempt()
            if outcome == _DONE:
                return
            assert isinstance(outcome, _Retry)
            self.best = max(self.best, self.offset)
            if outcome.refused:
                refused += 1
                if refused >= policy.attempts:
                    raise self.fail(f"{outcome.reason}; refused {refused} time(s)")
                delay = backoff_delay(refused, policy, outcome.retry_after, _rng)
            elif self.best > best_before:
                stalled, delay = 0, 0.0
            else:
                stalled += 1
                if stalled >= self.max_stalled:
                    raise self.fail(
                        f"{outcome.reason}; gave up after {stalled} attempt(s) in a row "
                        "brought no new bytes"
                    )
                delay = backoff_delay(
                    stalled, self.transport.config.retry, outcome.retry_after, _rng
                )
            self.transport.stats.retries += 1
            logger.info(
                "download of %s: attempt %d ended (%s) at %d bytes; retrying in %.2f s",
                self.url,
                self.attempts,
                outcome.reason,
                self.offset,
                delay,
                extra={"job_id": self.job_id},
            )
            await anyio.sleep(delay)

    async def attempt(self) -> _Retry | str:
        headers = {"Accept-Encoding": "identity"}
        ranged = self.offset > 0 and self.validator is not None
        if ranged:
            assert self.validator is not None
            headers["Range"] = f"bytes={self.offset}-"
            headers["If-Range"] = self.validator
        transport = self.transport
        session = transport.session
        url = self.url
        await transport.rate.acquire(url)
        async with _borrow(transport.download_slots), transport.slot():
            for _ in range(_MAX_REDIRECTS + 1):
                transport.stats.requests += 1
                try:
                    async with session.get(
                        url,
                        headers={**headers, **transport.auth_headers(url)},
                        allow_redirects=False,
                        auto_decompress=False,
                    ) as resp:
                        transport.stats.by_status[resp.status] += 1
                        transport.rate.on_response(
                            url, resp.status, parse_retry_after(resp.headers.get("Retry-After"))
                        )
                        if resp.status in _REDIRECTS:
                            url = self.redirect(url, resp.headers.get("Location"))
                            continue
                        return await self.handle(resp, ranged)
                except (aiohttp.InvalidURL, aiohttp.ClientConnectorCertificateError) as exc:
                    raise self.fail(_describe(exc)) from exc
                except (aiohttp.ClientError, TimeoutError) as exc:
                    return _Retry(_describe(exc))
        raise self.fail(f"more than {_MAX_REDIRECTS} redirects")

    def redirect(self, url: str, location: str | None) -> str:
        if not location:
            raise self.fail("redirect without a Location header")
        nxt = URL(url).join(URL(location))
        if nxt.scheme not in ("http", "https"):
            raise self.fail(f"redirect to a non-HTTP URL: {nxt.scheme}:")
        return str(nxt)

    async def handle(self, resp: aiohttp.ClientResponse, ranged: bool) -> _Retry | str:
        status = resp.status
        if status == 200:
            await self.adopt(resp)
            return await self.stream(resp)
        if status == 206:
            cr = _content_range(resp.headers.get("Content-Range"))
            etag = resp.headers.get("ETag", self.validator)
            if not ranged or cr is None or cr[0] != self.offset or etag != self.validator:
                # Not the continuation we asked for: start over from a full body.
                self.validator = None
                await self.restart()
                return _Retry(f"unusable 206 (Content-Range {resp.headers.get('Content-Range')})")
            self.resumed = True
            if cr[2] is not None:
                self.total = cr[2]
            return await self.stream(resp)
        if status == 416:
            cr = _content_range(resp.headers.get("Content-Range"))
            if ranged and cr is not None and cr[2] is not None and cr[2] == self.offset:
                self.total = cr[2]
                return _DONE  # everything had arrived already
            await self.restart()
            return _Retry("HTTP 416: range not satisfiable, starting over")
        if status in (429, 503) or status >= 500:
            await _drain(resp)
            return _Retry(
                f"HTTP {status}",
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                refused=status in (429, 503),
            )
        if 400 <= status < 500:
            body = await resp.content.read(_ERROR_BODY_LIMIT)
            response = Response(status, resp.headers, body, str(resp.url))
            raise api_error(f"GET {URL(self.url).path}", response, self.job_id)
        raise self.fail(f"unexpected HTTP {status}")

    async def adopt(self, resp: aiohttp.ClientResponse) -> None:
        """A full 200 body: take its validator and length, start over if bytes were held."""
        etag = resp.headers.get("ETag")
        if etag != self.etag:
            self.best = 0  # a different representation: all bytes are new bytes
        self.etag = etag
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self.encoding = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self.encoding = encoding
        else:
            raise self.fail(f"unsupported Content-Encoding {encoding!r} despite identity")
        strong = etag is not None and etag.startswith('"') and etag.endswith('"')
        ranges = "bytes" in resp.headers.get("Accept-Ranges", "").lower()
        self.validator = etag if strong and ranges and self.encoding is None else None
        length = resp.headers.get("Content-Length")
        self.total = int(length) if length and length.isdigit() and not self.encoding else None
        if self.part is None:
            await self.open_part(resp)
        await self.restart()  # sets the decoder; truncates what an earlier body left

    async def open_part(self, resp: aiohttp.ClientResponse) -> None:
        """Name the target (Content-Disposition or URL when none was given) and create it."""
        plan = self.plan
        if self.path is None:
            proposed = parse_content_disposition(resp.headers.get("Content-Disposition"))
            self.path = plan.directory / safe_filename(proposed, fallback=self.fallback)
        path = self.path

        def create() -> _PartFile:
            _check_target(plan, path, self.overwrite, self.url, self.job_id)
            try:
                return _PartFile(path)
            except OSError as exc:
                raise self.fail(f"cannot create a part file beside {path}: {exc}") from exc

        self.part = await anyio.to_thread.run_sync(create)

    async def restart(self) -> None:
        self.offset = 0
        if self.part is not None:
            await self.put(self.encoding or "")

    async def stream(self, resp: aiohttp.ClientResponse) -> _Retry | str:
        batch: list[bytes] = []
        size = 0
        started = time.monotonic()
        limit = self.batch_bytes
        try:
            async for chunk in resp.content.iter_chunked(self.chunk_size):
                batch.append(chunk)
                size += len(chunk)
                if size >= limit or time.monotonic() - started >= _BATCH_SECONDS:
                    self.offset += size
                    await self.put(batch)
                    batch, size, started = [], 0, time.monotonic()
        except (aiohttp.ClientError, TimeoutError) as exc:
            if batch:  # bytes that arrived before the drop are good: keep them
                self.offset += size
                await self.put(batch)
            return _Retry(_describe(exc))
        if batch:
            self.offset += size
            await self.put(batch)
        if self.total is None or self.offset == self.total:
            return _DONE
        if self.offset < self.total and self.validator is not None:
            return _Retry(f"body ended at {self.offset} of {self.total} bytes")
        raise self.fail(
            f"server sent {self.offset} bytes, announced {self.total}", DownloadIntegrityError
        )

    async def finish(self) -> DownloadResult:
        """Verify what the writer produced, fsync, and rename it into place."""
        part, path = self.part, self.path
        assert part is not None
        assert path is not None
        if self.writer_error is not None:
            raise self.fail(f"cannot write {part.path}: {self.writer_error}") from self.writer_error

        def finish_and_commit() -> str | None:
            """In one worker-thread hop (each costs a turn of a busy loop): fsync, verify,
            and move into place when sound; else what is wrong."""
            complete = part.finish()
            size, digest = part.size, part.hasher.hexdigest()
            if not complete:
                return "compressed body ended early"
            if self.total is not None and size != self.total:
                return f"wrote {size} bytes, server announced {self.total}"
            match = _SHA256_ETAG.match(self.etag or "") if self.encoding is None else None
            if match and match.group(1).lower() != digest:
                return f"sha256 {digest} does not match the server's ETag {self.etag}"
            _commit(part.path, path, self.overwrite)
            return None

        try:
            problem = await anyio.to_thread.run_sync(finish_and_commit)
        except FileExistsError:
            raise DestinationExistsError(str(path), job_id=self.job_id) from None
        if problem is not None:
            raise self.fail(problem, DownloadIntegrityError)
        size, digest = part.size, part.hasher.hexdigest()
        if self.events is not None:
            self.events.emit(DownloadFinished(self.url, path, self.job_id, size, digest))
        return DownloadResult(path, self.url, size, digest, self.attempts, self.resumed)

    async def run(self) -> DownloadResult:
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.write_loop)
                try:
                    async with self.send:
                        await self.fetch()
                except Exception as exc:  # raised after the group, so it is not wrapped
                    failure = exc
            if failure is not None:
                raise failure
            if self.part is None:  # 416 on the first attempt cannot happen; be explicit
                raise self.fail("no body received")
            return await self.finish()
        finally:
            # Synchronous, so no cancellation can interrupt it; the writer thread has
            # finished (thread calls are never abandoned), so nothing writes meanwhile.
            if self.part is not None and self.part.path.exists():
                self.part.discard()


async def download(
    transport: Transport,
    url: str,
    dest: str | os.PathLike[str],
    *,
    filename: str | None = None,
    overwrite: bool = False,
    job_id: str | None = None,
    events: EventBus | None = None,
    max_stalled_attempts: int = 5,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> DownloadResult:
    """Stream ``url`` to disk atomically; return where it landed, its size and sha256.

    ``dest`` is a directory when it is an existing directory, when it ends with a path
    separator, or when ``filename`` is given and ``dest`` does not exist; the directory
    (and its parents) is created if missing and the file is named, in this order, from
    ``filename``, the response's ``Content-Disposition``, or the last URL path segment,
    always through :func:`safe_filename`. Otherwise ``dest`` is the file path itself (its
    parent directories are created). ``url`` may be a path starting with ``/``, joined to
    the matching API base.

    An existing target raises :class:`DestinationExistsError` unless ``overwrite`` is
    true: before any request when the name is known up front, at the first response when
    it comes from the server, and again atomically at the final rename. Truncated bodies
    and dropped connections resume with ``Range``/``If-Range`` when the server offers
    byte ranges and a strong ETag, else restart; 429 and 5xx are retried with backoff.
    Only attempts that bring no new bytes count against ``max_stalled_attempts`` (in a
    row). A non-retryable 4xx raises the typed :class:`APIError`; giving up raises
    :class:`DownloadError`; a length or sha256 mismatch :class:`DownloadIntegrityError`.
    The ``.part`` file is removed on every failure and on cancellation.
    """
    if max_stalled_attempts < 1:
        raise InvalidInputError("must be >= 1", field="max_stalled_attempts")
    if chunk_size < 1:
        raise InvalidInputError("must be >= 1", field="chunk_size")
    absolute = resolve_url(transport, url)

    def prepare() -> _Plan:
        try:
            plan = _plan(dest, filename)
        except OSError as exc:
            raise InvalidInputError(f"cannot use {dest!r}: {exc}", field="dest") from exc
        if plan.path is not None:
            _check_target(plan, plan.path, overwrite, absolute, job_id)
        return plan

    plan = await anyio.to_thread.run_sync(prepare)
    return await _Download(
        transport,
        absolute,
        plan,
        overwrite,
        job_id,
        events,
        max_stalled_attempts,
        chunk_size,
    ).run()


# -- helpers -------------------------------------------------------------------------------


def _content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(start, end, total)`` of ``bytes a-b/t``; ``(-1, -1, t)`` for ``bytes */t``."""
    if not value:
        return None
    match = _CONTENT_RANGE.match(value)
    if not match:
        return None
    first, last, total = match.groups()
    size = None if total == "*" else int(total)
    if first is None:
        return (-1, -1, size)
    return (int(first), int(last), size)


async def _drain(resp: aiohttp.ClientResponse) -> None:
    """Read a small error body so the connection can be reused; give up on big ones."""
    with suppress(aiohttp.ClientError, TimeoutError):
        await resp.content.read(_ERROR_BODY_LIMIT)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the server"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the body was cut short"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
