"""The ``callback_url=`` argument of submissions: a URL, or a receiver of ours."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sovfixer_async._jobs import JobHandle
from sovfixer_async._webhooks import WebhookReceiver

Bind = Callable[[JobHandle[Any]], None]


def callback(callback_url: str | WebhookReceiver | None) -> tuple[str | None, Bind | None]:
    """The URL to send, and how to bind the new handle when it is a receiver of ours."""
    if isinstance(callback_url, WebhookReceiver):
        receiver = callback_url
        nonce, url = receiver.new_url()
        return url, lambda handle: receiver.bind(nonce, handle)
    return callback_url, None
