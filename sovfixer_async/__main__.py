"""``python -m sovfixer_async``: the same as the ``sovfixer-async`` command."""

import sys

from sovfixer_async._cli import main

sys.exit(main())
