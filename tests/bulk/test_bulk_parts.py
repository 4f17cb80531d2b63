"""A batch's output members are copied as the server wrote them, whatever its layout."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._bulk._files import raw_members as _raw_members

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
layouts = st.sampled_from(
    [
        {},
        {"indent": 2},
        {"separators": (",", ":")},
        {"separators": (" , ", " : ")},
        {"ensure_ascii": False},
    ]
)


@given(st.dictionaries(st.text(), values, max_size=6), layouts)
def test_members_round_trip(data: dict[str, Any], layout: dict[str, Any]) -> None:
    text = json.dumps(data, **layout)
    members = list(_raw_members(text))
    assert [key for key, _, _ in members] == list(data)
    for key, value, raw in members:
        assert value == data[key]
        assert json.loads(raw) == data[key]


@pytest.mark.parametrize("text", ["[1, 2]", '"x"', "", "null"])
def test_a_file_that_is_not_an_object_has_no_members(text: str) -> None:
    assert list(_raw_members(text)) == []


@pytest.mark.parametrize("text", ['{"a" 1}', '{"a": 1 "b": 2}', '{"a": 1,'])
def test_broken_json_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"[Ee]xpect"):
        list(_raw_members(text))
