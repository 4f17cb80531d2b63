"""The blocking facade: the SDK without ``async``/``await``, for scripts and notebooks.

.. code-block:: python

    from sovfixer_async.sync import Client

    with Client() as client:
        job = client.update_sov("s-...", "corrections.csv", output_formats=["JSON"])
        job.wait()
        job.download("out")

:class:`Client` has the methods of :class:`sovfixer_async.Client`, each blocking; it runs
the async client on an event loop in a thread of its own (one per client), so it is safe
to share between threads and costs nothing in a program that has no event loop. Errors,
events, models and resume tokens are the async SDK's own.

:class:`Ledger` is the blocking twin of :class:`sovfixer_async.ledger.Ledger`;
``ledger.work(client, dest)`` takes a blocking :class:`Client`.
"""

from sovfixer_async.sync._client import Client
from sovfixer_async.sync._feeds import HistoryFeed
from sovfixer_async.sync._handles import (
    BulkEnhanceBatch,
    BulkEnhanceRun,
    JobHandle,
    OutputJob,
    ParseJob,
    UpdateJob,
    as_completed,
)
from sovfixer_async.sync._ledger import Ledger

__all__ = [
    "BulkEnhanceBatch",
    "BulkEnhanceRun",
    "Client",
    "HistoryFeed",
    "JobHandle",
    "Ledger",
    "OutputJob",
    "ParseJob",
    "UpdateJob",
    "as_completed",
]

for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith("sovfixer_async.sync."):
        _value.__module__ = __name__
del _name, _value
