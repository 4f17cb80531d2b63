"""One exception tree under :class:`SOVFixerError`.

::

    SOVFixerError                       every error of the SDK; ``.handle`` names the job
    ├── InvalidInputError (ValueError)  local input is wrong (nothing was sent)
    ├── ConfigurationError
    │   └── MissingTokenError
    ├── LocalFileError (OSError)        the local file system failed; ``.path`` names it
    │   └── DestinationExistsError (FileExistsError)
    ├── APIError                        the API or the network caused it
    │   ├── APIStatusError              a non-2xx answer: ``.status``, ``.body``, ``.request_id``
    │   │   ├── BadRequestError         400, 413, 422
    │   │   ├── AuthenticationError     401
    │   │   ├── PermissionDeniedError   403
    │   │   ├── NotFoundError           404
    │   │   ├── ConflictError           409
    │   │   ├── RateLimitError          429 after every retry
    │   │   └── InternalServerError     5xx after every retry
    │   ├── APIConnectionError          no answer: connection refused, reset, ...
    │   │   └── APITimeoutError         ... or too slow
    │   ├── AmbiguousSubmissionError    a job may have been created; its id is unknown
    │   └── DownloadError               a download gave up (``DownloadIntegrityError``)
    ├── JobFailed                       the server says the job failed
    └── JobTimeout                      a wait passed its deadline (the job goes on)

A 2xx answer whose body is not the expected JSON raises ``APIResponseValidationError``
(an ``APIError`` and a ``models.ResponseShapeError``), defined next to the body reader.

Every message says what was being done, for which job id, and what the server said.
No exception carries a token: requests are described by method and URL path only, and the
transport replaces any API token a server echoes back with ``***``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sovfixer_async import BulkEnhanceRun, JobHandle


def _describe(what: str, job_id: str | None) -> str:
    return f"{what} (job {job_id})" if job_id else what


class SOVFixerError(Exception):
    """Base of every error raised by sovfixer_async."""

    job_id: str | None = None
    #: The job this error concerns, when the SDK has a handle for it (None otherwise).
    handle: JobHandle[Any] | BulkEnhanceRun | None = None


class InvalidInputError(SOVFixerError, ValueError):
    """Local input is wrong; raised before any job-creating request is sent.

    ``field`` names the offending argument, key or row (e.g. ``locations[3].id``).
    """

    def __init__(self, message: str, *, field: str | None = None, job_id: str | None = None):
        #: What is wrong, without the field name.
        self.message = message
        self.field = field
        self.job_id = job_id
        text = f"{field}: {message}" if field else message
        super().__init__(text)


class ConfigurationError(SOVFixerError):
    """The client is not configured well enough to make the request."""


class MissingTokenError(ConfigurationError):
    """No API token was found; the message lists every place that was looked at."""

    def __init__(self, product: str, places: Sequence[str]):
        self.product = product
        self.places = tuple(places)
        listed = "\n  - ".join(self.places)
        super().__init__(
            f"no {product} API token found. Looked at, in order:\n  - {listed}\n"
            "Pass token=... to Client(), set one of these variables, or add the key to "
            "~/.pingintel.ini."
        )


class LocalFileError(SOVFixerError, OSError):
    """A local file or folder could not be read or written; ``path`` names it.

    Also an ``OSError`` (code written for 0.1, which let raw ``OSError`` through, keeps
    working); ``errno`` is the operating system's code when there was one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        detail: str,
        *,
        errno: int | None = None,
        job_id: str | None = None,
    ):
        self.path = os.fspath(path)
        self.detail = detail
        self.job_id = job_id
        self.message = f"{_describe(self.path, job_id)}: {detail}"
        super().__init__(self.message)
        self.args = (self.message,)
        self.errno = errno
        self.filename = self.path

    def __str__(self) -> str:
        return self.message

    @classmethod
    def of(
        cls, path: str | os.PathLike[str], exc: BaseException, *, job_id: str | None = None
    ) -> LocalFileError:
        """The SDK's error for ``exc`` (an ``OSError``, or a ``ValueError`` for a NUL byte)."""
        if isinstance(exc, OSError):
            detail = exc.strerror or str(exc) or type(exc).__name__
            return cls(path, detail, errno=exc.errno, job_id=job_id)
        return cls(path, str(exc) or type(exc).__name__, job_id=job_id)


class DestinationExistsError(LocalFileError, FileExistsError):
    """The target file exists and ``overwrite=True`` was not given (the SDK never prompts)."""

    def __init__(self, path: str | os.PathLike[str], *, job_id: str | None = None):
        super().__init__(path, "exists", job_id=job_id)
        self.message = (
            f"{_describe(f'download to {self.path}', job_id)} refused: the file exists; "
            "pass overwrite=True to replace it"
        )
        self.args = (self.message,)


class APIError(SOVFixerError):
    """Base of every error the API or the network caused.

    ``what`` describes the request (e.g. ``GET /api/v1/sov/s-1``); ``message`` is the
    detail. ``status`` is None when no HTTP answer was read.
    """

    status: int | None = None

    def __init__(self, what: str, message: str, *, job_id: str | None = None):
        self.what = what
        self.message = message
        self.job_id = job_id
        super().__init__(f"{_describe(what, job_id)} failed: {message}")


class APIStatusError(APIError):
    """The server answered with a non-2xx status (after every retry it deserved)."""

    status: int

    def __init__(
        self,
        what: str,
        status: int,
        message: str,
        *,
        body: str = "",
        json: Any = None,
        request_id: str | None = None,
        job_id: str | None = None,
    ):
        self.status = status
        #: The body as text (bounded, tokens redacted); ``json`` the same body decoded.
        self.body = body
        self.json = json
        self.request_id = request_id
        suffix = f" [request id {request_id}]" if request_id else ""
        super().__init__(what, f"HTTP {status}: {message}{suffix}", job_id=job_id)
        self.message = message


class BadRequestError(APIStatusError):
    """400, 413 or 422: the server rejected a field.

    ``allowed_formats`` is filled when the server listed them.
    """

    def __init__(self, *args: Any, allowed_formats: Sequence[str] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.allowed_formats = tuple(allowed_formats)


class AuthenticationError(APIStatusError):
    """401: the token is wrong or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token is valid but lacks a permission."""


class NotFoundError(APIStatusError):
    """404: the id, file or path does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the job's state (e.g. a second start)."""


class RateLimitError(APIStatusError):
    """429 after every retry; ``retry_after`` is the server's last hint in seconds."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx after every retry."""


class APIConnectionError(APIError):
    """No HTTP answer: the connection failed, was refused or dropped."""

    def __init__(self, what: str, detail: str, *, job_id: str | None = None):
        self.detail = detail
        super().__init__(what, detail, job_id=job_id)


class APITimeoutError(APIConnectionError):
    """No HTTP answer in time (connect or read timeout)."""


class AmbiguousSubmissionError(APIError):
    """A job-creating request may or may not have created its job.

    The connection dropped, a gateway answered 502/504, or the answer's body could not be
    read: resubmitting blindly could create a duplicate job, so the SDK stops and says so.
    ``status`` is the HTTP status when one was read. Opt in to resubmission (of dropped
    requests and gateway errors) with ``RetryPolicy(resubmit_ambiguous=True)``.
    """

    #: Set by the submission that raised it: what ``client.reconcile(error)`` looks up.
    kind: str | None = None
    client_ref: str | None = None
    sovid: str | None = None

    def __init__(
        self, what: str, detail: str, *, job_id: str | None = None, status: int | None = None
    ):
        self.detail = detail
        super().__init__(what, detail, job_id=job_id)
        self.status = status
        self.args = (
            f"{_describe(what, job_id)} is ambiguous: {detail}. The server may have created "
            "the job; it was not resubmitted to avoid a duplicate. Check the server (e.g. the "
            "history feed) before retrying, or opt in with RetryPolicy(resubmit_ambiguous=True).",
        )


class DuplicateClientRefError(SOVFixerError):
    """``client.reconcile`` found several jobs with the same ``client_ref`` (a reused one).

    ``job_ids`` lists them all; pick the right one with ``client.resume`` or by id.
    """

    def __init__(self, kind: str, client_ref: str, job_ids: Sequence[str]):
        self.kind = kind
        self.client_ref = client_ref
        self.job_ids = tuple(job_ids)
        super().__init__(
            f"{len(self.job_ids)} {kind} jobs carry client_ref {client_ref!r}: "
            + ", ".join(self.job_ids)
            + "; reconcile cannot tell which one this submission made"
        )


class MissingLocationsError(SOVFixerError):
    """A resumed bulk run cannot list the locations of some batches (their manifest is gone).

    ``batches`` names each one (its job id, or ``batch N`` for one never accepted); the
    other batches' results are on disk (``run.results()`` is not given a partial file).
    """

    def __init__(self, run_id: str, batches: Sequence[str]):
        self.run_id = run_id
        self.batches = tuple(batches)
        self.job_id = run_id
        super().__init__(
            f"bulk run {run_id}: the locations of {len(self.batches)} batch(es) cannot be "
            f"listed ({', '.join(self.batches)}): their manifest and bodies are gone "
            "(removed, pruned, or made on another machine)"
        )


class JobFailed(SOVFixerError):
    """The job reached a terminal FAILED state (or a result status other than SUCCESS)."""

    def __init__(
        self,
        kind: str,
        job_id: str,
        result_status: str | None,
        message: str | None,
        status: Any = None,
    ):
        self.kind = kind
        self.job_id = job_id
        self.result_status = result_status
        self.message = message
        self.status = status
        said = message or "no message"
        code = f" ({result_status})" if result_status else ""
        super().__init__(f"{kind} job {job_id} failed{code}: {said}")


class JobTimeout(SOVFixerError):
    """A wait passed its deadline; the server job goes on and ``token`` resumes it.

    Not an ``OSError`` (nor a builtin ``TimeoutError``): nothing local failed.
    """

    def __init__(self, kind: str, job_id: str, waited: float, token: str, last_state: str | None):
        self.kind = kind
        self.job_id = job_id
        self.waited = waited
        self.token = token
        self.last_state = last_state
        state = last_state or "no status seen yet"
        super().__init__(
            f"{kind} job {job_id} not done after {waited:.1f} s (last state: {state}); "
            "it keeps running on the server: resume it with client.resume(token)"
        )


class DownloadError(APIError):
    """A download could not be completed; ``bytes_received`` says how far it got."""

    def __init__(
        self,
        url: str,
        detail: str,
        *,
        bytes_received: int = 0,
        attempts: int = 0,
        job_id: str | None = None,
    ):
        self.url = url
        self.detail = detail
        self.bytes_received = bytes_received
        self.attempts = attempts
        super().__init__(f"download of {url}", detail, job_id=job_id)
        self.args = (
            f"{_describe(self.what, job_id)} failed after {attempts} attempt(s), "
            f"{bytes_received} bytes received: {detail}",
        )


class DownloadIntegrityError(DownloadError):
    """The bytes on disk do not match the server's length or checksum."""


#: Names of 0.1, importable from ``sovfixer_async`` (with a DeprecationWarning) until 1.0.
DEPRECATED_ALIASES: Mapping[str, type[SOVFixerError]] = {
    "ValidationError": BadRequestError,
    "RateLimitedError": RateLimitError,
    "ServerError": InternalServerError,
    "TransportError": APIConnectionError,
}


def allowed_formats_from(body: Mapping[str, Any] | None) -> list[str]:
    """The formats a 400 body lists, if it lists them (``allowed_output_formats``)."""
    if not isinstance(body, Mapping):
        return []
    listed = body.get("allowed_output_formats")
    if isinstance(listed, list):
        return [str(f) for f in listed]
    return []
