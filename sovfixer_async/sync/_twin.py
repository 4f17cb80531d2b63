"""How a blocking method is made from an async one: the typed ParamSpec helpers.

A blocking object (the sync ``Client``, the sync ``Ledger``) holds an async object and the
:class:`~anyio.from_thread.BlockingPortal` of the loop thread it lives in (:class:`Twin`).
Its methods are built, not written: ``name = blocking(AsyncClass.name)`` takes the async
method's parameters and types as they are (``ParamSpec``), so a parameter added to the
async method reaches the blocking one, typed, with no edit here. The call runs in the
loop thread; ``make(portal, value)`` turns what it returns into its blocking twin (a
handle's twin, a plain iterator...).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from anyio.from_thread import BlockingPortal

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
A = TypeVar("A")
I = TypeVar("I")  # noqa: E741  (the inner, async object)
I_co = TypeVar("I_co", covariant=True)


class Twin(Protocol[I_co]):
    """A blocking object: its async inner object and the portal of its loop thread.

    Both raise ``SOVFixerError`` once the object is closed.
    """

    def _inner(self) -> I_co: ...

    def _portal(self) -> BlockingPortal: ...


def same(portal: BlockingPortal, value: R) -> R:
    """``make`` for values that need no twin (models, lists, None)."""
    return value


def awaiting(
    method: Callable[Concatenate[I, P], Awaitable[A]],
    make: Callable[[BlockingPortal, A], T],
) -> Callable[Concatenate[Twin[I], P], T]:
    """``obj.name(...)`` that blocks on the async method ``name``; ``make`` twins its result."""

    @functools.wraps(method)
    def call(self: Twin[I], /, *args: P.args, **kwargs: P.kwargs) -> T:
        inner = self._inner()
        portal = self._portal()

        async def run() -> A:
            return await method(inner, *args, **kwargs)

        return make(portal, portal.call(run))

    return call


def blocking(
    method: Callable[Concatenate[I, P], Awaitable[R]],
) -> Callable[Concatenate[Twin[I], P], R]:
    """``obj.name(...)`` that blocks on the async method ``name`` and returns its result."""
    return awaiting(method, same)


def calling(
    method: Callable[Concatenate[I, P], A],
    make: Callable[[BlockingPortal, A], T],
) -> Callable[Concatenate[Twin[I], P], T]:
    """``obj.name(...)`` for a plain (not async) method, run in the loop thread (what it
    builds, an async iterator or a handle, belongs to that loop); ``make`` twins it.

    ``method`` must not return an awaitable (the portal would await it).
    """

    @functools.wraps(method)
    def call(self: Twin[I], /, *args: P.args, **kwargs: P.kwargs) -> T:
        inner = self._inner()
        portal = self._portal()
        return make(portal, portal.call(lambda: method(inner, *args, **kwargs)))

    return call
