"""One exception tree under :class:`SOVFixerError`.

Every message says what was being done, for which job id, and what the server said.
No exception ever carries a token: requests are described by method and URL only, and
URLs never hold credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _describe(what: str, job_id: str | None) -> str:
    return f"{what} (job {job_id})" if job_id else what


class SOVFixerError(Exception):
    """Base of every error raised by sovfixer_async."""

    job_id: str | None = None
    handle: Any = None


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


class TransportError(SOVFixerError):
    """The request could not be completed at the HTTP level (connection, timeout)."""

    def __init__(self, what: str, detail: str, *, job_id: str | None = None):
        self.what = what
        self.detail = detail
        self.job_id = job_id
        super().__init__(f"{_describe(what, job_id)} failed: {detail}")


class AmbiguousSubmissionError(TransportError):
    """A job-creating request may or may not have reached the server.

    Resubmitting blindly could create a duplicate job, so the SDK stops and says so.
    Opt in to resubmission with ``RetryPolicy(resubmit_ambiguous=True)``.
    """

    def __init__(self, what: str, detail: str, *, job_id: str | None = None):
        super().__init__(what, detail, job_id=job_id)
        self.args = (
            f"{_describe(what, job_id)} is ambiguous: {detail}. The server may have created "
            "the job; it was not resubmitted to avoid a duplicate. Check the server (e.g. the "
            "history feed) before retrying, or opt in with RetryPolicy(resubmit_ambiguous=True).",
        )


class APIError(SOVFixerError):
    """The server answered with a non-2xx status."""

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
        self.what = what
        self.status = status
        self.message = message
        self.body = body
        self.json = json
        self.request_id = request_id
        self.job_id = job_id
        suffix = f" [request id {request_id}]" if request_id else ""
        super().__init__(f"{_describe(what, job_id)} failed: HTTP {status}: {message}{suffix}")


class AuthenticationError(APIError):
    """401 or 403: the token is wrong, expired, or lacks a permission."""


class NotFoundError(APIError):
    """404: the id, file or path does not exist."""


class ValidationError(APIError):
    """400: the server rejected a field; ``allowed_formats`` is filled when it listed them."""

    def __init__(self, *args: Any, allowed_formats: Sequence[str] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.allowed_formats = tuple(allowed_formats)


class ConflictError(APIError):
    """409: the request conflicts with the job's state (e.g. a second start)."""


class RateLimitedError(APIError):
    """429 after every retry; ``retry_after`` is the server's last hint in seconds."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx after every retry."""


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


class JobTimeout(SOVFixerError, TimeoutError):
    """A wait passed its deadline; the server job goes on and ``token`` resumes it."""

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


class DownloadError(SOVFixerError):
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
        self.job_id = job_id
        super().__init__(
            f"{_describe(f'download of {url}', job_id)} failed after {attempts} attempt(s), "
            f"{bytes_received} bytes received: {detail}"
        )


class DownloadIntegrityError(DownloadError):
    """The bytes on disk do not match the server's length or checksum."""


class DestinationExistsError(SOVFixerError, FileExistsError):
    """The target file exists and ``overwrite=True`` was not given (the SDK never prompts)."""

    def __init__(self, path: str, *, job_id: str | None = None):
        self.path = path
        self.job_id = job_id
        super().__init__(
            f"{_describe(f'download to {path}', job_id)} refused: the file exists; "
            "pass overwrite=True to replace it"
        )


def allowed_formats_from(body: Mapping[str, Any] | None) -> list[str]:
    """The formats a 400 body lists, if it lists them (``allowed_output_formats``)."""
    if not isinstance(body, Mapping):
        return []
    listed = body.get("allowed_output_formats")
    if isinstance(listed, list):
        return [str(f) for f in listed]
    return []
