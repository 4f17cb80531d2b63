"""Ping.Extraction (SOV Fixer) routes: parse, updates, outputs (contract 3.1-3.10).

The feeds (history, activity) are in :mod:`extraction_feeds`, the odds and ends (3.14) in
:mod:`extraction_misc`. Uploads are read off the event loop (:mod:`uploads`). Handlers
validate, then hand over to :mod:`jobs` (state changes) and :mod:`views` (response bodies).
Each begins with :func:`jobs.advance`, so what it reports reflects every job that has ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from aiohttp import web

from sovfixer_async.emulator import catalog, jobs, views
from sovfixer_async.emulator.bodies import read_body
from sovfixer_async.emulator.callbacks import CALLBACKS
from sovfixer_async.emulator.delegation import accept
from sovfixer_async.emulator.downloads import serve_blob
from sovfixer_async.emulator.prepared import read_ahead
from sovfixer_async.emulator.protocol import (
    BadRequest,
    Body,
    JSONDict,
    NotFound,
    error_response,
    origin_of,
    parse_int,
)
from sovfixer_async.emulator.state import STATE, Blob, EmulatorState, Revision, Sov, UpdateJob
from sovfixer_async.emulator.stats import STATS
from sovfixer_async.emulator.uploads import parse_csvs, read_workbooks, release_workbooks

routes = web.RouteTableDef()


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def created(body: JSONDict) -> web.Response:
    return web.json_response(body, status=201)


# --- validation shared with data.py ------------------------------------------------------


def check_formats(state: EmulatorState, names: Sequence[object], field: str) -> list[str]:
    """Canonical names of the requested formats; 400 listing the allowed ones otherwise."""
    canonical: list[str] = []
    for name in names:
        info = state.format_info(str(name)) if isinstance(name, str) else None
        if info is None:
            raise format_error(state, name, field)
        canonical.append(str(info["output_format"]))
    return canonical


def format_error(state: EmulatorState, name: object, field: str) -> BadRequest:
    allowed = [str(f["output_format"]) for f in state.allowed_formats()]
    return BadRequest(
        f"Output format {name!r} is not enabled for your organization. "
        f"Allowed output formats: {', '.join(allowed)}",
        field,
        allowed_output_formats=allowed,
    )


def check_sources(values: Sequence[object], field: str) -> list[str]:
    """Datasource codes, canonical upper case; 400 naming the unknown ones."""
    known = set(catalog.SOURCE_CODES)
    codes = [str(v).strip().upper() for v in values]
    unknown = [
        str(v)
        for v, c in zip(values, codes, strict=True)
        if not isinstance(v, str) or c not in known
    ]
    if unknown:
        raise BadRequest(f"Unknown datasource code(s): {', '.join(unknown)}.", field)
    return codes


# --- 3.1 / 3.2 / 3.3 parse ---------------------------------------------------------------


@routes.post("/api/v1/sov", name="sov_create")
async def create_sov(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    uploads = [f for f in body.files if f.name == "file"]
    if not uploads:
        raise BadRequest("A file is required.", "file")
    for upload in uploads:
        ext = PurePath(upload.filename).suffix.lower()
        if ext not in jobs.UPLOAD_EXTENSIONS:
            raise BadRequest(
                f"Unsupported file type {ext or upload.filename!r}: send "
                f"{', '.join(sorted(jobs.UPLOAD_EXTENSIONS))}.",
                "file",
            )
    document_type = (body.get_str("document_type") or "SOV").upper()
    if document_type not in catalog.DOCUMENT_TYPES:
        raise BadRequest(f"Unknown document_type {document_type!r}.", "document_type")
    formats = check_formats(state, body.get_list("output_formats") or ["JSON"], "output_formats")
    integrations = check_sources(body.get_list("integrations") or [], "integrations")
    # Accepted and type-checked, without effect in the emulator.
    body.get_bool("allow_ping_data_api", True)
    body.get_bool("skip_prior_update_reuse", False)
    files = [(u.filename, u.data) for u in uploads]
    workbooks = await read_workbooks(files)  # off the loop; the job code finds them read
    jobs.advance(state)
    with read_ahead(workbooks):
        sov = _create_parse(request, state, body, files, document_type, formats, integrations)
    await release_workbooks(workbooks)
    request.app[STATS].jobs_created["parse"] += 1
    request.app[CALLBACKS].watch(sov.parse)
    return created({"id": sov.id, "message": "OK"})


def _create_parse(
    request: web.Request,
    state: EmulatorState,
    body: Body,
    files: list[tuple[str, bytes]],
    document_type: str,
    formats: list[str],
    integrations: list[str],
) -> Sov:
    return jobs.create_parse(
        state,
        uploads=files,
        origin=origin_of(request),
        document_type=document_type,
        output_formats=formats,
        integrations=integrations,
        callback_url=body.get_str("callback_url"),
        update_callback_url=body.get_str("update_callback_url"),
        client_ref=body.get_str("client_ref"),
        extra_data=body.with_prefix("extra_data_"),
    )


def _sov(state: EmulatorState, sovid: str) -> Sov:
    sov = state.sovs.get(sovid)
    if sov is None:
        raise NotFound("SOV", sovid)
    return sov


@routes.get("/api/v1/sov/get_or_create_output/{id}", name="output_status")
async def output_request_status(request: web.Request) -> web.Response:
    state = _state(request)
    now = jobs.advance(state)
    ident = request.match_info["id"]
    job = state.output_jobs.get(ident)
    if job is None:
        raise NotFound("Output request", ident)
    return web.json_response(views.output_status(job, now, origin_of(request)))


@routes.get("/api/v1/sov/{id}", name="sov_status")
async def sov_status(request: web.Request) -> web.Response:
    state = _state(request)
    now = jobs.advance(state)
    sov = _sov(state, request.match_info["id"])
    return web.json_response(views.parse_status(state, sov, now, origin_of(request)))


@routes.get("/api/v1/sov/{id}/output/{filename}", name="sov_output")
async def sov_output(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    jobs.advance(state)
    ident, filename = request.match_info["id"], request.match_info["filename"]
    found = state.files.get((ident, filename))
    if found is None:
        raise NotFound("Output file", f"{ident}/{filename}")
    revision, fmt = found
    blob = await jobs.blob_for(state, revision, fmt)
    return await serve_blob(request, blob, filename, ranges=not state.settings.no_range)


@routes.get("/api/v1/sov/{id}/input/{filename}", name="sov_input")
async def sov_input(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    sov = _sov(state, request.match_info["id"])
    filename = request.match_info["filename"]
    for item in sov.inputs:
        if item.filename == filename:
            blob = Blob.of(item.data, filename)
            return await serve_blob(request, blob, filename, ranges=not state.settings.no_range)
    raise NotFound("Input file", f"{sov.id}/{filename}")


# --- 3.4 - 3.7 updates -------------------------------------------------------------------


@routes.post("/api/v1/sov/{sovid}/initiate_update", name="initiate_update")
async def initiate_update(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    jobs.advance(state)
    sov = _sov(state, request.match_info["sovid"])
    update_type = (body.get_str("update_type") or "API").upper()
    if update_type not in catalog.UPDATE_TYPES:
        raise BadRequest(
            f"Unknown update_type {update_type!r}; use one of {', '.join(catalog.UPDATE_TYPES)}.",
            "update_type",
        )
    if sov.latest() is None:
        raise BadRequest(f"SOV {sov.id} has not been parsed successfully (yet).", "sovid")
    job = jobs.open_update(
        state,
        sov,
        origin=origin_of(request),
        update_type=update_type,
        callback_url=body.get_str("callback_url"),
        client_ref=body.get_str("client_ref"),
    )
    request.app[STATS].jobs_created["update"] += 1
    return created({"message": "OK", "id": job.id})


def _open_update(state: EmulatorState, ident: str) -> UpdateJob:
    job = state.update(ident)
    if job is None:
        raise NotFound("SOV update", ident)
    return job


@routes.post("/api/v1/sov/update/{id}/add_locations", name="add_locations")
async def add_locations(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    job = _open_update(state, request.match_info["id"])
    if job.started is not None:
        raise BadRequest(f"Update {job.id} has already been started.", "id")
    files = [f for f in body.files if f.name == "file"]
    if not files:
        raise BadRequest("A CSV file is required.", "file")
    batches = await parse_csvs([f.data for f in files], jobs.parse_locations_csv)
    if job.started is not None:  # started while the files were read
        raise BadRequest(f"Update {job.id} has already been started.", "id")
    job.batches.extend(batches)
    count = sum(len(b) for b in batches)
    request.app[STATS].locations_submitted += count
    return web.json_response({"message": f"Added {count} location(s) to {job.id}."})


@routes.post("/api/v1/sov/update/{id}/start", name="update_start")
async def update_start(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    job = _open_update(state, request.match_info["id"])
    if job.started is not None:
        return error_response(409, f"Update {job.id} has already been started.")
    extra_data = body.get_object("extra_data") or {}
    for name in ("policy_terms", "metadata"):  # accepted and type-checked, without effect
        body.get_object(name)
    formats = check_formats(state, body.get_list("output_formats") or ["JSON"], "output_formats")
    integrations = check_sources(body.get_list("integrations") or [], "integrations")
    if job.num_rows == 0:
        raise BadRequest(f"No locations were added to {job.id}: call add_locations first.", "id")
    jobs.advance(state)
    jobs.start_update(
        state, job, extra_data=extra_data, output_formats=formats, integrations=integrations
    )
    request.app[CALLBACKS].watch(job)
    return created({"message": "OK"})


@routes.get("/api/v1/sov/update/{id}", name="update_status")
async def update_status(request: web.Request) -> web.Response:
    state = _state(request)
    now = jobs.advance(state)
    job = _open_update(state, request.match_info["id"])
    return web.json_response(views.update_status(state, job, now, origin_of(request)))


# --- 3.8 - 3.10 outputs ------------------------------------------------------------------


@routes.post("/api/v1/sov/{id}/get_or_create_output", name="get_or_create_output")
async def get_or_create_output(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    now = jobs.advance(state)
    ident = request.match_info["id"]
    update = state.update(ident)
    sov = state.sovs.get(update.sovid if update else ident)
    if sov is None:
        raise NotFound("SOV", ident)
    name = body.get("output_format")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise BadRequest("output_format is required.", "output_format")
    info = state.format_info(name) if isinstance(name, str) else None
    if info is None:
        raise format_error(state, name, "output_format")
    revision = _revision(sov, update.revision if update else None, body)
    overwrite = body.get_bool("overwrite_existing", False)
    job, cached = jobs.request_output(
        state, revision, info, origin=origin_of(request), overwrite=overwrite
    )
    stats = request.app[STATS]
    if cached:
        stats.outputs_cached += 1
    else:
        stats.jobs_created["output"] += 1
    return created(views.output_status(job, now, origin_of(request)))


def _revision(sov: Sov, sud_revision: int | None, body: Body) -> Revision:
    """The completed revision a get_or_create_output names (400 if it is not complete)."""
    if sud_revision is not None:
        number = sud_revision
    else:
        number = parse_int(body.get("revision", -1), "revision")
        if number == -1:
            latest = sov.latest()
            if latest is None:
                raise BadRequest(f"SOV {sov.id} has no completed revision.", "revision")
            return latest
    revision = sov.revisions.get(number)
    if revision is None:
        raise BadRequest(f"Revision {number} of {sov.id} is not a completed revision.", "revision")
    return revision


@routes.get("/api/v1/output_formats", name="output_formats")
async def output_formats(request: web.Request) -> web.Response:
    state = _state(request)
    sovid = request.query.get("sovid")
    if sovid:
        _sov(state, sovid)
    return web.json_response({"output_formats": state.allowed_formats()})


def add_routes(app: web.Application) -> None:
    """Register the Ping.Extraction routes."""
    app.router.add_routes(routes)
