"""``GET /api/v1/limits``: the source access policy of a user or organisation (contract 4.7)."""

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["SourceAccessPolicy", "SourceAllowlist", "SourceQuota"]


@attrs.frozen(kw_only=True)
class SourceAllowlist:
    """Which sources may be called: ``restricted`` (only ``sources``) or ``unrestricted``."""

    mode: str | None = None
    #: The level the list came from (``user`` or the organisation).
    source: str | None = None
    sources: list[str] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def restricted(self) -> bool:
        return (self.mode or "").lower() == "restricted"


@attrs.frozen(kw_only=True)
class SourceQuota:
    """One source's caps, usage and what remains, per window (``daily``, ``monthly``)."""

    limits: dict[str, int] = attrs.field(factory=dict)
    usage: dict[str, int] = attrs.field(factory=dict)
    remaining: dict[str, int] = attrs.field(factory=dict)
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class SourceAccessPolicy:
    """The effective policy: the allowlist, and per capped source its quotas.

    Sources with no cap are absent from ``sources``.
    """

    scope: str | None = None
    subject: str | None = None
    allowlist: SourceAllowlist = attrs.field(factory=SourceAllowlist)
    sources: dict[str, SourceQuota] = attrs.field(factory=dict)
    extra: dict[str, Any] = attrs.field(factory=dict)

    def allows(self, source: str) -> bool:
        """Whether ``source`` may be called at all (the allowlist's answer)."""
        if not self.allowlist.restricted:
            return True
        return source.upper() in {s.upper() for s in self.allowlist.sources}

    def shortfall(
        self, needs: Mapping[str, int], spent: Mapping[str, int] | None = None
    ) -> tuple[str, str, int, int] | None:
        """The first (source, window, remaining, needed) where ``needs`` (locations per
        source) exceed what remains, less what ``spent`` already took; None if all fit."""
        quotas = {code.upper(): quota for code, quota in self.sources.items()}
        for source in sorted(needs):
            quota = quotas.get(source.upper())
            if quota is None:
                continue
            already = (spent or {}).get(source.upper(), 0)
            for window in sorted(quota.remaining):
                left = max(0, quota.remaining[window] - already)
                if needs[source] > left:
                    return source, window, left, needs[source]
        return None
