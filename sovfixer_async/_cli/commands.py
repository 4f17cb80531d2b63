"""The job commands: update, output, parse, enhance, formats, status, resume.

Each is ``async def command(ctx, args) -> exit status`` built on the public API only.
Errors are raised (the runner turns them into one line and an exit status); a job that
fails is reported by the progress events and gives exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import anyio

from sovfixer_async import (
    BulkEnhanceRun,
    DestinationExistsError,
    InvalidInputError,
    JobFailed,
    JobHandle,
    as_completed,
)
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.enhance import finish_run
from sovfixer_async._cli.parser import UsageError
from sovfixer_async._cli.progress import human_bytes
from sovfixer_async._csv_input import csv_rows
from sovfixer_async._downloads import safe_filename

# -- update CSVs -------------------------------------------------------------------------


def read_update_csvs(paths: list[str]) -> tuple[list[dict[str, str]], list[tuple[str, int]]]:
    """Rows of every corrections CSV, in order, and where each row came from (file, line).

    Several files make one update, as the official SDK's several ``add_locations`` calls.
    """
    rows: list[dict[str, str]] = []
    origins: list[tuple[str, int]] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise InvalidInputError(f"file not found: {name}", field="CSV")
        lines: list[int] = []
        with path.open("rb") as binary:
            rows.extend(csv_rows(binary, name, origins=lines))
        if not lines:
            raise InvalidInputError("no rows below the header", field=name)
        origins.extend((name, line) for line in lines)
    return rows, origins


_ROW_FIELD = re.compile(r"^locations\[(\d+)\](.*)$")


def located(exc: InvalidInputError, origins: list[tuple[str, int]]) -> InvalidInputError:
    """The SDK's ``locations[i].col`` error, renamed to the file and line of row ``i``."""
    match = _ROW_FIELD.match(exc.field or "")
    if match is None or int(match.group(1)) >= len(origins):
        return exc
    name, line = origins[int(match.group(1))]
    text = str(exc)
    prefix = f"{exc.field}: "
    message = text[len(prefix) :] if text.startswith(prefix) else text
    return InvalidInputError(message, field=f"{name} line {line}{match.group(2)}")


# -- waiting and downloading ---------------------------------------------------------------


async def finish(
    ctx: Context,
    handle: JobHandle[Any] | BulkEnhanceRun,
    out: str,
    force: bool,
    *,
    write: bool = True,
) -> int:
    """Wait for a job, download its outputs into ``out``; 1 when the job failed.

    ``write=False`` (``--no-write``): the job's outputs are listed, nothing is saved.
    """
    rep = ctx.reporter
    try:
        await handle.wait()
    except JobFailed:
        rep.delivered.add(handle.id)  # nothing to resume: the failure line came with the event
        return 1
    if not write:
        rep.delivered.add(handle.id)
        fields = status_fields(handle)
        names = [o["filename"] or o["url"] for o in fields.get("outputs", [])]
        rep.result(
            "result",
            f"done {handle.kind} {handle.id}: {len(names)} output(s), not saved (--no-write)",
            kind=handle.kind,
            id=handle.id,
            state=handle.state,
            token=handle.token,
            files=[],
            outputs=fields.get("outputs", []),
        )
        return 0
    paths = await handle.download(out, overwrite=force)
    rep.delivered.add(handle.id)
    files = [{"path": str(f.path), "size": f.size, "sha256": f.sha256} for f in handle.files]
    size = sum(f.size for f in handle.files)
    text = (
        f"done {handle.kind} {handle.id}: {len(paths)} file(s), {human_bytes(size)} in {out}"
        if rep.mode != "quiet"
        else "\n".join(str(p) for p in paths)
    )
    rep.result(
        "result",
        text or None,
        kind=handle.kind,
        id=handle.id,
        state=handle.state,
        token=handle.token,
        files=files,
    )
    return 0


# -- commands ----------------------------------------------------------------------------


async def update(ctx: Context, args: argparse.Namespace) -> int:
    """``update SOVID CSV...``: one update from every CSV's rows, then its outputs."""
    rows, origins = read_update_csvs(args.csv)
    rep = ctx.reporter
    rep.family("update", total=1)
    async with ctx.client() as client, rep.display():
        try:
            job = await client.update_sov(
                args.sovid,
                rows,
                output_formats=args.formats,
                extra_data=dict(args.extra) or None,
                update_type=args.update_type,
                integrations=args.integrations,
                callback_url=args.callback_url,
                client_ref=args.client_ref,
                delegate_to_team=args.delegate_to_team,
            )
        except InvalidInputError as exc:
            raise located(exc, origins) from None
        ctx.outs[job.id] = args.out
        rep.track(job)
        if args.no_wait:
            started(ctx, job, "started")
            return 0
        return await finish(ctx, job, args.out, args.force, write=args.write)


def started(ctx: Context, handle: JobHandle[Any] | BulkEnhanceRun, what: str) -> None:
    """``--no-wait``: the job's id, token and the command that follows it."""
    ctx.reporter.result(
        "started",
        f"{what} {handle.kind} {handle.id}; follow it with: {ctx.hint_for(handle)}",
        kind=handle.kind,
        id=handle.id,
        token=handle.token,
    )
    ctx.reporter.delivered.add(handle.id)
    note = ctx.token_note()
    if note:
        ctx.reporter.warn(note)


async def output(ctx: Context, args: argparse.Namespace) -> int:
    """``output SOVID_OR_SUDID --format F``: get (cached) or create an output, download it."""
    rep = ctx.reporter
    rep.family("output", total=1)
    async with ctx.client() as client, rep.display():
        job = await client.get_or_create_output(
            args.sovid,
            args.format,
            revision=args.revision,
            overwrite_existing=args.overwrite,
            delegate_to_team=args.delegate_to_team,
        )
        ctx.outs[job.id] = args.out
        rep.track(job)
        return await finish(ctx, job, args.out, args.force, write=args.write)


async def parse(ctx: Context, args: argparse.Namespace) -> int:
    """``parse FILE...``: one parse job per file, all submitted and awaited at once."""
    for name in args.files:
        if not Path(name).is_file():
            raise InvalidInputError(f"file not found: {name}", field="FILE")
    rep = ctx.reporter
    rep.family("parse", total=len(args.files))
    jobs: list[JobHandle[Any]] = []
    async with ctx.client() as client, rep.display():
        await client.list_output_formats()  # one fetch, shared by every submission's check

        async def submit(name: str) -> None:
            job = await client.parse_sov(
                name,
                document_type=args.document_type,
                output_formats=args.formats,
                integrations=args.integrations,
                extra_data=dict(args.extra) or None,
                callback_url=args.callback_url,
                update_callback_url=args.update_callback_url,
                client_ref=args.client_ref,
                workflow=args.workflow,
                allow_ping_data_api=None if args.allow_ping_data_api else False,
                delegate_to_team=args.delegate_to_team,
            )
            jobs.append(job)
            ctx.outs[job.id] = job_folder(args.out, job.id)
            rep.track(job)

        async with anyio.create_task_group() as tg:
            for name in args.files:
                tg.start_soon(submit, name)
        if args.no_wait:
            for job in jobs:
                started(ctx, job, "submitted")
            return 0
        return await finish_all(ctx, jobs, args.out, args.force, write=args.write)


async def finish_all(
    ctx: Context, jobs: list[JobHandle[Any]], out: str, force: bool, *, write: bool = True
) -> int:
    """Wait for many jobs, downloading each as it completes; 1 when any failed."""
    status = 0
    async with anyio.create_task_group() as tg:
        async for job in as_completed(jobs):
            if not job.done:
                await job.wait()  # raises at once how its wait ended
            if job.status is not None and job.status.failure is not None:
                status = 1
                continue

            async def fetch(job: JobHandle[Any]) -> None:
                await finish(ctx, job, job_folder(out, job.id), force, write=write)

            tg.start_soon(fetch, job)
    return status


def job_folder(out: str, job_id: str) -> str:
    """``out``'s subfolder for a job: the server's id made a safe name, never a path."""
    digest = hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    name = safe_filename(job_id, fallback=f"job-{digest}")
    if name != job_id:  # two ids that clean to one name must not share a folder
        name = f"{name}-{digest}"
    return str(Path(out) / name)


async def formats(ctx: Context, args: argparse.Namespace) -> int:
    """``formats``: the output formats the account may request."""
    async with ctx.client(progress=False) as client:
        found = await client.list_output_formats(
            sovid=args.sovid, division_uuid=args.division_uuid, team_uuid=args.team_uuid
        )
    rep = ctx.reporter
    if rep.mode != "json":
        rep.result("formats", f"{'FORMAT':<24} {'EXT':<6} LABEL")
    for f in found:
        rep.result(
            "format",
            f"{f.output_format:<24} {f.output_extension or '':<6} {f.label or ''}".rstrip(),
            output_format=f.output_format,
            label=f.label,
            output_extension=f.output_extension,
            is_public=f.is_public,
        )
    return 0


#: The resume token version written for a plain id (``--kind``), and each kind's API.
TOKEN_VERSION = 2
KIND_API = {"update": "extraction", "parse": "extraction", "output": "extraction"}


def resume_token(text: str, command: str, kind: str | None = None) -> str:
    """The token argument; with ``kind``, the token of the plain id ``text``.

    Without ``kind`` a bare id is a usage error: output requests and bulk batches both have
    UUID ids, so the id alone does not say what to poll.
    """
    is_token = text.lstrip().startswith("{")
    if kind is not None:
        if is_token:
            raise UsageError(f"{command}: --kind goes with a plain job id, not a resume token")
        data = {"v": TOKEN_VERSION, "kind": kind, "id": text, "api": KIND_API.get(kind, "data")}
        return json.dumps(data, separators=(",", ":"))
    if is_token:
        return text
    raise UsageError(
        f"{command} takes a resume token, or a plain id with --kind "
        f"update|parse|output|bulk_enhance (got {text!r} without --kind): output requests and "
        "bulk batches both have UUID ids. The token is printed when a job is submitted "
        '(the "token" field of --json output, or the hint printed on Ctrl-C)'
    )


async def status(ctx: Context, args: argparse.Namespace) -> int:
    """``status TOKEN``: fetch a job's status once and print it."""
    token = resume_token(args.resume_token, "status", args.kind)
    async with ctx.client(progress=False) as client:
        handle = client.resume(token)
        await handle.refresh()
    ctx.reporter.result("status", describe_status(handle), **status_fields(handle))
    return 0


def status_fields(handle: JobHandle[Any] | BulkEnhanceRun) -> dict[str, Any]:
    """The machine-readable status of a handle (``--json``)."""
    fields: dict[str, Any] = {
        "kind": handle.kind,
        "id": handle.id,
        "state": handle.state,
        "token": handle.token,
    }
    if isinstance(handle, BulkEnhanceRun):
        run = handle.status
        if run is not None:
            fields.update(
                done=run.done,
                progress=run.progress,
                locations=run.num_requested,
                completed=run.num_completed,
                problems=run.num_problems,
                failed_batches=run.num_failed_batches,
                batches=len(handle.batches),
            )
        return fields
    job = handle.status
    if job is not None:
        failure = job.failure
        fields.update(
            done=job.done,
            progress=job.progress,
            result_status=failure[0] if failure else None,
            message=failure[1] if failure else None,
            outputs=[{"filename": o.filename, "url": o.url} for o in job.outputs],
        )
    return fields


def describe_status(handle: JobHandle[Any] | BulkEnhanceRun) -> str:
    """One line: ``update <id>: IN_PROGRESS 40%`` or ``...: FAILED (CODE): message``."""
    fields = status_fields(handle)
    text = f"{handle.kind} {handle.id}: {fields['state'] or 'unknown'}"
    if fields.get("progress") is not None and not fields.get("done"):
        text += f" {fields['progress']:.0%}"
    if "locations" in fields:
        text += (
            f", {fields['completed']:,}/{fields['locations']:,} locations, "
            f"{fields['problems']:,} problems, {fields['failed_batches']} failed batches"
        )
    if fields.get("result_status") or fields.get("message"):
        text += f" ({fields.get('result_status')}): {fields.get('message') or 'no message'}"
    names = [o["filename"] or o["url"] for o in fields.get("outputs", [])]
    if names:
        text += ", outputs: " + ", ".join(names)
    return text


async def resume(ctx: Context, args: argparse.Namespace) -> int:
    """``resume TOKEN``: wait for the job again and download its outputs.

    A bulk run with ``--out FILE.jsonl`` writes its merged results there, as ``enhance``
    does; with a folder, the merged file and each batch's raw file go in it.
    """
    token = resume_token(args.resume_token, "resume", args.kind)
    rep = ctx.reporter
    merged_to = Path(args.out) if args.out.lower().endswith(MERGED_SUFFIXES) else None
    async with ctx.client() as client, rep.display():
        handle: JobHandle[Any] | BulkEnhanceRun = client.resume(token)
        ctx.outs[handle.id] = args.out
        rep.family(_family_name(handle.kind), total=1)
        rep.track(handle)
        if isinstance(handle, BulkEnhanceRun) and merged_to is not None:
            if merged_to.exists() and not args.force:
                raise DestinationExistsError(str(merged_to), job_id=handle.id)
            return await finish_run(ctx, handle, merged_to)
        return await finish(ctx, handle, args.out, args.force)


#: ``resume --out`` names that take a bulk run's merged results (a file, not a folder).
MERGED_SUFFIXES = (".jsonl", ".ndjson")


def _family_name(kind: str) -> str:
    return "enhance" if kind.startswith("bulk") else kind
