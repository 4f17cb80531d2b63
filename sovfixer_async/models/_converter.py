"""The one cattrs converter for every response and request body, configured once at import.

Tolerant by design (contract §0.3): unknown keys are ignored or kept in ``extra``;
unknown enum values stay ``str``; ``null`` means "absent"; numbers may come as numeric
strings; a single object stands for a one-item list (``outputs``, ``sources``);
timestamps become aware UTC datetimes. Only a wrong JSON *type* fails, as a
:class:`ResponseShapeError` naming the path of the bad field.

Every hook is built once per type (cattrs' generated functions, looked-up inner hooks
captured in closures), so structuring does no per-call reflection.
"""

import functools
import operator
import types
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    CattrsError,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception, transform_error

from sovfixer_async.models._coerce import (
    format_datetime,
    show,
    to_bool,
    to_datetime,
    to_dict,
    to_float,
    to_int,
    to_str,
)
from sovfixer_async.models._common import ResponseShapeError
from sovfixer_async.models._data import (
    SourceFieldError,
    SourceResult,
    UsageBucket,
    UsageResponse,
    build_source_result,
)
from sovfixer_async.models._extraction import HistoryItem, OutputResult
from sovfixer_async.models._request_hooks import register_request_hooks

__all__ = ["ResponseShapeError", "converter", "structure", "unstructure"]

T = TypeVar("T")
StructureHook = Callable[[Any, Any], Any]

#: The converter. Hooks registered later take precedence over earlier ones.
converter = cattrs.Converter(detailed_validation=True)


def structure(data: Any, cls: type[T]) -> T:
    """Structure a decoded JSON body into ``cls``; a wrong shape is a ResponseShapeError."""
    try:
        return converter.structure(data, cls)
    except ResponseShapeError:
        raise
    except (CattrsError, TypeError, ValueError, KeyError, AttributeError) as exc:
        name = getattr(cls, "__name__", repr(cls))
        raise ResponseShapeError(name, transform_error(exc, name, _format_error)) from exc


def unstructure(obj: Any) -> Any:
    """Plain JSON-ready data: a request as its body (a parse request: its form fields); a
    response with enum values, ISO-8601 ``Z`` datetimes and ``extra`` merged back."""
    return converter.unstructure(obj)


def _format_error(exc: BaseException, type_: Any) -> str:
    """cattrs' default wording, but keeping our own coercion messages (they say what came)."""
    if (
        isinstance(exc, TypeError | ValueError)
        and not isinstance(exc, CattrsError)
        and exc.args
        and isinstance(exc.args[0], str)
        and exc.args[0].startswith("expected")
    ):
        return exc.args[0]
    return format_exception(exc, type_)


# -- scalars ---------------------------------------------------------------------------

for _cls, _hook in (
    (str, to_str),
    (int, to_int),
    (float, to_float),
    (bool, to_bool),
    (datetime, to_datetime),
):
    converter.register_structure_hook(_cls, _hook)

converter.register_unstructure_hook(datetime, format_datetime)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in get_args(tp)


def _enum_of(tp: Any) -> type[Enum] | None:
    """The Enum of an ``SomeEnum | str`` union, else None."""
    if not _is_union(tp):
        return None
    args = get_args(tp)
    enums = [a for a in args if isinstance(a, type) and issubclass(a, Enum)]
    if len(enums) == 1 and str in args and len(args) == 2:
        return enums[0]
    return None


@converter.register_structure_hook_factory(lambda tp: _enum_of(tp) is not None)
def _enum_or_str_hook(tp: Any) -> StructureHook:
    """Known values become the member, unknown ones stay ``str``."""
    enum_cls = _enum_of(tp)
    assert enum_cls is not None
    members = enum_cls._value2member_map_

    def structure_enum_or_str(value: Any, _type: Any) -> Any:
        if type(value) is not str:
            value = to_str(value)
        return members.get(value, value)

    return structure_enum_or_str


@converter.register_structure_hook_factory(_is_optional)
def _optional_hook(tp: Any) -> StructureHook:
    """``X | None``: None passes, anything else goes to X's hook (looked up once)."""
    rest = [a for a in get_args(tp) if a is not type(None)]
    inner_type: Any = functools.reduce(operator.or_, rest)
    inner = converter.get_structure_hook(inner_type)

    def structure_optional(value: Any, _type: Any) -> Any:
        if value is None:
            return None
        return inner(value, inner_type)

    return structure_optional


# -- containers ------------------------------------------------------------------------


def _is_list(tp: Any) -> bool:
    return tp is list or get_origin(tp) is list


def _is_dict(tp: Any) -> bool:
    return tp is dict or get_origin(tp) is dict


@converter.register_structure_hook_factory(_is_list)
def _list_hook(tp: Any) -> StructureHook:
    """``list[X]``: null is ``[]``, a single object or value is a one-item list."""
    args = get_args(tp)
    elem_type: Any = args[0] if args else Any
    elem = None if elem_type is Any else converter.get_structure_hook(elem_type)

    def structure_list(value: Any, _type: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            value = [value]
        if elem is None:
            return list(value)
        try:
            return [elem(item, elem_type) for item in value]
        except Exception:
            pass
        # Slow path, only on failure: find every bad index for the error message.
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                elem(item, elem_type)
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring {tp} @ index {index}", index, elem_type),
                ]
                errors.append(exc)
        raise IterableValidationError(f"While structuring {tp!r}", errors, tp)

    return structure_list


@converter.register_structure_hook_factory(_is_dict)
def _dict_hook(tp: Any) -> StructureHook:
    """``dict[str, X]``: null is ``{}``; keys are kept as the JSON gives them."""
    args = get_args(tp)
    value_type: Any = args[1] if len(args) == 2 else Any
    inner = None if value_type is Any else converter.get_structure_hook(value_type)

    def structure_dict(value: Any, _type: Any) -> dict[Any, Any]:
        if value is None:
            return {}
        mapping = to_dict(value)
        if inner is None:
            return mapping
        try:
            return {key: inner(item, value_type) for key, item in mapping.items()}
        except Exception:
            pass
        errors: list[Exception] = []
        for key, item in mapping.items():
            try:
                inner(item, value_type)
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring {tp} @ key {key!r}", key, value_type),
                ]
                errors.append(exc)
        raise IterableValidationError(f"While structuring {tp!r}", errors, tp)

    return structure_dict


# -- shape fix-ups applied before a class is structured (contract §10 Q7, Q16, §3.12) --


def _flatten_output_result(body: Any) -> Any:
    """The older list-shaped ``result`` -> the flat one, from its first output."""
    if not isinstance(body, Mapping) or "url" in body or "outputs" not in body:
        return body
    outputs = body["outputs"]
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    flat = {key: value for key, value in body.items() if key != "outputs"}
    if isinstance(first, Mapping):
        flat["url"] = first.get("url")
        flat.setdefault("scrubbed_filename", first.get("filename"))
        flat.setdefault("label", first.get("description"))
    return flat


def _unwrap_history_item(body: Any) -> Any:
    """``{"result": {...}}`` -> its content (other top-level keys kept as extras)."""
    if (
        isinstance(body, Mapping)
        and isinstance(body.get("result"), Mapping)
        and "sovid" not in body
    ):
        rest = {key: value for key, value in body.items() if key != "result"}
        return {**rest, **body["result"]}
    return body


def _usage_bucket(body: Any) -> Any:
    """An SDK-style ``{bucket_time, source, count}`` row -> ``{bucket, counts}``."""
    if isinstance(body, Mapping) and "bucket" not in body and "bucket_time" in body:
        source = body.get("source") or "total"
        return {"bucket": body["bucket_time"], "counts": {source: body.get("count")}}
    return body


def _usage_response(body: Any) -> Any:
    """A bare list of rows, or rows in ``buckets``: merge SDK rows per bucket time."""
    if isinstance(body, list):
        body = {"buckets": body}
    if not isinstance(body, Mapping):
        return body
    rows = body.get("buckets")
    if not isinstance(rows, list) or not any(
        isinstance(row, Mapping) and "bucket_time" in row and "bucket" not in row for row in rows
    ):
        return body
    merged: dict[Any, dict[str, Any]] = {}
    buckets: list[Any] = []
    totals: dict[str, Any] = {}
    for row in rows:
        if not (isinstance(row, Mapping) and "bucket_time" in row and "bucket" not in row):
            buckets.append(row)
            continue
        when = row["bucket_time"]
        source = row.get("source") or "total"
        count = row.get("count")
        if isinstance(when, str | int | float) and when in merged:
            merged[when][source] = count
        else:
            counts = {source: count}
            if isinstance(when, str | int | float):
                merged[when] = counts
            buckets.append({"bucket": when, "counts": counts})
        if isinstance(count, int) and not isinstance(count, bool):
            totals[source] = totals.get(source, 0) + count
    fixed = {**body, "buckets": buckets}
    if "totals" not in body and totals:
        totals.setdefault("total", sum(n for key, n in totals.items() if key != "total"))
        fixed["totals"] = totals
    return fixed


_PREPARE: dict[type, Callable[[Any], Any]] = {
    OutputResult: _flatten_output_result,
    HistoryItem: _unwrap_history_item,
    UsageBucket: _usage_bucket,
    UsageResponse: _usage_response,
}


# -- attrs classes ---------------------------------------------------------------------


def _passthrough(value: Any, _type: Any) -> Any:
    return value


def _has_extra(cls: type) -> bool:
    return any(field.name == "extra" for field in attrs.fields(cls))


@converter.register_structure_hook_factory(attrs.has)
def _attrs_hook(cls: Any) -> StructureHook:
    """cattrs' generated function, behind a type check, fix-ups and ``extra`` collection."""
    has_extra = _has_extra(cls)
    if has_extra:
        generated = make_dict_structure_fn(cls, converter, extra=override(struct_hook=_passthrough))
    else:
        generated = make_dict_structure_fn(cls, converter)
    known = frozenset(field.name for field in attrs.fields(cls) if field.name != "extra")
    prepare = _PREPARE.get(cls)

    def structure_attrs(value: Any, _type: Any) -> Any:
        if prepare is not None:
            value = prepare(value)
        if type(value) is not dict:
            if not isinstance(value, Mapping):
                kind = "null" if value is None else type(value).__name__
                raise TypeError(f"expected an object, got {kind} {show(value)}")
            value = dict(value)
        if has_extra and not known.issuperset(value):
            extra = {key: item for key, item in value.items() if key not in known}
            value = {**value, "extra": extra}
        return generated(value)

    return structure_attrs


def _structure_source_result(value: Any, _type: Any) -> SourceResult:
    """SourceResult's own fast builder, its field errors turned into cattrs' form."""
    try:
        return build_source_result(value)
    except SourceFieldError as exc:
        error = exc.error
        error.__notes__ = [
            AttributeValidationNote(
                f"Structuring class SourceResult @ attribute {exc.field}", exc.field, Any
            )
        ]
        raise ClassValidationError(
            "While structuring SourceResult", [error], SourceResult
        ) from None


converter.register_structure_hook(SourceResult, _structure_source_result)


def _has_enum(tp: Any) -> bool:
    return _is_union(tp) and any(isinstance(a, type) and issubclass(a, Enum) for a in get_args(tp))


def _unstructure_enum_or_str(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


converter.register_unstructure_hook_factory(_has_enum, lambda _tp: _unstructure_enum_or_str)


@converter.register_unstructure_hook_factory(lambda tp: attrs.has(tp) and _has_extra(tp))
def _attrs_extra_unstructure_hook(cls: Any) -> Callable[[Any], dict[str, Any]]:
    """Fields as usual, then each ``extra`` key at top level (known fields win)."""
    generated = make_dict_unstructure_fn(cls, converter, extra=override(omit=True))

    def unstructure_with_extra(obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = generated(obj)
        for key, value in obj.extra.items():
            if key not in data:
                data[key] = converter.unstructure(value)
        return data

    return unstructure_with_extra


register_request_hooks(converter)
