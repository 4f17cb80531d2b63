"""Token lookup, in the official SDK's order so its users switch without moving secrets.

argument > ``<BASE>_<SUFFIX>`` variable > ``<BASE>`` variable > ``~/.pingintel.ini``
(``[sovfixer]`` / ``[pingdata]``, key ``<BASE>_<SUFFIX>`` then ``<BASE>``). The Ping.Data
token falls back to the SOVFixer token (the same key works for both APIs).
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from sovfixer_async._config import TOKEN_SUFFIXES
from sovfixer_async._errors import InvalidInputError, MissingTokenError

Product = Literal["sovfixer", "pingdata"]


# Ping.Data: the official code reads PING_DATA_AUTH_TOKEN, its README says PINGDATA_AUTH_TOKEN.
_BASES: dict[Product, tuple[str, ...]] = {
    "sovfixer": ("SOVFIXER_AUTH_TOKEN",),
    "pingdata": ("PING_DATA_AUTH_TOKEN", "PINGDATA_AUTH_TOKEN"),
}


def default_ini_path() -> Path:
    return Path.home() / ".pingintel.ini"


def check_token(token: str, source: str) -> str:
    """Return the token stripped, or raise if it is blank or cannot go in a header."""
    value = token.strip()
    if value.lower() == "token" or value.lower().startswith("token "):
        value = value[5:].strip()  # the header prefix was pasted along with the key
    if not value:
        raise InvalidInputError("the API token is blank", field=source)
    if any(c.isspace() or not c.isprintable() or not c.isascii() for c in value):
        raise InvalidInputError(
            "the API token contains whitespace or non-ASCII characters; "
            "check that it was copied whole",
            field=source,
        )
    return value


def _candidates(
    product: Product, environment: str | None, ini_path: Path
) -> list[tuple[str, str, str]]:
    """(kind, name, description) of every place to look, in order."""
    suffix = TOKEN_SUFFIXES.get(environment.lower()) if environment else None
    section = product
    places: list[tuple[str, str, str]] = []
    for base in _BASES[product]:
        if suffix:
            places.append(("env", f"{base}_{suffix}", f"environment variable {base}_{suffix}"))
    for base in _BASES[product]:
        places.append(("env", base, f"environment variable {base}"))
    for base in _BASES[product]:
        if suffix:
            key = f"{base}_{suffix}"
            places.append(("ini", key, f"{ini_path} [{section}] {key}"))
    for base in _BASES[product]:
        places.append(("ini", base, f"{ini_path} [{section}] {base}"))
    return places


def _read_ini(path: Path, section: str) -> Mapping[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return {}
    return parser[section] if parser.has_section(section) else {}


def lookup_token(
    product: Product,
    explicit: str | None,
    *,
    environment: str | None,
    env: Mapping[str, str] | None = None,
    ini_path: Path | None = None,
) -> tuple[str, str]:
    """Find the token for ``product``: returns (token, where it was found).

    Raises :class:`MissingTokenError` listing every place looked at, or
    :class:`InvalidInputError` for a blank or malformed token.
    """
    if explicit is not None:
        return check_token(explicit, "token"), "argument"
    environ = os.environ if env is None else env
    path = ini_path or default_ini_path()
    ini: Mapping[str, str] | None = None
    places = _candidates(product, environment, path)
    for kind, name, description in places:
        if kind == "env":
            value = environ.get(name)
        else:
            if ini is None:
                ini = _read_ini(path, product)
            value = ini.get(name)  # configparser keys are case-insensitive
        if value and value.strip():
            return check_token(value, name), description
    raise MissingTokenError(product, ["token argument"] + [d for _, _, d in places])


def find_token(
    product: Product,
    explicit: str | None,
    *,
    environment: str | None,
    fallback: str | None = None,
    env: Mapping[str, str] | None = None,
    ini_path: Path | None = None,
) -> str:
    """The token for ``product``; Ping.Data falls back to the SOVFixer token's places.

    ``fallback`` is the explicit SOVFixer token, consulted only for Ping.Data.
    """
    try:
        return lookup_token(product, explicit, environment=environment, env=env, ini_path=ini_path)[
            0
        ]
    except MissingTokenError as missing:
        if product == "sovfixer":
            raise
        try:
            return lookup_token(
                "sovfixer", fallback, environment=environment, env=env, ini_path=ini_path
            )[0]
        except MissingTokenError as also:
            raise MissingTokenError(
                "Ping.Data", [*missing.places, *(f"(fallback) {p}" for p in also.places)]
            ) from None
