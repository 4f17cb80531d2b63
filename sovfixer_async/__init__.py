"""asyncio SDK for the SOVFixer (Ping.Extraction) and Ping.Data APIs.

``async with Client() as client:`` runs any number of SOV update jobs, output requests,
parse jobs and bulk-enhance runs at once over one bounded connection pool.
"""

import warnings
from typing import Any

from sovfixer_async._bulk import BulkEnhanceRun, BulkRunStatus
from sovfixer_async._client import Client
from sovfixer_async._config import ClientConfig, PollPolicy, RetryPolicy
from sovfixer_async._downloads import DownloadResult
from sovfixer_async._errors import (
    AmbiguousSubmissionError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DestinationExistsError,
    DownloadError,
    DownloadIntegrityError,
    InvalidInputError,
    JobFailed,
    JobTimeout,
    MissingTokenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SOVFixerError,
    TransportError,
    ValidationError,
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
from sovfixer_async._recovery import DuplicateClientRefError, MissingLocationsError
from sovfixer_async._transport import TransportStats
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._version import __version__
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async.models import ResponseShapeError

__all__ = [
    "APIError",
    "AmbiguousSubmissionError",
    "AuthenticationError",
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
    "InvalidInputError",
    "JobCompleted",
    "JobFailed",
    "JobFailedEvent",
    "JobHandle",
    "JobProgress",
    "JobStatusChanged",
    "JobSubmitted",
    "JobTimeout",
    "MissingLocationsError",
    "MissingTokenError",
    "NotFoundError",
    "OutputJob",
    "ParseJob",
    "PollPolicy",
    "RateLimitedError",
    "ResponseShapeError",
    "RetryPolicy",
    "SOVFixerError",
    "ServerError",
    "TransportError",
    "TransportStats",
    "UpdateJob",
    "ValidationError",
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

#: Old names still importable until 1.0: ``name: (new name, object)``.
_DEPRECATED: dict[str, tuple[str, Any]] = {
    "BulkRun": ("BulkEnhanceRun", BulkEnhanceRun),
    "BulkEnhanceJob": ("BulkEnhanceBatch", BulkEnhanceBatch),
}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new, value = _DEPRECATED[name]
        warnings.warn(
            f"sovfixer_async.{name} is deprecated; use sovfixer_async.{new} (removed in 1.0)",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
