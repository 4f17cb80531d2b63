"""Server text made safe for a terminal: one line, control characters escaped, bounded."""

from __future__ import annotations

import json
from typing import Any

#: Longest value shown in a text line (``--json`` has it whole).
MAX_SHOWN = 200


def printable(value: Any, limit: int = MAX_SHOWN) -> str:
    """``value`` as one safe line: control characters escaped, cut to ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."
