"""The public surface: names re-exported at the top, implementation in private rooms."""

from __future__ import annotations

import pkgutil

import sovfixer_async

PUBLIC_PACKAGES = {"emulator", "models", "testing", "sync", "ledger"}


def test_every_public_name_lives_at_the_top() -> None:
    for name in sovfixer_async.__all__:
        value = getattr(sovfixer_async, name)
        module = getattr(value, "__module__", None)
        if module is not None and module.startswith("sovfixer_async"):
            assert module == "sovfixer_async", name


def test_implementation_modules_are_private() -> None:
    for info in pkgutil.iter_modules(sovfixer_async.__path__):
        if info.name.startswith("_"):
            continue
        assert info.name in PUBLIC_PACKAGES, f"sovfixer_async.{info.name} should be private"
