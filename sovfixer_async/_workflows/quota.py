"""The source access policy, read before Ping.Data work is sent (issue 14).

``enhance`` and ``bulk_enhance`` ask :class:`PolicyGuard` before their first request: a
source outside a restricted allowlist, or more locations than remain of a source's daily
or monthly quota, is an :class:`InvalidInputError` before anything is sent, so a run of a
million locations does not fail at batch 700 for want of quota. The policy is read once
per client (per ``delegate_to``) and again when older than ``ClientConfig.policy_max_age``;
what this client sent since is subtracted locally in between.

A server without ``GET /api/v1/limits`` (404), or one that will not show it (403), leaves
the check to the server: the call goes ahead.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping

import anyio
from attrs import define, field

from sovfixer_async._errors import InvalidInputError, NotFoundError, PermissionDeniedError
from sovfixer_async._transport import Transport
from sovfixer_async.models import SourceAccessPolicy

logger = logging.getLogger("sovfixer_async")


async def fetch_limits(
    transport: Transport,
    *,
    username: str | None,
    org_short_name: str | None,
    delegate_to: str | None,
) -> SourceAccessPolicy:
    """``GET /api/v1/limits``, typed."""
    response = await transport.request(
        "GET",
        "data",
        "/api/v1/limits",
        params={
            "username": username,
            "org_short_name": org_short_name,
            "delegate_to": delegate_to,
        },
        what="limits",
    )
    return response.parse(SourceAccessPolicy)


@define
class _Entry:
    policy: SourceAccessPolicy | None
    read_at: float
    spent: Counter[str] = field(factory=Counter)


def refusal(
    policy: SourceAccessPolicy, needs: Mapping[str, int], spent: Mapping[str, int]
) -> str | None:
    """Why ``needs`` (locations per source code) may not be sent under ``policy``; None if
    they may. Pure: tested without I/O."""
    outside = sorted(source for source in needs if not policy.allows(source))
    if outside:
        allowed = ", ".join(policy.allowlist.sources) or "none"
        return (
            f"source(s) {', '.join(outside)} are outside the restricted source allowlist of "
            f"{policy.subject or 'this account'} (allowed: {allowed})"
        )
    short = policy.shortfall(needs, spent)
    if short is None:
        return None
    source, window, left, needed = short
    return (
        f"source {source}: the {window} quota has {left} location(s) remaining and this "
        f"call needs {needed}"
    )


class PolicyGuard:
    """The cached source access policy of one client, and the check made with it."""

    def __init__(
        self,
        transport: Transport,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[str | None, _Entry] = {}
        self._lock = anyio.Lock()

    async def _entry(self, delegate_to: str | None) -> _Entry:
        entry = self._entries.get(delegate_to)
        if entry is not None and self._clock() - entry.read_at <= self._max_age:
            return entry
        async with self._lock:  # one read however many calls ask at once
            entry = self._entries.get(delegate_to)
            if entry is not None and self._clock() - entry.read_at <= self._max_age:
                return entry
            try:
                policy: SourceAccessPolicy | None = await fetch_limits(
                    self._transport, username=None, org_short_name=None, delegate_to=delegate_to
                )
            except (NotFoundError, PermissionDeniedError) as exc:
                logger.warning(
                    "the source access policy cannot be read (%s); quotas are left to the server",
                    exc,
                )
                policy = None
            entry = self._entries[delegate_to] = _Entry(policy, self._clock())
            return entry

    async def check(self, needs: Mapping[str, int], *, delegate_to: str | None) -> None:
        """Raise :class:`InvalidInputError` unless ``needs`` fit; count them as spent."""
        entry = await self._entry(delegate_to)
        if entry.policy is not None:
            problem = refusal(entry.policy, needs, entry.spent)
            if problem is not None:
                raise InvalidInputError(
                    f"{problem}; nothing was sent (check_quota=False skips this check)",
                    field="sources",
                )
        entry.spent.update({source.upper(): count for source, count in needs.items()})
