"""``client_ref`` values and how far an update's submission got: made, checked, and read
back from resume tokens (untrusted input: every value is checked before it is used)."""

from __future__ import annotations

import uuid
from typing import Any

from sovfixer_async._errors import InvalidInputError

#: Longest ``client_ref`` this SDK sends or accepts from a token.
MAX_CLIENT_REF = 256
#: The prefix of the ``client_ref`` values the SDK makes up when the caller gives none.
GENERATED_PREFIX = "sovfixer-async-"

#: How far an update's submission got: created, its rows all sent, started.
INITIATED = "initiated"
LOCATIONS_SENT = "locations_sent"
STARTED = "started"
STAGES = (INITIATED, LOCATIONS_SENT, STARTED)


def new_client_ref() -> str:
    """A fresh reference, unique enough that an exact match finds one job."""
    return GENERATED_PREFIX + uuid.uuid4().hex


def check_client_ref(value: object, field: str) -> str:
    """A ``client_ref`` to send or trust: 1 to 256 printable characters."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_CLIENT_REF
        or not value.isprintable()
    ):
        raise InvalidInputError(
            f"a client_ref is 1 to {MAX_CLIENT_REF} printable characters", field=field
        )
    return value


def client_ref_or_new(value: str | None) -> str:
    """The caller's ``client_ref`` (checked), or a generated one."""
    return new_client_ref() if value is None else check_client_ref(value, "client_ref")


def token_client_ref(data: dict[str, Any]) -> str | None:
    """The ``client_ref`` a parsed token holds, checked; None when it holds none."""
    value = data.get("client_ref")
    return None if value is None else check_client_ref(value, "token.client_ref")


def token_stage(data: dict[str, Any]) -> str | None:
    """The update stage a parsed token holds; None (unknown) when it holds none."""
    value = data.get("stage")
    if value is None:
        return None
    if not isinstance(value, str) or value not in STAGES:
        raise InvalidInputError(
            f"resume token stage must be one of {', '.join(STAGES)}", field="token.stage"
        )
    return value
