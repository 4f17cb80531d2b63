"""Local file system failures raise one typed error, ``LocalFileError``, naming the path:
never a raw ``OSError`` or ``ValueError``. During a download it is also a
``DownloadError`` (``url``, ``bytes_received``), as code written for 0.1 expects."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async import LocalFileError
from sovfixer_async._downloads import _part, copy_atomic, download, write_bytes_atomic
from sovfixer_async._errors import DownloadError
from sovfixer_async._transport import Transport

from .conftest import PATH, FileServer, leftovers, payload

pytestmark = pytest.mark.anyio


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores permission bits)."""
    if os.geteuid() == 0:
        return Path("/proc/self")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


async def test_destination_below_a_file(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    blocker = tmp_path / "report.json"
    blocker.write_bytes(b"mine")
    for dest in (blocker / "sub" / "out.json", f"{blocker}/", blocker / "deeper" / ""):
        with pytest.raises(LocalFileError) as info:
            await download(transport, server.url + PATH, dest, filename="out.json")
        assert type(info.value) not in (OSError, ValueError)  # the SDK's, never a raw one
        assert info.value.__cause__ is None or isinstance(info.value.__cause__, OSError)
        assert str(blocker) in info.value.path
        assert info.value.path in str(info.value)
    assert blocker.read_bytes() == b"mine"
    assert server.seen == []


async def test_target_is_a_folder(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    (tmp_path / "out.json").mkdir()
    with pytest.raises(LocalFileError) as info:
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert info.value.path == str(tmp_path / "out.json")
    assert isinstance(info.value, DownloadError)
    # Named by the server: refused at the first response, the same way.
    with pytest.raises(LocalFileError):
        await download(transport, server.url + PATH, tmp_path, overwrite=True)
    assert (tmp_path / "out.json").is_dir()


async def test_unwritable_folder(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    folder = unwritable_folder(tmp_path)
    with pytest.raises(LocalFileError) as info:
        await download(transport, server.url + PATH, folder, filename="out.json")
    assert info.value.path.startswith(str(folder))
    assert isinstance(info.value, DownloadError)


@pytest.mark.parametrize("where", ["folder", "file"])
async def test_nul_in_the_path(
    server: FileServer, transport: Transport, tmp_path: Path, where: str
) -> None:
    dest = f"{tmp_path}/a\x00b/" if where == "folder" else f"{tmp_path}/a\x00b.json"
    with pytest.raises(LocalFileError, match="NUL") as info:
        await download(transport, server.url + PATH, dest)
    assert "\x00" not in str(info.value)
    assert server.seen == []


async def test_name_too_long(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    dest = tmp_path / ("x" * 300) / "out.json"
    with pytest.raises(LocalFileError, match="too long") as info:
        await download(transport, server.url + PATH, dest)
    assert info.value.path == str(dest)
    # A name the server or the caller proposes is capped instead, and the download works.
    result = await download(transport, server.url + PATH, tmp_path, filename="y" * 400)
    assert result.path.read_bytes() == server.data


async def test_disk_error_is_a_local_file_error(
    server: FileServer, transport: Transport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set_data(payload(3 << 20))

    def full(self: Any, pieces: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_part.PartFile, "_write", full)
    with pytest.raises(LocalFileError, match="No space left") as info:
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert isinstance(info.value, DownloadError)
    assert info.value.path == str(tmp_path / "out.json.part")
    assert list(tmp_path.iterdir()) == []


FILE_SIZE_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys, anyio
    from sovfixer_async import LocalFileError
    from sovfixer_async._config import ClientConfig, RetryPolicy
    from sovfixer_async._downloads import download
    from sovfixer_async._transport import Transport

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    async def main() -> None:
        url, dest = sys.argv[1], sys.argv[2]
        cfg = ClientConfig(api_url=url, data_api_url=url, token="t", retry=RetryPolicy.no_wait())
        transport = Transport(cfg)
        await transport.open()
        try:
            await download(transport, url + "/api/v1/sov/s-1/output/out.json", dest,
                           filename="out.json")
        except LocalFileError as exc:
            print(type(exc).__name__, exc.path, exc.message, sep="|")
        finally:
            await transport.close()

    anyio.run(main)
    """
)


async def test_a_full_disk_in_another_process(server: FileServer, tmp_path: Path) -> None:
    """A real write failure: a file size limit (RLIMIT_FSIZE) smaller than the body."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = await anyio.run_process(
        [sys.executable, "-c", FILE_SIZE_LIMIT, server.url, str(tmp_path)], env=env
    )
    kind, path, message = done.stdout.decode().strip().split("|")
    assert kind == "LocalDownloadError"
    assert path == str(tmp_path / "out.json.part")
    assert message == "File too large"
    assert leftovers(tmp_path) == []


def test_atomic_helpers_name_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(LocalFileError) as info:
        write_bytes_atomic(blocker / "body.json", b"{}")
    assert info.value.path == str(blocker / "body.json")
    with pytest.raises(LocalFileError) as info:
        copy_atomic(blocker, blocker / "sub" / "copy.json")
    assert str(blocker) in info.value.path
    with pytest.raises(LocalFileError) as info:
        copy_atomic(tmp_path / "missing", tmp_path / "copy.json")
    assert info.value.path == str(tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    size, digest = copy_atomic(blocker, tmp_path / "a" / "copy")
    assert (size, (tmp_path / "a" / "copy").read_bytes()) == (1, b"x")
    assert len(digest) == 64
