"""What job handles and workflows use of their client, built once when the client is made.

:class:`JobContext` is frozen: its collaborators are fixed for the client's life, and each
keeps its own state (the transport its session, the scheduler its heap, the work folders
their list, the task runner the client's task group while it is open).
"""

from __future__ import annotations

from typing import Any

from anyio.abc import TaskGroup
from attrs import frozen

from sovfixer_async._config import ClientConfig
from sovfixer_async._errors import SOVFixerError
from sovfixer_async._events import Event, EventBus
from sovfixer_async._poll_policy import PollSchedule, StrategyFactory
from sovfixer_async._polling import PollScheduler
from sovfixer_async._transport import Transport
from sovfixer_async._workfolders import WorkFolders


class TaskRunner:
    """Where background work runs: the client's task group, while the client is open."""

    __slots__ = ("_group",)

    def __init__(self) -> None:
        self._group: TaskGroup | None = None

    def bind(self, group: TaskGroup | None) -> None:
        self._group = group

    def start_soon(self, func: Any, *args: Any) -> None:
        if self._group is None:
            raise SOVFixerError(
                "the client is not open: use it inside 'async with Client(...) as client:'"
            )
        self._group.start_soon(func, *args)


@frozen
class JobContext:
    """A client's collaborators, as handles and workflows see them."""

    config: ClientConfig
    transport: Transport
    events: EventBus
    tasks: TaskRunner
    polls: PollScheduler
    folders: WorkFolders

    @classmethod
    def build(
        cls,
        config: ClientConfig,
        events: EventBus,
        strategy: StrategyFactory = PollSchedule,
    ) -> JobContext:
        """The collaborators of one client; ``strategy`` decides when each wait polls."""
        transport = Transport(config)
        tasks = TaskRunner()
        limit = config.request_limit
        polls = PollScheduler(transport, tasks.start_soon, max(1, limit - limit // 4), strategy)
        return cls(config, transport, events, tasks, polls, WorkFolders(config.work_dir))

    def emit(self, event: Event) -> None:
        if self.events.active:
            self.events.emit(event)
