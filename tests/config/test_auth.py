"""Token lookup: same order as the official SDK, clear errors, never a leaked secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._auth import check_token, find_token, lookup_token
from sovfixer_async._cli.parser import build_parser, globals_of
from sovfixer_async._config import ENVIRONMENTS, TOKEN_SUFFIXES, ClientConfig
from sovfixer_async._errors import InvalidInputError, MissingTokenError


def write_ini(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_argument_wins_over_everything(tmp_path: Path) -> None:
    ini = write_ini(tmp_path / "p.ini", "[sovfixer]\nSOVFIXER_AUTH_TOKEN = from-ini\n")
    env = {"SOVFIXER_AUTH_TOKEN_PRD": "env-prd", "SOVFIXER_AUTH_TOKEN": "env"}
    token, where = lookup_token("sovfixer", "arg", environment="prod", env=env, ini_path=ini)
    assert (token, where) == ("arg", "argument")


@pytest.mark.parametrize(
    ("env", "ini", "expected"),
    [
        ({"SOVFIXER_AUTH_TOKEN_STG": "a", "SOVFIXER_AUTH_TOKEN": "b"}, "", "a"),
        ({"SOVFIXER_AUTH_TOKEN": "b"}, "SOVFIXER_AUTH_TOKEN_STG = c\n", "b"),
        ({}, "SOVFIXER_AUTH_TOKEN_STG = c\nSOVFIXER_AUTH_TOKEN = d\n", "c"),
        ({}, "sovfixer_auth_token = d\n", "d"),  # configparser keys are case-insensitive
        ({"SOVFIXER_AUTH_TOKEN_PRD": "other-env"}, "SOVFIXER_AUTH_TOKEN = d\n", "d"),
        ({"SOVFIXER_AUTH_TOKEN_STG": "   "}, "SOVFIXER_AUTH_TOKEN = d\n", "d"),  # blank skipped
    ],
)
def test_lookup_order_for_staging(
    tmp_path: Path, env: dict[str, str], ini: str, expected: str
) -> None:
    path = write_ini(tmp_path / "p.ini", "[sovfixer]\n" + ini)
    assert find_token("sovfixer", None, environment="staging", env=env, ini_path=path) == expected


def test_no_environment_skips_suffixed_names(tmp_path: Path) -> None:
    env = {"SOVFIXER_AUTH_TOKEN_PRD": "prd", "SOVFIXER_AUTH_TOKEN": "plain"}
    missing = tmp_path / "none.ini"
    assert find_token("sovfixer", None, environment=None, env=env, ini_path=missing) == "plain"


def test_pingdata_reads_both_spellings_and_falls_back(tmp_path: Path) -> None:
    missing = tmp_path / "none.ini"
    assert (
        find_token(
            "pingdata", None, environment="dev", env={"PINGDATA_AUTH_TOKEN": "x"}, ini_path=missing
        )
        == "x"
    )
    assert (
        find_token(
            "pingdata",
            None,
            environment="dev",
            env={"PING_DATA_AUTH_TOKEN_DEV": "y", "PINGDATA_AUTH_TOKEN": "x"},
            ini_path=missing,
        )
        == "y"
    )
    ini = write_ini(tmp_path / "p.ini", "[sovfixer]\nSOVFIXER_AUTH_TOKEN = main\n")
    assert find_token("pingdata", None, environment="prod", env={}, ini_path=ini) == "main"
    assert (
        find_token(
            "pingdata", None, environment="prod", fallback="explicit", env={}, ini_path=missing
        )
        == "explicit"
    )


def test_missing_token_lists_every_place(tmp_path: Path) -> None:
    missing = tmp_path / "none.ini"
    with pytest.raises(MissingTokenError) as info:
        find_token("pingdata", None, environment="staging", env={}, ini_path=missing)
    text = str(info.value)
    for name in (
        "PING_DATA_AUTH_TOKEN_STG",
        "PINGDATA_AUTH_TOKEN",
        "SOVFIXER_AUTH_TOKEN_STG",
        "SOVFIXER_AUTH_TOKEN",
        "[pingdata]",
        "[sovfixer]",
        str(missing),
    ):
        assert name in text


def test_unreadable_ini_is_skipped(tmp_path: Path) -> None:
    ini = tmp_path / "p.ini"
    ini.write_bytes(b"\xff\xfe not ini at all [[[")
    with pytest.raises(MissingTokenError):
        find_token("sovfixer", None, environment="prod", env={}, ini_path=ini)


@pytest.mark.parametrize("bad", ["", "   ", "Token ", "abc def", "ab\ncd", "tök"])
def test_blank_or_malformed_token_is_input_error(bad: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_token(bad, "token")
    assert info.value.field == "token"


def test_token_prefix_is_tolerated() -> None:
    assert check_token("Token abc123", "token") == "abc123"


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1))
def test_printable_ascii_tokens_survive(token: str) -> None:
    if token.lower().startswith("token"):
        return
    assert check_token(token, "token") == token


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_has_suffixed_token_variables(environment: str, tmp_path: Path) -> None:
    """One list of environments: the client, the CLI and the token lookup agree on it."""
    suffix = TOKEN_SUFFIXES[environment]
    env = {f"SOVFIXER_AUTH_TOKEN_{suffix}": "suffixed", "SOVFIXER_AUTH_TOKEN": "plain"}
    token, where = lookup_token(
        "sovfixer", None, environment=environment, env=env, ini_path=tmp_path / "none.ini"
    )
    assert (token, where) == ("suffixed", f"environment variable SOVFIXER_AUTH_TOKEN_{suffix}")
    assert ClientConfig(environment=environment.upper()).environment == environment
    args = build_parser().parse_args(["-e", environment, "formats"])
    assert globals_of(args).environment == environment
