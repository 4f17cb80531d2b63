"""Streaming downloads to disk: chunked, atomic, resumable, verified, with safe names.

Every output file reaches disk through :func:`download`. The body is read on the event
loop and handed in batches to a worker thread that hashes and writes it into
``<name>.part`` beside the target while the loop reads the next batch, so memory stays
flat and the loop never blocks on the disk. The part file is length-checked, verified
against the server's sha256 ETag, fsynced and only then renamed into place: nothing
half-written ever carries the final name. A dropped connection resumes with a ``Range``
request guarded by ``If-Range``; a part file left by a killed process is resumed the same
way by the next download to that target, or emptied.

Rooms: ``_names`` (file names from untrusted values), ``_files`` (the atomic write
helpers of the package and the local file error), ``_part`` (the part file and its
state), ``_retry`` (the retry decision), ``_http`` (ranges, validators), ``_target``
(where the file goes), ``_resume`` (the resume state machine), ``_api`` (entry points).
"""

from sovfixer_async._downloads._api import (
    DEFAULT_CHUNK_SIZE,
    OutputLike,
    download,
    download_all,
    output_names,
    resolve_url,
)
from sovfixer_async._downloads._files import (
    LocalDownloadError,
    commit,
    copy_atomic,
    ensure_directory,
    local_error,
    write_atomic,
    write_bytes_atomic,
)
from sovfixer_async._downloads._names import (
    parse_content_disposition,
    safe_filename,
    served_name,
    unique_names,
)
from sovfixer_async._downloads._resume import DownloadResult

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DownloadResult",
    "LocalDownloadError",
    "OutputLike",
    "commit",
    "copy_atomic",
    "download",
    "download_all",
    "ensure_directory",
    "local_error",
    "output_names",
    "parse_content_disposition",
    "resolve_url",
    "safe_filename",
    "served_name",
    "unique_names",
    "write_atomic",
    "write_bytes_atomic",
]
