"""The blocking twins of the Ping.Extraction parity calls (issue 14), mixed into
:class:`sovfixer_async.sync.Client`: each is built from the async method of the same name
(:mod:`sovfixer_async.sync._twin`)."""

from __future__ import annotations

import sovfixer_async as _async
from sovfixer_async.sync._feeds import HistoryFeed
from sovfixer_async.sync._handles import BulkEnhanceBatch, OutputJob, ParseJob, UpdateJob
from sovfixer_async.sync._twin import awaiting, blocking, calling


class ExtractionTwins:
    """Blocking Ping.Extraction calls; the client supplies ``_inner`` and ``_portal``."""

    server_info = blocking(_async.Client.server_info)
    add_building = blocking(_async.Client.add_building)
    get_building = blocking(_async.Client.get_building)
    get_public_shareable_url = blocking(_async.Client.get_public_shareable_url)
    #: A new, empty submission: ``job.add_locations(rows)``, then ``job.start()``.
    create_submission = awaiting(_async.Client.create_submission, UpdateJob)
    #: The history feed as a plain iterator with ``.cursor``.
    history = calling(_async.Client.history, HistoryFeed)
    # Handles of jobs known by their id (no request is sent).
    update_job = calling(_async.Client.update_job, UpdateJob)
    parse_job = calling(_async.Client.parse_job, ParseJob)
    output_job = calling(_async.Client.output_job, OutputJob)
    bulk_job = calling(_async.Client.bulk_job, BulkEnhanceBatch)
