"""Workflow bodies of the :class:`~sovfixer_async.Client` methods, one module per API area.

Each function takes the client's :class:`~sovfixer_async._context.JobContext` (and the
:class:`~._workflows.catalog.Catalog` when it checks formats or sources) and does the
requests of one workflow; the client's methods only delegate here.
"""
