"""The part file: ``<name>.part`` beside the target, written from the writer thread only.

A live part file is held under an exclusive advisory lock (``flock``) for as long as its
download runs, so a part file nobody holds was left by a process that died. Beside it,
``<name>.part.state`` records what the bytes are (URL, validator, total length); the
next download to that target resumes such a stale part with ``Range``/``If-Range`` when
its state matches, and otherwise truncates it and starts over. A part file held by a
live download is never touched: the newcomer writes beside it under a unique name.
Without ``flock`` (Windows) no part file is ever adopted.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import sys
import zlib
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Final

from attrs import frozen

from sovfixer_async._downloads._files import commit, write_bytes_atomic
from sovfixer_async._errors import LocalFileError

if sys.platform != "win32":
    import fcntl

    def _lock(fd: int) -> bool:
        """Take the exclusive advisory lock without waiting; True when held."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    _LOCKS: bool = True
else:  # pragma: no cover - Windows: no part file is ever adopted

    def _lock(fd: int) -> bool:
        return True

    _LOCKS = False

_DECODE_PIECE: Final = 1024 * 1024
_IOV_MAX: Final = 512
# Start kernel writeback every so often so the final fsync has little left to flush.
_WRITEBACK_BYTES: Final = 32 * 1024 * 1024
_STATE_LIMIT: Final = 16 * 1024
_VALIDATOR_LIMIT: Final = 1024
_FLAGS: Final = (os.O_RDWR | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)) | getattr(
    os, "O_NOFOLLOW", 0
)
_writev = getattr(os, "writev", None)  # not on Windows


@frozen
class PartState:
    """What a part file holds: a prefix of ``url``'s representation ``validator``."""

    url: str
    validator: str
    total: int | None

    def dump(self) -> bytes:
        return json.dumps(
            {"v": 1, "url": self.url, "validator": self.validator, "total": self.total}
        ).encode()

    @classmethod
    def load(cls, data: bytes) -> PartState | None:
        """The state a file holds, or None when it is not a sound one (untrusted bytes)."""
        try:
            raw = json.loads(data)
        except ValueError:
            return None
        if not isinstance(raw, dict) or raw.get("v") != 1:
            return None
        url, validator, total = raw.get("url"), raw.get("validator"), raw.get("total")
        if not isinstance(url, str) or not isinstance(validator, str):
            return None
        if not validator or len(validator) > _VALIDATOR_LIMIT or not validator.isprintable():
            return None  # never a header injection from a file on disk
        if total is not None and (type(total) is not int or total < 0):
            return None
        return cls(url, validator, total)


def state_path(part: Path) -> Path:
    return part.with_name(part.name + ".state")


class PartFile:
    """An open, locked part file with the running sha256 of what it holds."""

    def __init__(self, path: Path, fd: int, locked: bool, canonical: bool = True):
        self.path = path
        self.fd: int | None = fd
        self.locked = locked
        #: ``<name>.part`` (a later download can adopt it), not a unique name beside it.
        self.canonical = canonical
        self.size = 0
        self.hasher = hashlib.sha256()
        self.decoder: zlib._Decompress | None = None
        self._flushed = 0
        self.committed = False
        #: Set when a stale part of the same representation was adopted.
        self.adopted: PartState | None = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, target: Path, url: str) -> PartFile:
        """``<target>.part``: new, or stale and adopted (resumed or emptied), or, when a
        live download holds it, a fresh uniquely named one beside it. Raises ``OSError``."""
        path = target.with_name(target.name + ".part")
        try:
            fd = os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            part = cls._adopt(path, url)
            if part is not None:
                return part
        else:
            if _lock(fd):
                return cls(path, fd, locked=_LOCKS)
            os.close(fd)  # someone adopted it between our create and our lock
        return cls._unique(target)

    @classmethod
    def _unique(cls, target: Path) -> PartFile:
        path = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
        fd = os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o666)
        _lock(fd)
        return cls(path, fd, locked=_LOCKS, canonical=False)

    @classmethod
    def _adopt(cls, path: Path, url: str) -> PartFile | None:
        """A stale part file at ``path``, resumed when its state matches ``url``; None
        when it is live (locked), not a regular file, not this user's, or locks are
        unavailable."""
        if not _LOCKS:
            return None
        try:
            fd = os.open(path, _FLAGS)
        except OSError:  # a symlink (O_NOFOLLOW), a folder, gone meanwhile
            return None
        info = os.fstat(fd)
        mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
        if not stat.S_ISREG(info.st_mode) or not mine or not _lock(fd):
            os.close(fd)
            return None
        part = cls(path, fd, locked=True)
        try:
            part._resume_or_empty(url)
        except BaseException:
            part.close()
            raise
        return part

    def _resume_or_empty(self, url: str) -> None:
        assert self.fd is not None
        state = _read_state(state_path(self.path))
        size = os.fstat(self.fd).st_size
        usable = (
            state is not None
            and state.url == url
            and size > 0
            and (state.total is None or size <= state.total)
        )
        if not usable:
            self.restart(None)
            return
        os.lseek(self.fd, 0, os.SEEK_SET)
        left = size
        while left:
            chunk = os.read(self.fd, min(left, _DECODE_PIECE))
            if not chunk:
                break
            self.hasher.update(chunk)
            left -= len(chunk)
        self.size = self._flushed = size - left
        os.lseek(self.fd, self.size, os.SEEK_SET)
        os.ftruncate(self.fd, self.size)
        self.adopted = state

    # -- writing ----------------------------------------------------------------------------

    def restart(self, encoding: str | None, state: PartState | None = None) -> None:
        """Back to zero bytes: the server sent a fresh full body (described by ``state``
        when it can be resumed by a later process)."""
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.size = 0
        self._flushed = 0
        self.hasher = hashlib.sha256()
        self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding else None
        if not self.canonical:
            pass
        elif state is None or not self.locked:
            _remove(state_path(self.path))
        else:
            try:
                write_bytes_atomic(state_path(self.path), state.dump())
            except LocalFileError:  # best effort: without it, a later download starts over
                _remove(state_path(self.path))

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

    # -- ending -----------------------------------------------------------------------------

    def finish(self) -> bool:
        """Flush the decoder and fsync; False when a compressed body was cut short."""
        assert self.fd is not None
        complete = True
        if self.decoder is not None:
            tail = self.decoder.flush()
            if tail:
                self._write([tail])
            complete = self.decoder.eof
        os.fsync(self.fd)
        return complete

    def commit(self, target: Path, overwrite: bool) -> None:
        """Move into place (``FileExistsError`` without overwrite when the target exists).

        The lock is held until the part's name is gone, so no other process can adopt a
        part that is being renamed."""
        if not self.locked:
            self.close()  # Windows cannot rename an open file
        if self.canonical:
            _remove(state_path(self.path))
        commit(self.path, target, overwrite)  # on failure, discard() cleans up
        self.committed = True
        self.close()

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def discard(self) -> None:
        """Remove the part and its state (still under the lock), then close."""
        if self.canonical:
            _remove(state_path(self.path))
        _remove(self.path)
        self.close()


def _read_state(path: Path) -> PartState | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        return PartState.load(os.read(fd, _STATE_LIMIT))
    except OSError:
        return None
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
