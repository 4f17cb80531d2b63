"""What every command gets: the global options, the reporter, and a way to make the client."""

from __future__ import annotations

import shlex
from typing import Any

from attrs import define

from sovfixer_async import Client
from sovfixer_async._cli.parser import PROG, GlobalOptions
from sovfixer_async._cli.progress import Reporter


@define
class Context:
    """The global options and the reporter of one CLI run."""

    options: GlobalOptions
    reporter: Reporter

    def client_options(self) -> dict[str, Any]:
        """``Client(**options)`` from the global options; None ones are left to the SDK.

        Tokens left out are looked up by the client (environment, ``~/.pingintel.ini``).
        """
        g = self.options
        given = {
            "api_url": g.api_url,
            "data_api_url": g.data_api_url,
            "token": g.token,
            "data_token": g.data_token,
            "environment": g.environment,
            "max_connections": g.max_connections,
        }
        return {k: v for k, v in given.items() if v is not None}

    def client(self, *, progress: bool = True, **overrides: Any) -> Client:
        """A new (not yet entered) client whose events feed the reporter (if ``progress``)."""
        on_event = self.reporter.on_event if progress else None
        client = Client(on_event=on_event, **{**self.client_options(), **overrides})
        self.reporter.requests = lambda: client.stats.requests
        return client

    def resume_hint(self, token: str) -> str:
        """``sovfixer-async resume '<token>'`` plus the options that name the servers."""
        words = [PROG, "resume", token]
        g = self.options
        for flag, value in (
            ("--api-url", g.api_url),
            ("--data-api-url", g.data_api_url),
            ("-e", g.environment),
        ):
            if value is not None:
                words += [flag, value]
        return shlex.join(words)
