"""The API's enumerations (contract §5) as ``StrEnum`` s.

Response fields are typed ``SomeEnum | str``: a known value becomes the member, an
unknown one stays a plain ``str`` so a new server value never breaks a client. A member
compares equal to its value (``RequestStatus.COMPLETE == "COMPLETE"``).
"""

from enum import StrEnum

__all__ = [
    "TERMINAL_STATES",
    "DocumentType",
    "Granularity",
    "HistoryStatus",
    "Origin",
    "RecordType",
    "RequestStatus",
    "ResultStatus",
    "UpdateType",
]


class RequestStatus(StrEnum):
    """``request.status`` of every job (§5.1-5.4); only COMPLETE and FAILED are terminal."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    ENRICHING = "ENRICHING"
    REENRICHING = "REENRICHING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


#: The states after which a job never changes again (plain strings, so unknown-state
#: strings can be tested with ``in`` too).
TERMINAL_STATES: frozenset[str] = frozenset({"COMPLETE", "FAILED"})


class ResultStatus(StrEnum):
    """``result.status`` (§5.5); everything but SUCCESS is a failure, PARTIAL_PARSE too."""

    SUCCESS = "SUCCESS"
    FAILED_TO_READ = "FAILED_TO_READ"
    PARTIAL_PARSE = "PARTIAL_PARSE"
    FAILED_TO_PARSE = "FAILED_TO_PARSE"
    FAILED_TO_PROCESS = "FAILED_TO_PROCESS"
    FAILED = "FAILED"


class UpdateType(StrEnum):
    """``update_type`` of ``initiate_update`` (§5.7); the server's default is API."""

    SCRUB = "SCRUB"
    AIR = "AIR"
    RMS = "RMS"
    RMS_ANALYSIS = "RMS_ANALYSIS"
    API = "API"
    COMPLETE = "COMPLETE"
    PINGREADY = "PINGREADY"


class DocumentType(StrEnum):
    """``document_type`` of a parse (§5.9); LOSS_RUN is offered by the official CLI only."""

    SOV = "SOV"
    PREM_BDX = "PREM_BDX"
    CLAIM_BDX = "CLAIM_BDX"
    SOV_BDX = "SOV_BDX"
    ACORD = "ACORD"
    LOSS_RUN = "LOSS_RUN"


class RecordType(StrEnum):
    """History ``record_type`` (§5.8): ORIG is an original parse, anything else a SUD."""

    ORIG = "ORIG"
    SCRUB = "SCRUB"
    AIR = "AIR"
    RMS = "RMS"
    RMS_ANALYSIS = "RMS_ANALYSIS"
    API = "API"
    COMPLETE = "COMPLETE"
    READY_FOR_REVIEW = "READY_FOR_REVIEW"
    PINGREADY = "PINGREADY"
    PRECERTIFIED = "PRECERTIFIED"
    MODELING_FILES_CREATED = "MODELING_FILES_CREATED"


class HistoryStatus(StrEnum):
    """Single-letter history/activity ``status`` (§5.6); the feed only returns C and F."""

    PENDING = "P"
    IN_PROGRESS = "I"
    ENRICHING = "E"
    REENRICHING = "R"
    COMPLETE = "C"
    FAILED = "F"


class Origin(StrEnum):
    """Activity ``origin`` (§5.10)."""

    API = "api"
    EMAIL = "email"


class Granularity(StrEnum):
    """Usage bucket width (§5.11)."""

    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"
