"""Ledger URLs: ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or
``postgresql://user:password@host:port/db``. The password never appears in a repr, a
message or a log line: :func:`redact` replaces it wherever a text might echo it."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from attrs import field, frozen

from sovfixer_async._errors import ConfigurationError
from sovfixer_async.ledger._types import LedgerError

#: The environment variable the CLI reads the ledger URL from when ``--ledger`` is not given.
LEDGER_URL_ENV = "SOVFIXER_LEDGER_URL"
_POSTGRES_SCHEMES = ("postgresql", "postgres")
MAX_URL = 4096


@frozen(repr=False)
class LedgerURL:
    """A parsed ledger URL. ``str()`` and ``repr()`` show it with the password as ``***``."""

    dialect: str  # "sqlite" | "postgresql"
    _raw: str = field(alias="raw")
    path: Path | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> LedgerURL:
        if not isinstance(url, str) or not url or len(url) > MAX_URL:
            raise LedgerError("a ledger URL is sqlite:///PATH or postgresql://...")
        try:
            parts = urlsplit(url)
            password = parts.password
        except ValueError:
            raise LedgerError("the ledger URL cannot be parsed") from None
        scheme = parts.scheme.lower()
        if scheme == "sqlite":
            rest = url[len("sqlite://") :]
            if parts.netloc or not rest.startswith("/") or len(rest) < 2 or "\x00" in rest:
                raise LedgerError(
                    "a SQLite ledger URL is sqlite:///relative/path or sqlite:////absolute/path"
                )
            return cls("sqlite", raw=url, path=Path(rest[1:]))
        if scheme in _POSTGRES_SCHEMES:
            if not parts.hostname and "host=" not in parts.query:
                raise LedgerError("a PostgreSQL ledger URL names a host")
            return cls(
                "postgresql",
                raw=url,
                password=None if password is None else unquote(password),
            )
        raise LedgerError(
            "the ledger URL must start with sqlite:/// or postgresql:// (got scheme "
            f"{redact(scheme[:20], None)!r})"
        )

    @property
    def secret_url(self) -> str:
        """The URL itself, password included: for the database driver only."""
        return self._raw

    def redact(self, text: str) -> str:
        """``text`` with this URL's password (raw and decoded) replaced by ``***``."""
        return redact(text, self.password, self._raw)

    def __str__(self) -> str:
        return self.redact(self._raw)

    def __repr__(self) -> str:
        return f"LedgerURL({str(self)!r})"


def redact(text: str, password: str | None, raw: str | None = None) -> str:
    if raw is not None:
        try:
            raw_password = urlsplit(raw).password
        except ValueError:
            raw_password = None
        if raw_password:
            text = text.replace(raw_password, "***")
    if password:
        text = text.replace(password, "***")
    return text


def url_from(value: str | None) -> str:
    """The URL given, else ``$SOVFIXER_LEDGER_URL``; a ``LedgerError`` when neither is set."""
    url = value or os.environ.get(LEDGER_URL_ENV)
    if not url:
        raise ConfigurationError(f"give --ledger URL or set {LEDGER_URL_ENV}")
    return url
