"""The one set of atomic file helpers of the package, and the one local file error.

A file reaches its final name only whole: it is written under a unique temporary name
beside the target (created with ``O_EXCL``, so no other writer and no symlink is
followed), optionally fsynced, then moved into place with ``os.replace`` (or a hard
link when an existing target must never be clobbered), and the folder is fsynced.
Every ``OSError`` or ``ValueError`` a local path causes becomes :class:`LocalFileError`
naming the path.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, TypeVar

from sovfixer_async._errors import DownloadError, LocalFileError

T = TypeVar("T")

_OPEN_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
)
_COPY_CHUNK = 1 << 20


class LocalDownloadError(LocalFileError, DownloadError):
    """A download failed on the local side (disk full, unwritable folder...).

    Both a :class:`LocalFileError` (``path``) and a :class:`DownloadError` (``url``,
    ``bytes_received``), so code written for either catches it.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        url: str,
        bytes_received: int = 0,
        attempts: int = 0,
        job_id: str | None = None,
    ):
        DownloadError.__init__(
            self,
            url,
            f"{path}: {message}",
            bytes_received=bytes_received,
            attempts=attempts,
            job_id=job_id,
        )
        self.path = path
        self.message = message


def describe_os_error(exc: BaseException) -> str:
    """What went wrong, in words, without repeating the path."""
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOTDIR:
            return "a part of the path is a file, not a folder"
        if exc.strerror:
            return exc.strerror
    text = str(exc)
    if isinstance(exc, ValueError) and "null" in text:
        return "the path holds a NUL character"
    return text or type(exc).__name__


def local_error(
    path: str | os.PathLike[str], exc: BaseException, *, job_id: str | None = None
) -> LocalFileError:
    """The SDK's error for a failed local operation on ``path``."""
    return LocalFileError(_show(path), describe_os_error(exc), job_id=job_id)


def _show(path: str | os.PathLike[str]) -> str:
    return os.fspath(path).replace("\x00", "\\x00")


def ensure_directory(path: str | os.PathLike[str], *, job_id: str | None = None) -> Path:
    """``path`` as a folder (parents created); :class:`LocalFileError` when it cannot be."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        if isinstance(exc, FileExistsError) or (folder.exists() and not folder.is_dir()):
            raise LocalFileError(_show(path), "exists and is not a folder", job_id=job_id) from exc
        raise local_error(path, exc, job_id=job_id) from exc
    return folder


def create_beside(target: Path, infix: str = "tmp") -> tuple[int, Path]:
    """A new, empty file ``<target>.<random>.<infix>`` beside ``target``: (fd, path)."""
    while True:
        path = target.with_name(f"{target.name}.{secrets.token_hex(4)}.{infix}")
        try:
            return os.open(path, _OPEN_FLAGS, 0o666), path
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def fsync_directory(folder: Path) -> None:
    """Persist a rename in ``folder`` (best effort: not every platform can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def commit(part: Path, target: Path, overwrite: bool) -> None:
    """Move the finished ``part`` into place; without overwrite never clobber a newcomer
    (raises ``FileExistsError``). Persists the rename."""
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
    fsync_directory(target.parent)


def write_atomic(
    target: Path,
    fill: Callable[[BinaryIO], T],
    *,
    durable: bool = True,
    overwrite: bool = True,
    job_id: str | None = None,
) -> T:
    """Write ``target`` whole or not at all: ``fill`` writes into a temporary file beside
    it, which is fsynced (when ``durable``) and moved into place. Returns what ``fill``
    returns. Local failures raise :class:`LocalFileError` naming the path; the temporary
    file never outlives the call."""
    try:
        fd, tmp = create_beside(target)
    except (OSError, ValueError) as exc:
        raise local_error(target, exc, job_id=job_id) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            result = fill(out)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if overwrite and not durable:
            os.replace(tmp, target)
        else:
            commit(tmp, target, overwrite)
    except (FileExistsError, LocalFileError):  # already names its path
        _remove(tmp)
        raise
    except OSError as exc:
        _remove(tmp)
        raise local_error(target, exc, job_id=job_id) from exc
    except BaseException:
        _remove(tmp)
        raise
    return result


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """``data`` as the whole content of ``path`` (work files: not fsynced by default)."""

    def fill(out: BinaryIO) -> None:
        out.write(data)

    write_atomic(path, fill, durable=durable)


def copy_atomic(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` over ``target`` atomically and durably; (size, sha256 hex).

    The parent folders of ``target`` are created."""
    ensure_directory(target.parent)

    def fill(out: BinaryIO) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        try:
            src = open(source, "rb")  # noqa: SIM115
        except OSError as exc:
            raise local_error(source, exc) from exc
        with src:
            while chunk := src.read(_COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return size, digest.hexdigest()

    return write_atomic(target, fill)


def _remove(path: Path) -> None:
    with suppress(OSError):
        os.unlink(path)
