"""The entry points: :func:`download` (one URL) and :func:`download_all` (a job's outputs)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from typing import Final, Protocol

import anyio
from yarl import URL

from sovfixer_async._downloads._files import ensure_directory, local_error
from sovfixer_async._downloads._names import unique_names
from sovfixer_async._downloads._resume import Download, DownloadResult
from sovfixer_async._downloads._target import Plan, check_target, plan_destination
from sovfixer_async._errors import InvalidInputError, SOVFixerError
from sovfixer_async._events import EventBus
from sovfixer_async._transport import _DATA_PATHS, Transport

# Chunk size handed to ``iter_chunked`` (it also sets aiohttp's read buffer to 2x this).
# Measured on a 2-core VM, 1 GB over loopback from a server in another process that
# streams at ~1.4 GB/s, sha256 and fsync included, median of 5 (MB/s):
#   64 KiB 393, 128 KiB 402, 256 KiB 437, 512 KiB 436, 1 MiB 393.
# Writing off the loop, same setup: anyio.open_file (a thread hop per chunk) 480-600,
# to_thread per chunk 470-520, batches of 1 MiB in one hop 540-670, batches handed to a
# writer task so the loop reads batch k+1 while a thread hashes and writes batch k
# 800-950 (no fsync in that comparison). Batches of 4 MiB gained nothing over 1 MiB.
DEFAULT_CHUNK_SIZE: Final = 256 * 1024


class OutputLike(Protocol):
    """What :func:`download_all` needs of an output: where it is, what it is called."""

    @property
    def url(self) -> str: ...

    @property
    def filename(self) -> str | None: ...


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
    byte ranges and a strong ETag (or a ``Last-Modified`` date), else restart; 429 and
    5xx are retried with backoff, drawing on the transport's retry budget. Only attempts
    that bring no new bytes count against ``max_stalled_attempts`` (in a row). A
    non-retryable 4xx raises the typed :class:`APIError`; giving up raises
    :class:`DownloadError`; a length or sha256 mismatch :class:`DownloadIntegrityError`;
    a local file system failure :class:`LocalFileError` naming the path.

    The ``.part`` file is removed on every failure and on cancellation. One left by a
    killed process is resumed by the next download to that target (same URL and
    validator) or emptied and reused.
    """
    if max_stalled_attempts < 1:
        raise InvalidInputError("must be >= 1", field="max_stalled_attempts")
    if chunk_size < 1:
        raise InvalidInputError("must be >= 1", field="chunk_size")
    absolute = resolve_url(transport, url)

    def prepare() -> Plan:
        try:
            plan = plan_destination(dest, filename)
            if plan.path is not None:
                check_target(plan, plan.path, overwrite, absolute, job_id)
        except SOVFixerError:
            raise
        except (OSError, ValueError) as exc:
            raise local_error(dest, exc, job_id=job_id) from exc
        return plan

    plan = await anyio.to_thread.run_sync(prepare)
    return await Download(
        transport,
        absolute,
        plan,
        overwrite,
        job_id,
        events,
        max_stalled_attempts,
        chunk_size,
    ).run()


def output_names(outputs: Sequence[OutputLike]) -> list[str]:
    """Distinct safe names for a job's outputs, by output order (``name (2).ext``...);
    an output without a name is named after its URL's last segment."""
    fallbacks = [URL(o.url).name if "://" in o.url else o.url.rpartition("/")[2] for o in outputs]
    fallbacks = [name or f"output-{i + 1}" for i, name in enumerate(fallbacks)]
    return unique_names([o.filename for o in outputs], fallbacks)


async def download_all(
    transport: Transport,
    outputs: Sequence[OutputLike],
    dest: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    job_id: str | None = None,
    events: EventBus | None = None,
) -> list[DownloadResult]:
    """Every output into the folder ``dest`` (created), in order, each under its own name
    (:func:`output_names`): two outputs called alike are both kept."""
    folder = await anyio.to_thread.run_sync(partial(ensure_directory, dest, job_id=job_id))
    results: list[DownloadResult] = []
    for output, name in zip(outputs, output_names(outputs), strict=True):
        results.append(
            await download(
                transport,
                output.url,
                folder,
                filename=name,
                overwrite=overwrite,
                job_id=job_id,
                events=events,
            )
        )
    return results
