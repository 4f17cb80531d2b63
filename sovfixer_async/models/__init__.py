"""Typed models of every API payload, and the one converter that reads and writes them.

Responses are tolerant (unknown keys and enum values never raise); requests are strict
(every problem is an InvalidInputError naming its field) and hold data only:
:func:`unstructure` writes a request as its JSON body. Models import nothing from the
rest of the package except :mod:`sovfixer_async._errors`.
"""

from sovfixer_async.models._common import (
    CreatedResponse,
    JobStatus,
    Output,
    ResponseShapeError,
)
from sovfixer_async.models._converter import structure, unstructure
from sovfixer_async.models._data import (
    BulkEnhanceStatus,
    BulkRequestInfo,
    BulkResult,
    DatasourceConfig,
    EnhanceResponse,
    SourceResult,
    SourceStatistics,
    UsageBucket,
    UsageResponse,
)
from sovfixer_async.models._enums import (
    TERMINAL_STATES,
    DocumentType,
    Granularity,
    HistoryStatus,
    Origin,
    RecordType,
    RequestStatus,
    ResultStatus,
    UpdateType,
)
from sovfixer_async.models._extraction import (
    ActivityPage,
    HistoryItem,
    HistoryOutput,
    HistoryPage,
    HistoryRecord,
    OutputFormat,
    OutputRequestInfo,
    OutputResult,
    OutputStatus,
    ParseInput,
    ParseRequestInfo,
    ParseResult,
    ParseStatus,
    SOVData,
    UpdateData,
    UpdateRequestInfo,
    UpdateResult,
    UpdateStatus,
)
from sovfixer_async.models._limits import SourceAccessPolicy, SourceAllowlist, SourceQuota
from sovfixer_async.models._misc import (
    Building,
    BuildingAdded,
    ServerInfo,
    ShareableUrl,
    SubmissionCreated,
)
from sovfixer_async.models._policy_terms import LayerTerm, PerilTerm, PolicyTerms, ZoneTerm
from sovfixer_async.models._requests import (
    InitiateUpdateRequest,
    OutputRequest,
    ParseRequest,
    UpdateStartRequest,
)

__all__ = [
    "TERMINAL_STATES",
    "ActivityPage",
    "Building",
    "BuildingAdded",
    "BulkEnhanceStatus",
    "BulkRequestInfo",
    "BulkResult",
    "CreatedResponse",
    "DatasourceConfig",
    "DocumentType",
    "EnhanceResponse",
    "Granularity",
    "HistoryItem",
    "HistoryOutput",
    "HistoryPage",
    "HistoryRecord",
    "HistoryStatus",
    "InitiateUpdateRequest",
    "JobStatus",
    "LayerTerm",
    "Origin",
    "Output",
    "OutputFormat",
    "OutputRequest",
    "OutputRequestInfo",
    "OutputResult",
    "OutputStatus",
    "ParseInput",
    "ParseRequest",
    "ParseRequestInfo",
    "ParseResult",
    "ParseStatus",
    "PerilTerm",
    "PolicyTerms",
    "RecordType",
    "RequestStatus",
    "ResponseShapeError",
    "ResultStatus",
    "SOVData",
    "ServerInfo",
    "ShareableUrl",
    "SourceAccessPolicy",
    "SourceAllowlist",
    "SourceQuota",
    "SourceResult",
    "SourceStatistics",
    "SubmissionCreated",
    "UpdateData",
    "UpdateRequestInfo",
    "UpdateResult",
    "UpdateStartRequest",
    "UpdateStatus",
    "UpdateType",
    "UsageBucket",
    "UsageResponse",
    "ZoneTerm",
    "structure",
    "unstructure",
]
