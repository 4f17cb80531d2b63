"""What every command gets: the global options, the reporter, and a way to make the client."""

from __future__ import annotations

import shlex
from typing import Any

from attrs import define, field

from sovfixer_async import Client
from sovfixer_async._cli.parser import PROG, GlobalOptions
from sovfixer_async._cli.progress import Handle, Reporter

#: Token variable suffixes per ``-e`` (the base name, without one, is read for any).
_SUFFIX = {"prod": "PRD", "prodeu": "PRDEU", "staging": "STG", "dev": "DEV"}


@define
class Context:
    """The global options and the reporter of one CLI run."""

    options: GlobalOptions
    reporter: Reporter
    #: Where the first run puts each job's outputs (by job id), for resume hints.
    outs: dict[str, str] = field(factory=dict)
    #: Ctrl-C is the normal end of the command (``history --follow``): exit status 0.
    interrupt_quietly: bool = False
    #: The command that continues where this one stopped (printed on Ctrl-C).
    continue_hint: str | None = None

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

    def resume_hint(self, token: str, out: str | None = None) -> str:
        """``sovfixer-async resume '<token>'``, ``--out``, and the options naming the servers.

        Every word is shell-quoted; no API token is ever part of it (see :meth:`token_note`).
        """
        words = ["resume", token]
        if out is not None and out != ".":
            words += ["--out", out]
        return self.command_hint(words)

    def command_hint(self, words: list[str]) -> str:
        """``sovfixer-async WORDS...`` plus the options naming the servers, shell-quoted."""
        words = [PROG, *words]
        g = self.options
        for flag, value in (
            ("--api-url", g.api_url),
            ("--data-api-url", g.data_api_url),
            ("-e", g.environment),
        ):
            if value is not None:
                words += [flag, value]
        return shlex.join(words)

    def hint_for(self, handle: Handle) -> str:
        """The resume hint of a handle, into the place the first run would have used."""
        return self.resume_hint(handle.token, self.outs.get(handle.id))

    def token_note(self) -> str | None:
        """How to give the API token(s) again when they came as flags (never the token)."""
        g = self.options
        names = []
        suffix = f"_{_SUFFIX[g.environment]}" if g.environment in _SUFFIX else ""
        if g.token is not None:
            names.append(f"SOVFIXER_AUTH_TOKEN{suffix}")
        if g.data_token is not None:
            names.append(f"PING_DATA_AUTH_TOKEN{suffix}")
        if not names:
            return None
        given = "--token" if g.token is not None else "--data-token"
        if g.token is not None and g.data_token is not None:
            given = "--token and --data-token"
        return (
            f"{PROG}: the API token came from {given} and is not repeated here: set "
            f"{' and '.join(names)} in the environment (or ~/.pingintel.ini), or add "
            f"{given} again, before running it"
        )
