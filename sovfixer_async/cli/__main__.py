"""``python -m sovfixer_async.cli``: the same as the ``sovfixer-async`` command."""

import sys

from sovfixer_async.cli import main

sys.exit(main())
