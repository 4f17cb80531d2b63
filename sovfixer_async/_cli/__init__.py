"""The ``sovfixer-async`` command: SOVFixer and Ping.Data jobs from a shell.

``main(argv)`` parses the arguments, runs one command in an event loop and turns what
happened into an exit status: 0 ok, 1 a job or request failed, 2 usage or input error,
130 interrupted (Ctrl-C; the resume tokens of jobs still running are printed on stderr).
It uses the public API of :mod:`sovfixer_async` only.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence

import anyio

from sovfixer_async import (
    ConfigurationError,
    DestinationExistsError,
    InvalidInputError,
    JobTimeout,
    MissingTokenError,
    SOVFixerError,
)
from sovfixer_async._cli import account, commands, enhance, info, ledger_commands
from sovfixer_async._cli.commands import job_folder
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.parser import (
    DELEGATING_COMMANDS,
    PROG,
    UsageError,
    build_emulator_parser,
    build_parser,
    find_command,
    globals_of,
    glue_dash_values,
)
from sovfixer_async._cli.progress import Reporter, choose_mode

__all__ = ["main"]

Command = Callable[..., Awaitable[int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sovfixer-async`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    index = find_command(words)
    if index is not None and words[index] == "emulator":
        # The emulator's flags (its --token is the token it accepts), then its own main.
        from sovfixer_async.emulator import main as emulator_main
        from sovfixer_async.emulator import settings_from_args

        emulator_parser = build_emulator_parser()
        try:
            settings_from_args(emulator_parser.parse_args(words[index + 1 :]))
        except ValueError as exc:
            emulator_parser.error(str(exc))
        return emulator_main(words[index + 1 :])
    parser = build_parser()
    args = parser.parse_args(glue_dash_values(words))
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "delegate_to", None) is not None and args.command not in DELEGATING_COMMANDS:
        parser.error(
            f"-D/--delegate-to (an organisation) goes with the Ping.Data commands "
            f"({', '.join(sorted(DELEGATING_COMMANDS))}); {args.command} acts for a team with "
            "-D/--delegate-to-team after the command, where it takes one"
        )
    return _run(args)


async def _demo(ctx: Context, args: argparse.Namespace) -> int:
    from sovfixer_async._cli.demo import demo  # the emulator is loaded for the demo only

    return await demo(ctx, args)


def _run(args: argparse.Namespace) -> int:
    table: dict[str, Command] = {
        "demo": _demo,
        "update": commands.update,
        "output": commands.output,
        "parse": commands.parse,
        "enhance": enhance.enhance,
        "formats": commands.formats,
        "status": commands.status,
        "resume": commands.resume,
        "history": info.history,
        "activity": info.activity,
        "usage": info.usage,
        "datasources": info.datasources,
        "serverinfo": account.serverinfo,
        "limits": account.limits,
        "building": account.building,
        "ledger": ledger_commands.ledger,
        "worker": ledger_commands.worker,
    }
    options = globals_of(args)
    _logging(options.verbose)
    mode = choose_mode(json_output=options.json, quiet=options.quiet, stream=sys.stdout)
    reporter = Reporter(mode, per_job=args.command != "demo")
    ctx = Context(options, reporter)
    try:
        return anyio.run(_supervised, table[args.command], ctx, args, backend="asyncio")
    except KeyboardInterrupt:  # a signal the watcher could not take (e.g. on Windows)
        return _interrupted(ctx, signal.SIGINT)
    except BrokenPipeError:  # stdout closed where the reporter does not write
        reporter.closed = True
        return _pipe_closed(ctx)


def _logging(verbose: int) -> None:
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )


async def _supervised(command: Command, ctx: Context, args: argparse.Namespace) -> int:
    """Run ``command``; SIGINT/SIGTERM cancel it cleanly; errors become an exit status."""
    scope = anyio.CancelScope()
    received: list[signal.Signals] = []
    error: BaseException | None = None
    code = 1

    async def watch() -> None:
        try:
            receiver = anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
        except NotImplementedError:  # pragma: no cover - Windows: KeyboardInterrupt instead
            return
        with receiver as signals:
            async for signum in signals:
                if not received:
                    received.append(signal.Signals(signum))
                    scope.cancel()

    ctx.reporter.on_closed = scope.cancel
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        with scope:
            try:
                code = await command(ctx, args)
            except Exception as exc:  # reported below, once the watcher is stopped
                error = exc
        tg.cancel_scope.cancel()
    if received:
        return _interrupted(ctx, received[0])
    if ctx.reporter.closed:
        return _pipe_closed(ctx)
    if error is not None:
        return _failed(ctx, error)
    return code


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message (lines joined) and its notes."""
    if isinstance(exc, MissingTokenError):
        if exc.product == "sovfixer":
            where = "pass --token, set SOVFIXER_AUTH_TOKEN (or SOVFIXER_AUTH_TOKEN_STG, _DEV"
            section = "[sovfixer]"
        else:
            where = "pass --data-token or --token, set PING_DATA_AUTH_TOKEN (or its _STG, _DEV"
            section = "[pingdata]"
        return (
            f"no {exc.product} API token found: {where}... for -e staging, dev...) or add it "
            f"to ~/.pingintel.ini {section} (-v lists every place looked at)"
        )
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if not text:
        text = type(exc).__name__
    if not isinstance(exc, SOVFixerError | UsageError | OSError):
        text = f"{type(exc).__name__}: {text}"
    notes = getattr(exc, "__notes__", None) or []
    return "; ".join([text, *(str(n) for n in notes)])


def _failed(ctx: Context, error: BaseException) -> int:
    """Report ``error`` as one line on stderr (a traceback with -v); the exit status."""
    leaves = _leaves(error)
    first = next((e for e in leaves if not isinstance(e, anyio.get_cancelled_exc_class())), error)
    usage = isinstance(
        first, UsageError | InvalidInputError | ConfigurationError | DestinationExistsError
    )
    code = 2 if usage else 1
    line = one_line(first)
    if isinstance(first, DestinationExistsError):
        line = f"{first.path} exists; pass --force to replace it"
        held = ctx.reporter.handles.get(first.job_id or "")
        if held is not None and held.id not in ctx.reporter.delivered:
            # The job ran (and was paid for): hand it over, into a folder of its own.
            ctx.outs[held.id] = job_folder(ctx.outs.get(held.id, "."), held.id)
            line += f"; {held.kind} {held.id} is done on the server, nothing was saved"
    if isinstance(first, JobTimeout):
        line = (
            f"{first.kind} job {first.job_id} not done after {first.waited:.0f} s "
            f"(last state: {first.last_state or 'unknown'}); it keeps running on the server"
        )
    if ctx.options.verbose:
        traceback.print_exception(error, file=sys.stderr)
    elif not isinstance(first, SOVFixerError | UsageError | OSError):
        line += " (run with -v for the traceback)"
    ctx.reporter.emit("error", None, type=type(first).__name__, message=line, exit=code)
    ctx.reporter.warn(f"{PROG}: error: {line}")
    _still_running(ctx, first)
    return code


def _still_running(ctx: Context, error: BaseException | None = None) -> list[str]:
    """Print a resume hint (stderr) for every job not delivered yet; their tokens.

    That is every tracked handle whose outputs were not saved (running, or done but not
    downloaded), the handle an error carries (``error.handle``), and every job the server
    created before its handle was ready (its ``JobSubmitted`` event has the token).
    """
    rep = ctx.reporter
    handles = rep.unfinished()
    carried = getattr(error, "handle", None)
    if (
        carried is not None
        and isinstance(getattr(carried, "token", None), str)
        and all(h.id != carried.id for h in handles)
        and carried.id not in rep.delivered
    ):
        handles.append(carried)
    hints = [(h.token, ctx.hint_for(h)) for h in handles]
    hints += [
        (token, ctx.resume_hint(token))
        for job_id, token in rep.orphan_tokens.items()
        if job_id not in rep.handles
    ]
    if hints:
        rep.warn(f"{PROG}: {len(hints)} job(s) not finished here; resume with:")
        for _, hint in hints:
            rep.warn(hint)
        note = ctx.token_note()
        if note:
            rep.warn(note)
    for job_id, kind in rep.orphans.items():
        if job_id not in rep.orphan_tokens:
            rep.warn(
                f"{PROG}: {kind} job {job_id} was created on the server before its handle "
                "was ready; check it there"
            )
    return [token for token, _ in hints]


def _pipe_closed(ctx: Context) -> int:
    """stdout's reader left (``--json | head``): no traceback; hints on stderr if needed.

    The exit status is 141 (128 + SIGPIPE), what a shell reports for a program a closed
    pipe stops.
    """
    _still_running(ctx)
    return 128 + 13


def _interrupted(ctx: Context, signum: signal.Signals) -> int:
    """Report an interruption: the resume hints, exit status 128 + the signal number."""
    if ctx.interrupt_quietly and not ctx.reporter.unfinished():
        if ctx.continue_hint:
            ctx.reporter.warn(f"{PROG}: continue with: {ctx.continue_hint}")
        return 0
    ctx.reporter.warn(f"{PROG}: interrupted ({signum.name})")
    tokens = _still_running(ctx)
    ctx.reporter.emit(
        "interrupted",
        None,
        signal=signum.name,
        tokens=tokens,
        orphans=[{"kind": k, "id": i} for i, k in ctx.reporter.orphans.items()],
    )
    return 128 + int(signum)
