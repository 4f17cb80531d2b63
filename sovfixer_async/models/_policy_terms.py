"""``policy_terms`` of an update start (contract §3.6): layers, peril and zone terms.

:func:`policy_terms` builds a :class:`PolicyTerms` from itself or a nested mapping,
checking every key strictly (errors name the key path, and suggest the closest key).
The classes hold data only; the converter turns them into JSON (None values left out).
"""

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._checks import kind as _kind
from sovfixer_async.models._checks import require_bool, require_nonempty_str, require_str_list
from sovfixer_async.models._checks import suggest as _suggest
from sovfixer_async.models._coerce import show

__all__ = ["LayerTerm", "PerilTerm", "PolicyTerms", "ZoneTerm", "policy_terms"]


def _number(value: Any, field: str) -> float:
    """A finite number (int kept as int); numeric text is converted."""
    if isinstance(value, bool):
        raise InvalidInputError(f"expected a number, got {value!r}", field=field)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise InvalidInputError(f"expected a finite number, got {value!r}", field=field)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise InvalidInputError(f"expected a number, got {_kind(value)} {show(value)}", field=field)


def _text(value: Any, field: str) -> str:
    return require_nonempty_str(value, field)


def _texts(value: Any, field: str) -> list[str]:
    return require_str_list(value, field, nonempty=False)


_Checks = dict[str, Callable[[Any, str], Any]]


def _build_term(cls: type[Any], value: Any, field: str, checks: _Checks) -> Any:
    """Build a term class from an instance or a mapping, checking every key strictly."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"expected a mapping, got {_kind(value)} {show(value)}", field=field
        )
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        check = checks.get(key) if isinstance(key, str) else None
        if check is None:
            raise InvalidInputError(
                f"unknown key {key!r}{_suggest(str(key), checks)}; known keys: "
                + ", ".join(checks),
                field=f"{field}.{key}",
            )
        if item is not None:
            kwargs[key] = check(item, f"{field}.{key}")
    return cls(**kwargs)


def _term_list(cls: type[Any], checks: _Checks) -> Callable[[Any, str], list[Any]]:
    def check(value: Any, field: str) -> list[Any]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise InvalidInputError(
                f"expected a list, got {_kind(value)} {show(value)}", field=field
            )
        return [_build_term(cls, item, f"{field}[{i}]", checks) for i, item in enumerate(value)]

    return check


@attrs.frozen(kw_only=True)
class LayerTerm:
    """One layer of ``policy_terms.layer_terms``."""

    name: str | None = None
    attachment: float | None = None
    limit: float | None = None
    participation: float | None = None
    premium: float | None = None


@attrs.frozen(kw_only=True)
class PerilTerm:
    """One entry of ``policy_terms.peril_terms`` (sub-perils such as ``HU_Wind``)."""

    group: str | None = None
    subperil_types: list[str] | None = None
    sublimit: float | None = None
    min_deductible: float | None = None
    max_deductible: float | None = None
    blanket_deductible: float | None = None
    location_deductible_type: str | None = None
    location_deductible: float | None = None
    bi_days_deductible: float | None = None


@attrs.frozen(kw_only=True)
class ZoneTerm:
    """One entry of ``policy_terms.zone_terms``, in either documented shape (§10 Q17):
    the peril-term fields, or ``peril_class``/``zone``/``is_excluded``."""

    group: str | None = None
    subperil_types: list[str] | None = None
    peril_class: str | None = None
    zone: str | None = None
    is_excluded: bool | None = None
    sublimit: float | None = None
    min_deductible: float | None = None
    max_deductible: float | None = None
    blanket_deductible: float | None = None
    location_deductible_type: str | None = None
    location_deductible: float | None = None
    bi_days_deductible: float | None = None


_LAYER_CHECKS: _Checks = {
    "name": _text,
    "attachment": _number,
    "limit": _number,
    "participation": _number,
    "premium": _number,
}
_PERIL_CHECKS: _Checks = {
    "group": _text,
    "subperil_types": _texts,
    "sublimit": _number,
    "min_deductible": _number,
    "max_deductible": _number,
    "blanket_deductible": _number,
    "location_deductible_type": _text,
    "location_deductible": _number,
    "bi_days_deductible": _number,
}
_ZONE_CHECKS: _Checks = {
    **_PERIL_CHECKS,
    "peril_class": _text,
    "zone": _text,
    "is_excluded": require_bool,
}
_POLICY_CHECKS: _Checks = {
    "layer_terms": _term_list(LayerTerm, _LAYER_CHECKS),
    "peril_terms": _term_list(PerilTerm, _PERIL_CHECKS),
    "zone_terms": _term_list(ZoneTerm, _ZONE_CHECKS),
    "excluded_subperil_types": _texts,
}


@attrs.frozen(kw_only=True)
class PolicyTerms:
    """``policy_terms`` of an update start, used by the outputter (§3.6)."""

    layer_terms: list[LayerTerm] | None = None
    peril_terms: list[PerilTerm] | None = None
    zone_terms: list[ZoneTerm] | None = None
    excluded_subperil_types: list[str] | None = None


def policy_terms(value: Any, field: str = "policy_terms") -> PolicyTerms:
    """A PolicyTerms from itself or a (nested) mapping; errors name the key path."""
    built: PolicyTerms = _build_term(PolicyTerms, value, field, _POLICY_CHECKS)
    return built
