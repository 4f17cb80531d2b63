"""pytest plugin of sovfixer_async: fixtures that run the local emulator (filled in shortly)."""

from __future__ import annotations
