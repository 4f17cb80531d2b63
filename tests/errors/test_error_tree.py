"""The error tree of issue 10: names users know (openai, anthropic), old names deprecated."""

from __future__ import annotations

import errno
import warnings

import pytest

import sovfixer_async
from sovfixer_async import (
    AmbiguousSubmissionError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DestinationExistsError,
    DownloadError,
    DownloadIntegrityError,
    InternalServerError,
    InvalidInputError,
    JobFailed,
    JobTimeout,
    LocalFileError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseShapeError,
    ResponseTooLargeError,
    SOVFixerError,
)

STATUS_ERRORS = [
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    RateLimitError,
    InternalServerError,
]


def test_the_tree() -> None:
    for cls in STATUS_ERRORS:
        assert issubclass(cls, APIStatusError)
    assert issubclass(APIStatusError, APIError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(AmbiguousSubmissionError, APIError)
    assert not issubclass(AmbiguousSubmissionError, APIConnectionError)
    assert issubclass(APIResponseValidationError, APIError)
    assert issubclass(APIResponseValidationError, ResponseShapeError)
    assert issubclass(ResponseTooLargeError, APIResponseValidationError)
    assert issubclass(DownloadIntegrityError, DownloadError)
    assert issubclass(DownloadError, APIError)
    assert issubclass(DestinationExistsError, LocalFileError)
    assert not issubclass(PermissionDeniedError, AuthenticationError)  # 403 is not 401
    assert not issubclass(InvalidInputError, APIError)
    assert not issubclass(LocalFileError, APIError)
    for name in sovfixer_async.__all__:
        value = getattr(sovfixer_async, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, SOVFixerError), name


def test_a_job_timeout_is_no_os_error() -> None:
    assert not issubclass(JobTimeout, OSError)
    assert not issubclass(JobTimeout, TimeoutError)
    error = JobTimeout("update", "s-1", 3.0, "token", "PENDING")
    caught_as_os_error = False
    try:
        raise error
    except OSError:  # pragma: no cover - the point: this must not catch it
        caught_as_os_error = True
    except SOVFixerError:
        pass
    assert not caught_as_os_error


def test_every_error_has_a_handle_none_by_default() -> None:
    errors: list[SOVFixerError] = [
        SOVFixerError("x"),
        InvalidInputError("bad"),
        APIConnectionError("GET /x", "refused"),
        APITimeoutError("GET /x", "slow"),
        AmbiguousSubmissionError("POST /x", "dropped"),
        InternalServerError("GET /x", 500, "boom"),
        JobFailed("update", "s-1", "FAILED", "no"),
        JobTimeout("update", "s-1", 1.0, "t", None),
        LocalFileError("/tmp/x", "denied"),
        DestinationExistsError("/tmp/x"),
        DownloadError("http://h/x", "gave up"),
        APIResponseValidationError("GET /x", "a list"),
    ]
    for error in errors:
        assert error.handle is None, type(error).__name__


def test_status_and_connection_errors_carry_what_they_know() -> None:
    error = RateLimitError(
        "GET /x", 429, "slow down", body='{"detail": "slow down"}', request_id="r-1"
    )
    assert (error.status, error.body, error.request_id, error.retry_after) == (
        429,
        '{"detail": "slow down"}',
        "r-1",
        None,
    )
    assert str(error) == "GET /x failed: HTTP 429: slow down [request id r-1]"
    assert error.message == "slow down"
    assert APIConnectionError("GET /x", "refused").status is None
    assert AmbiguousSubmissionError("POST /x", "dropped").status is None
    assert AmbiguousSubmissionError("POST /x", "HTTP 502", status=502).status == 502


def test_local_file_error_names_the_path_and_stays_an_os_error() -> None:
    cause = OSError(errno.ENOSPC, "No space left on device")
    error = LocalFileError.of("/data/out.json", cause, job_id="s-1")
    assert error.path == "/data/out.json"
    assert error.errno == errno.ENOSPC
    assert isinstance(error, OSError)
    assert isinstance(error, SOVFixerError)
    assert str(error) == "/data/out.json (job s-1): No space left on device"
    nul = LocalFileError.of("bad\0name", ValueError("embedded null byte"))
    assert nul.errno is None
    assert "embedded null byte" in str(nul)
    exists = DestinationExistsError("/data/out.json", job_id="s-1")
    assert isinstance(exists, FileExistsError)
    assert exists.path == "/data/out.json"
    assert "refused: the file exists" in str(exists)


OLD_NAMES = {
    "ValidationError": BadRequestError,
    "RateLimitedError": RateLimitError,
    "ServerError": InternalServerError,
    "TransportError": APIConnectionError,
}


@pytest.mark.parametrize("old", sorted(OLD_NAMES))
def test_old_names_are_deprecated_aliases_of_the_new_classes(old: str) -> None:
    with pytest.warns(DeprecationWarning, match=OLD_NAMES[old].__name__):
        alias = getattr(sovfixer_async, old)
    assert alias is OLD_NAMES[old]
    assert old not in sovfixer_async.__all__
    new = OLD_NAMES[old]
    error = (
        new("GET /x", "refused")
        if issubclass(new, APIConnectionError)
        else new("GET /x", 400, "bad")  # type: ignore[call-arg]
    )
    with pytest.raises(alias):  # ``except ValidationError`` still catches it
        raise error


def test_from_import_of_an_old_name_warns() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from sovfixer_async import ValidationError  # noqa: F401
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = sovfixer_async.NoSuchError  # type: ignore[attr-defined]
