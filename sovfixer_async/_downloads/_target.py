"""Where a download goes: a folder (the name still open) or a fixed file, and the checks
that keep it inside that folder and off an existing file."""

from __future__ import annotations

import os
from pathlib import Path

from attrs import frozen

from sovfixer_async._downloads._files import LocalDownloadError
from sovfixer_async._downloads._names import safe_filename
from sovfixer_async._errors import DestinationExistsError, DownloadError


@frozen
class Plan:
    """Where the file goes: a directory (name still open) or a fixed file path."""

    directory: Path
    path: Path | None


def plan_destination(dest: str | os.PathLike[str], filename: str | None) -> Plan:
    """``dest`` as a folder or a file (see :func:`download`); creates the folder.

    Raises ``OSError``/``ValueError`` for the caller to name."""
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
        return Plan(here, path)
    here.parent.mkdir(parents=True, exist_ok=True)
    return Plan(here.parent, here)


def check_target(plan: Plan, path: Path, overwrite: bool, url: str, job_id: str | None) -> None:
    """Refuse a path that resolves outside the directory (a symlink too), is a directory,
    or exists when ``overwrite`` is false."""
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(plan.directory):
        raise DownloadError(
            url, f"refusing to write {path}: it resolves outside {plan.directory}", job_id=job_id
        )
    if path.is_dir():
        raise LocalDownloadError(str(path), "is a folder, not a file", url=url, job_id=job_id)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise DestinationExistsError(str(path), job_id=job_id)
