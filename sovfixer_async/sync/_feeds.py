"""The blocking twin of the history feed: a plain iterator that keeps its ``cursor``."""

from __future__ import annotations

from collections.abc import Iterator

from anyio.from_thread import BlockingPortal

from sovfixer_async._workflows.feeds import HistoryFeed as _AsyncHistoryFeed
from sovfixer_async.models import HistoryRecord
from sovfixer_async.sync._handles import iterate


class HistoryFeed(Iterator[HistoryRecord]):
    """``for record in client.history(...)``; ``cursor`` is the id of the last record
    handed out (pass it back as ``cursor_id=`` to carry on after it)."""

    __slots__ = ("_feed", "_records")

    def __init__(self, portal: BlockingPortal, feed: _AsyncHistoryFeed):
        self._feed = feed
        self._records = iterate(portal, feed)

    def __iter__(self) -> HistoryFeed:
        return self

    def __next__(self) -> HistoryRecord:
        return next(self._records)

    @property
    def cursor(self) -> str | None:
        return self._feed.cursor

    @property
    def polls(self) -> int:
        """Pages fetched so far."""
        return self._feed.polls

    def close(self) -> None:
        """Stop the feed (a followed one polls no more)."""
        close = getattr(self._records, "close", None)
        if close is not None:
            close()
