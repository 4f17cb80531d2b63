"""The folders a client makes for bulk runs, and their removal when it closes.

A run's folder is named by its UUID inside the client's work root (``ClientConfig.work_dir``,
or a temporary folder made on first use). Every folder made here carries a marker file;
only marked folders this client made are ever removed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sovfixer_async._errors import InvalidInputError

#: The file that marks a folder as one this SDK made (and so may remove).
MARKER = ".sovfixer-async"


class WorkFolders:
    """The work root and the folders made in it, for one client."""

    def __init__(self, root: Path | None = None) -> None:
        #: Parent of the runs' folders (a temporary folder is made when None).
        self.root = root
        #: Folders made by this client, oldest first.
        self.created: list[Path] = []

    def run_dir(self, name: str) -> Path:
        """The folder ``name`` (a checked run UUID) inside the root, made and marked if new.

        An existing, marked one (an earlier client's, kept) is reused and left in place; an
        unmarked one is refused.
        """
        root = self.root
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="sovfixer-bulk-"))
            (root / MARKER).touch()
            self.root = root
            self.created.append(root)
        path = root / name
        if path in self.created or (path / MARKER).is_file():
            return path
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            raise InvalidInputError(
                f"{path} exists and was not made by sovfixer_async; not using it",
                field="work_dir",
            ) from None
        (path / MARKER).touch()
        self.created.append(path)
        return path

    def discard(self, path: Path) -> None:
        """Remove a folder made here now (a run that failed before it was submitted)."""
        if path in self.created:
            self.created.remove(path)
        shutil.rmtree(path, ignore_errors=True)

    def take(self) -> list[Path]:
        """The folders to remove at close (forgotten here)."""
        dirs, self.created = self.created, []
        return dirs


def remove_dirs(paths: list[Path]) -> None:
    """Remove the work folders a client made (newest first): only those it marked."""
    for path in reversed(paths):
        if not path.is_symlink() and (path / MARKER).is_file():
            shutil.rmtree(path, ignore_errors=True)
