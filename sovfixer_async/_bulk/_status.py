"""The status of a whole bulk run: the sum of its accepted batches, and the others listed."""

from __future__ import annotations

from attrs import frozen

from sovfixer_async.models import BulkEnhanceStatus


@frozen
class BulkRunStatus:
    """The sum of a run's batches; ``batches`` holds each accepted one's last status (or
    None); ``pending`` and ``unknown`` list the numbers (from 1) of the batches the server
    did not accept, and of those whose submission was ambiguous."""

    batches: tuple[BulkEnhanceStatus | None, ...]
    pending: tuple[int, ...] = ()
    unknown: tuple[int, ...] = ()

    def _sum(self, name: str) -> int:
        return sum(getattr(s.request, name) or 0 for s in self.batches if s is not None)

    @property
    def num_requested(self) -> int:
        return self._sum("num_requested")

    @property
    def num_completed(self) -> int:
        return self._sum("num_completed")

    @property
    def num_problems(self) -> int:
        return self._sum("num_problems")

    @property
    def num_failed_batches(self) -> int:
        return sum(1 for s in self.batches if s is not None and s.failure is not None)

    @property
    def done(self) -> bool:
        return all(s is not None and s.done for s in self.batches)

    @property
    def state(self) -> str:
        if not self.done:
            seen = {s.state for s in self.batches if s is not None}
            return "IN_PROGRESS" if seen - {"PENDING", "QUEUED"} else "PENDING"
        return "FAILED" if self.num_failed_batches == len(self.batches) else "COMPLETE"

    @property
    def progress(self) -> float | None:
        requested = self.num_requested
        return self.num_completed / requested if requested else None
