"""Opening and closing a client: the session, the task group, the receivers, the folders.

Everything opened is pushed on one ``AsyncExitStack`` and undone in reverse order; the
client runs the teardown shielded from cancellation, so a cancelled ``async with`` exit
still closes the session, stops the webhook receivers and removes the work folders.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio
from anyio.abc import TaskGroup

from sovfixer_async._context import JobContext
from sovfixer_async._webhooks import WebhookReceiver
from sovfixer_async._workfolders import remove_dirs


class Receivers:
    """The webhook receivers a client made; the client stops those still running."""

    def __init__(self) -> None:
        self._made: list[WebhookReceiver] = []

    def add(self, receiver: WebhookReceiver) -> WebhookReceiver:
        self._made.append(receiver)
        return receiver

    async def close(self) -> None:
        made, self._made = self._made, []
        for receiver in made:
            await receiver.__aexit__(None, None, None)  # a no-op for one already stopped


class Lifecycle:
    """Opens what a client runs on, and closes all of it (shielded) however the exit goes."""

    def __init__(self, context: JobContext, receivers: Receivers, keep_work_files: bool):
        self._context = context
        self._receivers = receivers
        self._keep_work_files = keep_work_files
        self._stack: AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None

    async def open(self) -> None:
        context = self._context
        async with AsyncExitStack() as stack:
            # undone in reverse order: receivers and polls first, the work folders last
            stack.push_async_callback(self._remove_work_folders)
            await context.transport.open()
            stack.push_async_callback(context.transport.close)
            stack.push_async_callback(self._receivers.close)
            stack.callback(context.polls.close)
            task_group = anyio.create_task_group()
            await task_group.__aenter__()
            context.tasks.bind(task_group)
            self._task_group = task_group
            self._stack = stack.pop_all()

    async def close(self) -> None:
        task_group, self._task_group = self._task_group, None
        stack, self._stack = self._stack, None
        self._context.tasks.bind(None)
        try:
            if task_group is not None:
                task_group.cancel_scope.cancel()  # polls stop; server jobs go on
                await task_group.__aexit__(None, None, None)
        finally:
            if stack is not None:
                with anyio.CancelScope(shield=True):  # a cancelled exit still runs all of it
                    await stack.aclose()

    async def _remove_work_folders(self) -> None:
        if not self._keep_work_files:
            await anyio.to_thread.run_sync(remove_dirs, self._context.folders.take())
