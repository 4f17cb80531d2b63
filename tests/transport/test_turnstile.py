"""The turnstile lets a herd of tasks through a few per loop turn, in arrival order.

Loop turns are counted by a callback that reschedules itself with ``call_soon`` (it runs
once per turn of the asyncio loop), so "how many passed in one turn" is exact, not timed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovfixer_async._transport._turnstile import TrickleEvent, Turnstile


class Turns:
    """The number of the current loop turn."""

    def __init__(self) -> None:
        self.now = 0
        self._stopped = False

    def _tick(self) -> None:
        if not self._stopped:
            self.now += 1
            asyncio.get_running_loop().call_soon(self._tick)


@contextmanager
def counting_turns() -> Iterator[Turns]:
    turns = Turns()
    asyncio.get_running_loop().call_soon(turns._tick)
    try:
        yield turns
    finally:
        turns._stopped = True


async def herd(
    count: int, enter: Callable[[], object], turns: Turns, cancel: frozenset[int] = frozenset()
) -> tuple[list[int], list[int]]:
    """Start ``count`` tasks at once through ``enter``; cancel those in ``cancel`` once
    they wait. Returns the order they passed in and the turn each passed on."""
    order: list[int] = []
    when: list[int] = []

    async def one(i: int) -> None:
        await enter()  # type: ignore[misc]
        order.append(i)
        when.append(turns.now)

    tasks = [asyncio.ensure_future(one(i)) for i in range(count)]
    await asyncio.sleep(0)  # every task has run up to its wait
    for i in cancel:
        tasks[i].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return order, when


def run(main: Callable[[], object]) -> object:
    return asyncio.run(main())  # type: ignore[arg-type]


def test_a_lone_task_passes_without_waiting_a_turn() -> None:
    async def main() -> list[int]:
        gate = Turnstile(per_turn=3)
        seen = []
        with counting_turns() as turns:
            await asyncio.sleep(0)
            for _ in range(3):
                before = turns.now
                await gate.enter()
                seen.append(turns.now - before)
        return seen

    assert run(main) == [0, 0, 0]


@settings(max_examples=40, deadline=None)
@given(
    per_turn=st.integers(1, 20),
    count=st.integers(0, 120),
    cancel=st.frozensets(st.integers(0, 119), max_size=30),
)
def test_a_herd_passes_per_turn_at_most_and_in_order(
    per_turn: int, count: int, cancel: frozenset[int]
) -> None:
    # the first per_turn pass at once (done before the cancel); the others wait
    cancel = frozenset(i for i in cancel if per_turn <= i < count)

    async def main() -> tuple[list[int], list[int], int]:
        gate = Turnstile(per_turn)
        with counting_turns() as turns:
            order, when = await herd(count, gate.enter, turns, cancel)
        return order, when, gate.waiting

    order, when, left = run(main)  # type: ignore[misc]
    assert order == [i for i in range(count) if i not in cancel]  # all others, in order
    assert max(Counter(when).values(), default=0) <= per_turn
    assert left == 0


def test_cancelled_waiters_take_no_room() -> None:
    """A turn's room goes to waiters that are still there: 10 of 20 cancelled, per_turn 5:
    the 10 others pass in two turns after the first (as many as without the cancelled)."""

    async def main() -> list[int]:
        gate = Turnstile(per_turn=5)
        with counting_turns() as turns:
            _, when = await herd(20, gate.enter, turns, frozenset(range(5, 15)))
        return when

    when = run(main)
    assert isinstance(when, list)
    assert len(when) == 10
    assert len(set(when)) == 2  # 5 at once, then the other 5 on one later turn


def test_trickle_event_holds_its_waiters_until_set_then_wakes_them_per_turn() -> None:
    async def main() -> tuple[int, list[int], list[int], int]:
        event = TrickleEvent(per_turn=10)
        with counting_turns() as turns:
            order: list[int] = []
            when: list[int] = []

            async def one(i: int) -> None:
                await event.wait()
                order.append(i)
                when.append(turns.now)

            tasks = [asyncio.ensure_future(one(i)) for i in range(35)]
            for _ in range(5):
                await asyncio.sleep(0)
            early = len(order)
            assert not event.is_set()
            event.set()
            event.set()  # a second set changes nothing
            await asyncio.gather(*tasks)
            later = turns.now
            await event.wait()  # once set, a wait returns within the turn
            return early, order, when, turns.now - later

    early, order, when, waited = run(main)  # type: ignore[misc]
    assert early == 0
    assert order == list(range(35))
    assert sorted(Counter(when).values()) == [5, 10, 10, 10]
    assert waited == 0


def test_a_turnstile_outlives_its_loop() -> None:
    """A client may be used under one ``asyncio.run`` and then another: the count and the
    waiters of the first loop do not hold the second one up."""
    gate = Turnstile(per_turn=2)

    async def fill() -> None:
        for _ in range(2):
            await gate.enter()
        waiter = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        waiter.cancel()

    async def again() -> int:
        with counting_turns() as turns:
            _, when = await herd(4, gate.enter, turns)
        return len(set(when))

    run(fill)
    assert run(again) == 2


def test_per_turn_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_turn"):
        Turnstile(per_turn=0)
