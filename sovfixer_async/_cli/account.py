"""``serverinfo``, ``limits`` and ``building get|add``: one call each, the answer printed.

What the server sends is untrusted: text output passes every value through
:func:`printable` (control characters escaped, long values cut); ``--json`` writes it as
data. A building given on the command line is a JSON object read with a size cap.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import anyio

from sovfixer_async import InvalidInputError
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.info import as_data
from sovfixer_async._cli.text import printable
from sovfixer_async.models import SourceAccessPolicy

#: Largest building JSON read from a file or stdin.
MAX_BUILDING_BYTES = 1 << 20


def _pairs(fields: dict[str, Any]) -> list[str]:
    return [f"  {printable(k, 60)}: {printable(v)}" for k, v in fields.items() if v is not None]


async def serverinfo(ctx: Context, args: argparse.Namespace) -> int:
    """``serverinfo``: ``GET /api/v1/serverinfo``."""
    async with ctx.client(progress=False) as client:
        info = await client.server_info()
    known = {"server": info.server, "version": info.version, "time": info.time}
    text = "\n".join(["server info:", *_pairs({**known, **info.extra})])
    ctx.reporter.result("serverinfo", text, **as_data(info))
    return 0


def describe_limits(policy: SourceAccessPolicy) -> str:
    """The policy in a few lines: whose, the allowlist, then each capped source's windows."""
    allow = policy.allowlist
    lines = [f"limits of {printable(policy.scope or '-')} {printable(policy.subject or '-')}:"]
    if allow.restricted:
        listed = ", ".join(printable(s, 20) for s in allow.sources) or "none"
        level = printable(allow.source or "-")
        lines.append(f"  allowed sources: {listed} (restricted by {level})")
    else:
        lines.append("  allowed sources: all (unrestricted)")
    if not policy.sources:
        lines.append("  no source has a quota")
    for code, quota in sorted(policy.sources.items()):
        windows = [
            f"{printable(w, 20)} {quota.usage.get(w, 0):,}/{limit:,} used, "
            f"{quota.remaining.get(w, 0):,} left"
            for w, limit in sorted(quota.limits.items())
        ]
        lines.append(f"  {printable(code, 20)}: {'; '.join(windows) or 'no window'}")
    return "\n".join(lines)


async def limits(ctx: Context, args: argparse.Namespace) -> int:
    """``limits [--username U | --org-short-name O]``: ``GET /api/v1/limits``."""
    async with ctx.client(progress=False) as client:
        policy = await client.limits(
            args.username,
            args.org_short_name,
            delegate_to=getattr(args, "delegate_to", None),
        )
    ctx.reporter.result("limits", describe_limits(policy), **as_data(policy))
    return 0


async def building(ctx: Context, args: argparse.Namespace) -> int:
    """``building get ITEM_KEY`` or ``building add SOVID FILE_OR_JSON``."""
    if args.building_action == "add":
        data = await anyio.to_thread.run_sync(read_building, args.building)
        async with ctx.client(progress=False) as client:
            added = await client.add_building(args.sovid, data)
        text = f"added building {printable(added.item_key or '?')} to SOV {printable(args.sovid)}"
        ctx.reporter.result("building_added", text, sovid=args.sovid, **as_data(added))
        return 0
    async with ctx.client(progress=False) as client:
        found = await client.get_building(args.item_key)
    known = {"sheet_name": found.sheet_name, "sheet_row_number": found.sheet_row_number}
    lines = [f"building {printable(found.item_key or args.item_key)}:"]
    lines += _pairs({**known, **found.extra})
    ctx.reporter.result("building", "\n".join(lines), **as_data(found))
    return 0


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_building(given: str) -> dict[str, Any]:
    """The building argument: inline JSON (it starts with ``{``), ``-`` (stdin) or a file."""
    field = "FILE_OR_JSON"
    if given.lstrip().startswith("{"):
        raw = given.encode("utf-8", "surrogatepass")
    elif given == "-":
        raw = sys.stdin.buffer.read(MAX_BUILDING_BYTES + 1)
    else:
        path = Path(given)
        if not path.is_file():
            raise InvalidInputError(f"file not found: {given}", field=field)
        with path.open("rb") as handle:
            raw = handle.read(MAX_BUILDING_BYTES + 1)
    if len(raw) > MAX_BUILDING_BYTES:
        raise InvalidInputError(f"more than {MAX_BUILDING_BYTES:,} bytes", field=field)
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"not UTF-8 text (byte {exc.start})", field=field) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"not JSON: {printable(str(exc))}", field=field) from None
    if not isinstance(data, dict):
        raise InvalidInputError("expected a JSON object of building attributes", field=field)
    return data
