"""The client fixtures of tests/client (an emulator in-process, a client of it)."""

from ..client.conftest import client, client_for, emulator, make_client, stats

__all__ = ["client", "client_for", "emulator", "make_client", "stats"]
