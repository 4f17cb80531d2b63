"""asyncio SDK for the SOVFixer (Ping.Extraction) and Ping.Data APIs.

``async with Client() as client:`` runs any number of SOV update jobs, output requests,
parse jobs and bulk-enhance runs at once over one bounded connection pool.
"""

import warnings
from typing import TYPE_CHECKING, Any

from sovfixer_async._bulk import BulkEnhanceRun, BulkRunStatus
from sovfixer_async._client import Client
from sovfixer_async._config import ClientConfig, PollPolicy, RetryPolicy
from sovfixer_async._downloads import DownloadResult
from sovfixer_async._errors import (
    DEPRECATED_ALIASES,
    AmbiguousSubmissionError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DestinationExistsError,
    DownloadError,
    DownloadIntegrityError,
    DuplicateClientRefError,
    InternalServerError,
    InvalidInputError,
    JobFailed,
    JobTimeout,
    LocalFileError,
    MissingLocationsError,
    MissingTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SOVFixerError,
)
from sovfixer_async._events import (
    DownloadFinished,
    DownloadProgress,
    Event,
    EventsDropped,
    JobCompleted,
    JobFailedEvent,
    JobProgress,
    JobStatusChanged,
    JobSubmitted,
)
from sovfixer_async._jobs import (
    BulkEnhanceBatch,
    JobHandle,
    OutputJob,
    ParseJob,
    as_completed,
)
from sovfixer_async._raw import RawResponse
from sovfixer_async._transport import (
    APIResponseValidationError,
    ResponseTooLargeError,
    TransportStats,
)
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._version import __version__
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workflows.feeds import HistoryFeed
from sovfixer_async.models import ResponseShapeError

if TYPE_CHECKING:  # the names of 0.1, deprecated (see __getattr__ below)
    from sovfixer_async._bulk import BulkEnhanceRun as BulkRun  # noqa: F401
    from sovfixer_async._errors import APIConnectionError as TransportError  # noqa: F401
    from sovfixer_async._errors import BadRequestError as ValidationError  # noqa: F401
    from sovfixer_async._errors import InternalServerError as ServerError  # noqa: F401
    from sovfixer_async._errors import RateLimitError as RateLimitedError  # noqa: F401
    from sovfixer_async._jobs import BulkEnhanceBatch as BulkEnhanceJob  # noqa: F401

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousSubmissionError",
    "AuthenticationError",
    "BadRequestError",
    "BulkEnhanceBatch",
    "BulkEnhanceRun",
    "BulkRunStatus",
    "Client",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "DestinationExistsError",
    "DownloadError",
    "DownloadFinished",
    "DownloadIntegrityError",
    "DownloadProgress",
    "DownloadResult",
    "DuplicateClientRefError",
    "Event",
    "EventsDropped",
    "HistoryFeed",
    "InternalServerError",
    "InvalidInputError",
    "JobCompleted",
    "JobFailed",
    "JobFailedEvent",
    "JobHandle",
    "JobProgress",
    "JobStatusChanged",
    "JobSubmitted",
    "JobTimeout",
    "LocalFileError",
    "MissingLocationsError",
    "MissingTokenError",
    "NotFoundError",
    "OutputJob",
    "ParseJob",
    "PermissionDeniedError",
    "PollPolicy",
    "RateLimitError",
    "RawResponse",
    "ResponseShapeError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SOVFixerError",
    "TransportStats",
    "UpdateJob",
    "WebhookReceiver",
    "__version__",
    "as_completed",
]


# Public names live here, whatever private module defines them (as anyio and httpx do):
# reprs, tracebacks and docs then show ``sovfixer_async.Client``, not a private room.
for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith("sovfixer_async."):
        _value.__module__ = __name__
del _name, _value

#: The names of 0.1, aliases of their new classes until 1.0.
_DEPRECATED: dict[str, Any] = {
    **DEPRECATED_ALIASES,
    "BulkRun": BulkEnhanceRun,
    "BulkEnhanceJob": BulkEnhanceBatch,
}

if not TYPE_CHECKING:  # mypy would accept any name of the module if it saw this

    def __getattr__(name: str) -> Any:
        """A deprecated name of 0.1: its new class, with a DeprecationWarning."""
        new = _DEPRECATED.get(name)
        if new is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        warnings.warn(
            f"sovfixer_async.{name} is deprecated; use sovfixer_async.{new.__name__} "
            "(the old name goes in 1.0)",
            DeprecationWarning,
            stacklevel=2,
        )
        return new
