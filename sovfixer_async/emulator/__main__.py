"""``python -m sovfixer_async.emulator --host 127.0.0.1 --port 8765``."""

import sys

from sovfixer_async.emulator.runner import main

sys.exit(main())
