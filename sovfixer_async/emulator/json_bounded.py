"""JSON request bodies decoded within limits, one small step at a time.

``json.loads`` holds the GIL for the whole document (8 MiB of ``[]`` take 0.4 s), so even
in a worker thread it would stall the event loop. Here the C scanner decodes one value at a
time from a window of at most ``chunk_bytes`` characters; a value that does not fit is
descended into by Python (arrays and objects), so no C call sees more than one window and
the loop gets the GIL back between values. Before decoding, the number of values is bounded
(the count of ``, : [ {`` is an upper bound), and while decoding the nesting depth and the
length of one string. ``NaN`` and ``Infinity`` are refused, as Django REST framework does.
"""

from __future__ import annotations

import codecs
import json
import re
from json.decoder import JSONDecodeError
from typing import Any

from sovfixer_async.emulator.limits import DEFAULT_LIMITS, UploadLimits

_WS = re.compile(r"[ \t\n\r]*")
_COUNT_STEP = 1 << 20
_LONGEST_SCALAR = 8192


class JSONTooLarge(Exception):
    """Over a limit (answered 413)."""


class JSONInvalid(ValueError):
    """Not a JSON document (answered 400)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON value")


_SCAN: Any = getattr(json.JSONDecoder(parse_constant=_refuse_constant), "scan_once")  # noqa: B009
_SCANSTRING: Any = getattr(json.decoder, "scanstring")  # noqa: B009


def text_of(raw: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> str:
    """The text of a JSON body (UTF-8/16/32, with or without BOM), decoded in slices."""
    if len(raw) > limits.max_json_bytes:
        raise JSONTooLarge(f"JSON bodies are limited to {limits.max_json_bytes} bytes")
    if len(raw) > limits.max_json_non_ascii_bytes and not raw.isascii():
        raise JSONTooLarge(
            f"JSON bodies with non-ASCII bytes are limited to {limits.max_json_non_ascii_bytes} "
            "bytes (escape them as \\uXXXX)"
        )
    if raw.isascii():  # one allocation, no copies (what JSON encoders send by default)
        return raw.decode("ascii")
    encoding = json.detect_encoding(raw)
    decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
    view = memoryview(raw)
    try:
        parts = [
            decoder.decode(view[at : at + _COUNT_STEP]) for at in range(0, len(raw), _COUNT_STEP)
        ]
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise JSONInvalid(f"the body is not {encoding} text: {exc}") from None
    text = "".join(parts)
    return text[1:] if text.startswith("\ufeff") else text


class _Decoder:
    def __init__(self, text: str, limits: UploadLimits) -> None:
        self.text = text
        self.n = len(text)
        self.limits = limits
        self.window = limits.chunk_bytes
        self.win_start = 0
        self.win = ""
        self.error: Exception | None = None

    def count_values(self) -> int:
        text, total = self.text, 1
        for at in range(0, self.n, _COUNT_STEP):
            end = at + _COUNT_STEP
            total += sum(text.count(c, at, end) for c in ",:[{")
        if total > self.limits.max_json_values:
            raise JSONTooLarge(f"more than {self.limits.max_json_values} JSON values")
        return total

    def ws(self, i: int) -> int:
        while True:
            stop = min(self.n, i + self.window)
            match = _WS.match(self.text, i, stop)
            end = match.end() if match else i
            if end < stop or stop == self.n:
                return end
            i = end

    def invalid(self, message: str, i: int) -> JSONInvalid:
        return JSONInvalid(str(JSONDecodeError(message, self.text[: i + 1], i)))

    def _window(self, i: int, depth: int, size: int) -> tuple[object, int] | None:
        """The value at ``i`` if the C scanner decodes it within one window, else None."""
        for attempt in (0, 1):
            if attempt == 1 or not self.win_start <= i < self.win_start + len(self.win):
                if attempt == 1 and self.win_start == i and len(self.win) >= size:
                    return None
                self.win_start, self.win = i, self.text[i : i + size]
            at_end = self.win_start + len(self.win) >= self.n
            try:
                value, end = _SCAN(self.win, i - self.win_start)
            except StopIteration:
                self.error = self.invalid("Expecting value", i)
            except RecursionError:
                self.error = JSONInvalid("JSON nested too deeply")
            except ValueError as exc:
                self.error = JSONInvalid(str(exc))
            else:
                stop = self.win_start + end
                if self._complete(value, stop, end < len(self.win) or at_end):
                    nested = self.text.count("[", i, stop) + self.text.count("{", i, stop)
                    if depth + nested > self.limits.max_json_depth:
                        return None
                    if stop - i > self.limits.max_json_string_chars:
                        return None  # it may hold a string over the limit: look inside
                    return value, stop
                continue  # ended at the window's edge: maybe cut short
            if at_end:
                raise self.error
        return None

    def _complete(self, value: object, stop: int, inside: bool) -> bool:
        """Did the scanner see all of the value (a number cut by the window looks whole)?"""
        if not inside:
            return False
        if isinstance(value, int | float) and not isinstance(value, bool) and stop < self.n:
            return self.text[stop] not in "0123456789.eE+-"
        return True

    def value(self, i: int, depth: int) -> tuple[object, int]:
        found = self._window(i, depth, self.window)
        if found is not None:
            return found
        ch = self.text[i : i + 1]
        if ch in ("[", "{"):
            if depth >= self.limits.max_json_depth:
                raise JSONInvalid(f"JSON nested deeper than {self.limits.max_json_depth} levels")
            return (self.array if ch == "[" else self.object)(i, depth + 1)
        if ch == '"':
            return self.long_string(i)
        # a number or literal longer than the window (int() takes at most 4300 digits)
        found = self._window(i, depth, max(self.window, _LONGEST_SCALAR))
        if found is not None:
            return found
        raise self.error or self.invalid("Expecting value", i)

    def long_string(self, i: int) -> tuple[object, int]:
        most = self.limits.max_json_string_chars
        piece = self.text[i : i + most + 2]
        try:
            value, end = _SCANSTRING(piece, 1, True)
        except ValueError as exc:
            if len(piece) == most + 2:
                raise JSONTooLarge(f"a JSON string longer than {most} characters") from None
            raise JSONInvalid(str(exc)) from None
        return value, i + end

    def array(self, i: int, depth: int) -> tuple[object, int]:
        out: list[object] = []
        i = self.ws(i + 1)
        if self.text[i : i + 1] == "]":
            return out, i + 1
        while True:
            item, i = self.value(i, depth)
            out.append(item)
            i = self.ws(i)
            ch = self.text[i : i + 1]
            if ch == "]":
                return out, i + 1
            if ch != ",":
                raise self.invalid("Expecting ',' delimiter", i)
            i = self.ws(i + 1)

    def object(self, i: int, depth: int) -> tuple[object, int]:
        out: dict[str, object] = {}
        i = self.ws(i + 1)
        if self.text[i : i + 1] == "}":
            return out, i + 1
        while True:
            if self.text[i : i + 1] != '"':
                raise self.invalid("Expecting property name enclosed in double quotes", i)
            key, i = self.value(i, depth)
            i = self.ws(i)
            if self.text[i : i + 1] != ":":
                raise self.invalid("Expecting ':' delimiter", i)
            item, i = self.value(self.ws(i + 1), depth)
            out[str(key)] = item
            i = self.ws(i)
            ch = self.text[i : i + 1]
            if ch == "}":
                return out, i + 1
            if ch != ",":
                raise self.invalid("Expecting ',' delimiter", i)
            i = self.ws(i + 1)


def _check_tree(value: dict[str, Any] | list[Any], limits: UploadLimits, strings: bool) -> None:
    """Depth (and, if ``strings``, string lengths) of a document decoded in one call."""
    most, deepest = limits.max_json_string_chars, limits.max_json_depth
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            raise JSONInvalid(f"JSON nested deeper than {deepest} levels")
        children = node.values() if type(node) is dict else node
        for item in children:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1))  # type: ignore[arg-type]
            elif strings and kind is str and len(item) > most:
                raise JSONTooLarge(f"a JSON string longer than {most} characters")
        if strings and type(node) is dict and any(len(k) > most for k in node):
            raise JSONTooLarge(f"a JSON string longer than {most} characters")


def loads(text: str, limits: UploadLimits = DEFAULT_LIMITS) -> object:
    """``json.loads`` within ``limits``: JSONTooLarge or JSONInvalid when it cannot."""
    decoder = _Decoder(text, limits)
    values = decoder.count_values()
    if values <= limits.json_one_call_values and len(text) <= limits.json_one_call_chars:
        try:
            document = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise JSONInvalid("JSON nested too deeply") from None
        except ValueError as exc:
            raise JSONInvalid(str(exc)) from None
        if isinstance(document, dict | list):
            _check_tree(document, limits, strings=len(text) > limits.max_json_string_chars)
        elif isinstance(document, str) and len(document) > limits.max_json_string_chars:
            raise JSONTooLarge(
                f"a JSON string longer than {limits.max_json_string_chars} characters"
            )
        return document
    i = decoder.ws(0)
    if i >= decoder.n:
        raise decoder.invalid("Expecting value", i)
    value, i = decoder.value(i, 0)
    if decoder.ws(i) != decoder.n:
        raise decoder.invalid("Extra data", i)
    return value
