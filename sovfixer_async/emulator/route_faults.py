"""Per-route faults: what one route answers, for its next N calls or with a probability.

A rule names a method (or ``*``) and a path glob (``fnmatch``; ``*`` also crosses ``/``)
and an action: an HTTP status (answered before the handler runs: nothing happens), the
word ``ambiguous`` (the handler runs, then a 502 replaces its 2xx answer: the work is done
but the client cannot know), ``reset`` (the connection is dropped before the handler runs)
or ``reset_after`` (dropped after the handler ran). On the command line a rule is one
string, ``"POST /api/v1/sov/update/*/add_locations 503 times=1 rate=0.5"``; through
``/_emulator/faults/routes`` it is a JSON object with the same names.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from typing import Any

from attrs import define, frozen

WORD_ACTIONS = frozenset({"ambiguous", "reset", "reset_after"})
METHODS = frozenset({"*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Rules one emulator keeps at most (a bound on what the control surface can make it hold).
MAX_RULES = 100
MAX_PATTERN = 500


def _action(value: object) -> str:
    if isinstance(value, bool):
        raise ValueError(f"action must be an HTTP status 400-599 or one of {sorted(WORD_ACTIONS)}")
    text = str(value).strip().lower()
    if text in WORD_ACTIONS:
        return text
    if text.isdigit() and len(text) == 3 and 400 <= int(text) <= 599:
        return text
    raise ValueError(
        f"action {value!r} must be an HTTP status 400-599 or one of {sorted(WORD_ACTIONS)}"
    )


def _times(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("times must be a whole number >= 1")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"times {value!r} must be a whole number >= 1") from None
    if not 1 <= number <= 10**9:
        raise ValueError("times must be between 1 and 10**9")
    return number


def _rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("rate must be a number between 0 and 1")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"rate {value!r} must be a number between 0 and 1") from None
    if not (math.isfinite(number) and 0.0 < number <= 1.0):
        raise ValueError("rate must be above 0 and at most 1")
    return number


@frozen
class RouteFault:
    """One rule: ``method path action``, for ``times`` calls (None: every call) at ``rate``."""

    method: str
    path: str
    action: str
    times: int | None = None
    rate: float = 1.0

    @classmethod
    def build(
        cls, method: object, path: object, action: object, times: object = None, rate: object = 1.0
    ) -> RouteFault:
        """A checked rule; ValueError naming what is wrong."""
        if not isinstance(method, str) or method.strip().upper() not in METHODS:
            raise ValueError(f"method {method!r} must be one of {', '.join(sorted(METHODS))}")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATTERN:
            raise ValueError(f"path {path!r} must be a glob starting with '/' (<= 500 chars)")
        return cls(method.strip().upper(), path, _action(action), _times(times), _rate(rate))

    @classmethod
    def parse(cls, spec: str) -> RouteFault:
        """``"METHOD /path/glob ACTION [times=N] [rate=P]"``."""
        words = spec.split()
        if len(words) < 3:
            raise ValueError(
                f"route fault {spec!r}: expected 'METHOD /path ACTION [times=N] [rate=P]'"
            )
        options: dict[str, str] = {}
        for word in words[3:]:
            name, sep, value = word.partition("=")
            if not sep or name not in ("times", "rate") or name in options:
                raise ValueError(f"route fault {spec!r}: unknown or repeated option {word!r}")
            options[name] = value
        return cls.build(words[0], words[1], words[2], options.get("times"), options.get("rate", 1))

    @classmethod
    def from_json(cls, obj: object) -> RouteFault:
        """A rule from a JSON object ``{method, path, action, times?, rate?}``."""
        if not isinstance(obj, Mapping):
            raise ValueError("a route fault must be a JSON object")
        unknown = set(obj) - {"method", "path", "action", "times", "rate"}
        if unknown:
            raise ValueError(
                f"unknown route fault field(s): {', '.join(sorted(map(str, unknown)))}"
            )
        missing = {"method", "path", "action"} - set(obj)
        if missing:
            raise ValueError(f"route fault needs {', '.join(sorted(missing))}")
        return cls.build(
            obj["method"], obj["path"], obj["action"], obj.get("times"), obj.get("rate", 1.0)
        )

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.path)

    @property
    def status(self) -> int | None:
        """The status this rule answers instead of running the handler, if it is one."""
        return int(self.action) if self.action.isdigit() else None

    def __str__(self) -> str:
        extra = "" if self.times is None else f" times={self.times}"
        extra += "" if self.rate == 1.0 else f" rate={self.rate:g}"
        return f"{self.method} {self.path} {self.action}{extra}"


@define
class ActiveRule:
    """A rule in force: how many calls it may still hit and how many it hit."""

    rule: RouteFault
    remaining: int | None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.rule.method,
            "path": self.rule.path,
            "action": self.rule.action,
            "times": self.rule.times,
            "rate": self.rule.rate,
            "remaining": self.remaining,
            "hits": self.hits,
        }


@define
class RouteFaults:
    """The rules of one emulator, in the order they were added (the first match wins)."""

    rules: list[ActiveRule]

    @classmethod
    def of(cls, rules: tuple[RouteFault, ...] | list[RouteFault]) -> RouteFaults:
        faults = cls([])
        faults.add(rules)
        return faults

    def add(self, rules: tuple[RouteFault, ...] | list[RouteFault]) -> None:
        """Append rules (all or none); ValueError past :data:`MAX_RULES`."""
        live = [r for r in self.rules if r.remaining != 0]
        if len(live) + len(rules) > MAX_RULES:
            raise ValueError(f"at most {MAX_RULES} route faults at once")
        self.rules = [*live, *(ActiveRule(rule, rule.times) for rule in rules)]

    def clear(self) -> None:
        self.rules = []

    def pick(self, method: str, path: str, roll: Any) -> RouteFault | None:
        """The rule that fires for this call, spending one of its ``times``; else None.

        ``roll(rate)`` is the injector's seeded dice (True with probability ``rate``).
        """
        for active in self.rules:
            if active.remaining == 0 or not active.rule.matches(method, path):
                continue
            if active.rule.rate < 1.0 and not roll(active.rule.rate):
                continue
            if active.remaining is not None:
                active.remaining -= 1
            active.hits += 1
            return active.rule
        return None

    def as_list(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.rules]
