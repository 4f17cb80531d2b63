"""``sovfixer-async demo``: a realistic mixed workload against an in-process emulator.

Everything runs at once over one client: SOV updates from correction CSVs (one of them
deliberately naming a row that does not exist, to show a failed job), output requests in two
formats (one cached, one regenerated with ``overwrite_existing``), a parse of a generated
workbook, and a bulk enhance of thousands of locations in batches. Files land under
``--out`` (default ``./sovfixer-demo``), which is replaced on every run.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import time
from pathlib import Path
from typing import Any

import anyio
from attrs import define, field

from sovfixer_async import (
    BulkEnhanceRun,
    Client,
    InvalidInputError,
    JobFailed,
    OutputJob,
    UpdateJob,
    as_completed,
)
from sovfixer_async._cli.context import Context
from sovfixer_async._cli.progress import Reporter, human_bytes
from sovfixer_async._downloads import copy_atomic
from sovfixer_async.emulator import run_emulator
from sovfixer_async.emulator.outputs import make_xlsx

#: The SOV the emulator ships already parsed (the docs' example), with Sheet1 rows 2..26.
DEMO_SOVID = "s-no-ping-hggcsk"
DEMO_TOKEN = "demo-token"
#: Marks a folder as the demo's own, so a re-run may replace it.
MARKER = ".sovfixer-demo"
SOURCES = ["PG", "PH"]
BATCH_SIZE = 1000
#: The row the last update names on purpose: no such building, so that update fails.
MISSING_ROW = 99

STREETS = ["Main St", "Ocean Dr", "Elm St", "Bay Rd", "Harbor Blvd", "Palm Ave", "Pine St"]
CITIES = [
    ("Miami", "FL", "33101"),
    ("Tampa", "FL", "33602"),
    ("Houston", "TX", "77002"),
    ("New Orleans", "LA", "70112"),
    ("Charleston", "SC", "29401"),
    ("Los Angeles", "CA", "90012"),
    ("Boston", "MA", "02108"),
]


def corrections_csv(number: int, rows: list[int]) -> bytes:
    """A corrections CSV naming ``Sheet1`` rows (the shape of the SDK's example file)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "sheet_name",
            "sheet_row_number",
            "bldg_name",
            "const__num_stories",
            "limits__building_limit",
        ]
    )
    for row in rows:
        writer.writerow(
            ["Sheet1", row, f"Building {row} (update {number})", 1 + row % 9, 250_000 * row]
        )
    return out.getvalue().encode()


def locations_csv(count: int) -> bytes:
    """``count`` synthetic locations: ``id,address,country``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "address", "country"])
    for i in range(count):
        city, state, zipcode = CITIES[i % len(CITIES)]
        street = STREETS[(i // len(CITIES)) % len(STREETS)]
        writer.writerow(
            [f"loc-{i + 1:06d}", f"{100 + i} {street}, {city}, {state} {zipcode}", "US"]
        )
    return out.getvalue().encode()


def workbook() -> bytes:
    """A small SOV workbook (.xlsx) for the parse job."""
    header = ["Location Name", "Street", "City", "State", "Zip", "Building Value", "Year Built"]
    rows: list[list[Any]] = []
    for i in range(12):
        city, state, zipcode = CITIES[i % len(CITIES)]
        rows.append(
            [
                f"Store {i + 1}",
                f"{10 + i} {STREETS[i % len(STREETS)]}",
                city,
                state,
                zipcode,
                1_000_000 + 50_000 * i,
                1960 + 3 * i,
            ]
        )
    return make_xlsx("Sheet1", header, rows)


def prepare_out(out: Path) -> None:
    """Replace the demo folder of an earlier run; refuse to touch any other folder."""
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists()):
            raise InvalidInputError(
                f"{out} exists and is not a folder this demo made; choose another --out",
                field="--out",
            )
        shutil.rmtree(out)
    (out / "inputs").mkdir(parents=True)
    (out / MARKER).write_text("made by sovfixer-async demo; replaced on every run\n")


@define
class Tally:
    """What the demo saved, per family (for the summary table)."""

    files: dict[str, list[Path]] = field(factory=dict)
    unexpected: list[str] = field(factory=list)
    locations: int = 0
    problems: int = 0

    def saved(self, family: str, paths: list[Path]) -> None:
        self.files.setdefault(family, []).extend(paths)


async def demo(ctx: Context, args: argparse.Namespace) -> int:
    """Run the mixed workload; print live progress and a summary table."""
    out = Path(args.out)
    prepare_out(out)
    inputs = out / "inputs"
    updates = args.updates
    # Sheet1 rows 2..26 shared out among the updates; the last one also names a missing row.
    row_sets = [list(range(2 + i, 27, updates)) for i in range(updates)]
    csv_paths = []
    for number, rows in enumerate(row_sets, start=1):
        path = inputs / f"corrections-{number}.csv"
        path.write_bytes(
            corrections_csv(number, rows + ([MISSING_ROW] if number == updates else []))
        )
        csv_paths.append(path)
    (inputs / "demo-sov.xlsx").write_bytes(workbook())
    (inputs / "locations.csv").write_bytes(locations_csv(args.locations))

    rep = ctx.reporter
    rep.family("update", total=updates)
    rep.family("output", total=2 + 2 * (updates - 1))
    rep.family("parse", total=1)
    rep.family("enhance", total=-(-args.locations // BATCH_SIZE), locations=args.locations)
    tally = Tally()
    started = time.monotonic()
    async with run_emulator(job_seconds=args.job_seconds, token=DEMO_TOKEN, seed=1) as emu:
        batches = -(-args.locations // BATCH_SIZE)
        rep.emit(
            "demo",
            f"demo: emulator at {emu.url}, jobs take {args.job_seconds:g} s; running at once "
            f"{updates} updates of {DEMO_SOVID} (update {updates} names Sheet1 row "
            f"{MISSING_ROW}, which does not exist: it fails on purpose), 2 outputs per SOV, "
            f"1 parse, {args.locations:,} locations in {batches} batches",
            url=emu.url,
            updates=updates,
            locations=args.locations,
            batches=batches,
        )
        options: dict[str, Any] = {
            "api_url": emu.url,
            "data_api_url": emu.url,
            "token": DEMO_TOKEN,
            "data_token": DEMO_TOKEN,
        }
        if ctx.options.max_connections:
            options["max_connections"] = ctx.options.max_connections
        client = Client(on_event=rep.on_event, **options)
        rep.requests = lambda: client.stats.requests
        async with client, rep.display():
            formats = await client.list_output_formats()
            json_format = next(
                (f.output_format for f in formats if f.output_format.upper() == "JSON"),
                formats[0].output_format,
            )
            # The second format: another kind of file (a workbook) when the account has one.
            other = next(
                (f.output_format for f in formats if f.output_extension not in (None, "json")),
                next(
                    (f.output_format for f in formats if f.output_format != json_format),
                    json_format,
                ),
            )
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_updates, client, rep, tally, csv_paths, out, json_format, other)
                tg.start_soon(run_outputs, client, rep, tally, DEMO_SOVID, out, json_format, other)
                tg.start_soon(run_parse, client, rep, tally, inputs / "demo-sov.xlsx", out)
                tg.start_soon(run_enhance, client, rep, tally, inputs / "locations.csv", out)
        requests, retries = client.stats.requests, client.stats.retries
    wall = time.monotonic() - started
    summary(rep, tally, wall, requests, retries, out)
    if tally.unexpected:
        for problem in tally.unexpected:
            rep.warn(f"sovfixer-async demo: unexpected: {problem}")
        return 1
    return 0


async def run_updates(
    client: Client,
    rep: Reporter,
    tally: Tally,
    csv_paths: list[Path],
    out: Path,
    json_format: str,
    other: str,
) -> None:
    """Submit every update at once; as each completes, download it and ask for its outputs."""
    jobs: list[UpdateJob] = []

    async def submit(number: int, path: Path) -> None:
        job = await client.update_sov(
            DEMO_SOVID,
            path,
            output_formats=[json_format],
            extra_data={"insured_name": f"Demo Insured {number}"},
        )
        jobs.append(job)
        rep.track(job)

    async with anyio.create_task_group() as tg:
        for number, path in enumerate(csv_paths, start=1):
            tg.start_soon(submit, number, path)
    failures = 0

    async def follow_up(job: UpdateJob) -> None:
        tally.saved("update", await job.download(out / "updates", overwrite=True))
        await run_outputs(client, rep, tally, job.id, out, json_format, other)

    async with anyio.create_task_group() as tg:
        async for job in as_completed(jobs):
            if not job.done:
                await job.wait()  # raises at once how its wait ended
            failure = job.status.failure if job.status is not None else None
            if failure is None:
                tg.start_soon(follow_up, job)
                continue
            failures += 1
            if str(MISSING_ROW) not in (failure[1] or ""):
                tally.unexpected.append(f"update {job.id} failed: {failure[1]}")
    if failures != 1:
        tally.unexpected.append(f"{failures} updates failed; exactly 1 was expected to")


async def run_outputs(
    client: Client,
    rep: Reporter,
    tally: Tally,
    sovid: str,
    out: Path,
    json_format: str,
    other: str,
) -> None:
    """Two outputs of one SOV or SUD: one cached, one regenerated with overwrite."""
    jobs: list[OutputJob] = []

    async def ask(output_format: str, overwrite: bool) -> None:
        job = await client.get_or_create_output(sovid, output_format, overwrite_existing=overwrite)
        jobs.append(job)
        rep.track(job)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask, json_format, False)
        tg.start_soon(ask, other, True)
    async for job in as_completed(jobs):
        try:
            tally.saved("output", await job.download(out / "outputs" / sovid, overwrite=True))
        except JobFailed as exc:
            tally.unexpected.append(str(exc))


async def run_parse(client: Client, rep: Reporter, tally: Tally, path: Path, out: Path) -> None:
    """Parse the generated workbook into a new SOV and download its outputs."""
    job = await client.parse_sov(path)
    rep.track(job)
    try:
        tally.saved("parse", await job.download(out / "parse", overwrite=True))
    except JobFailed as exc:
        tally.unexpected.append(str(exc))


async def run_enhance(client: Client, rep: Reporter, tally: Tally, path: Path, out: Path) -> None:
    """Bulk-enhance the locations file in batches; save the merged results."""
    run: BulkEnhanceRun = await client.bulk_enhance(path, sources=SOURCES, batch_size=BATCH_SIZE)
    rep.track(run)
    try:
        status = await run.wait()
    except JobFailed as exc:
        tally.unexpected.append(str(exc))
        return
    assert run.merged_path is not None
    target = out / "enhance" / "results.jsonl"
    await anyio.to_thread.run_sync(copy_atomic, run.merged_path, target)
    tally.saved("enhance", [target])
    tally.locations = status.num_requested
    tally.problems = status.num_problems
    if status.num_failed_batches:
        tally.unexpected.append(f"{status.num_failed_batches} bulk batches failed")


def summary(
    rep: Reporter, tally: Tally, wall: float, requests: int, retries: int, out: Path
) -> None:
    """The table at the end: jobs, failures, files, bytes and locations per family."""
    header = f"{'family':<9}{'jobs':>6}{'failed':>8}{'files':>7}{'downloaded':>12}{'locations':>11}"
    lines = [header, "-" * len(header)]
    totals = [0, 0, 0, 0]
    for name, fam in rep.families.items():
        jobs = max(fam.total, fam.submitted)
        files = len(tally.files.get(name, []))
        locations = f"{tally.locations:,}" if name == "enhance" else "-"
        lines.append(
            f"{name:<9}{jobs:>6}{fam.failed:>8}{files:>7}{human_bytes(fam.bytes):>12}{locations:>11}"
        )
        for i, value in enumerate((jobs, fam.failed, files, fam.bytes)):
            totals[i] += value
        rep.emit(
            "family",
            None,
            family=name,
            jobs=jobs,
            failed=fam.failed,
            files=files,
            bytes=fam.bytes,
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'total':<9}{totals[0]:>6}{totals[1]:>8}{totals[2]:>7}{human_bytes(totals[3]):>12}"
        f"{tally.locations:>11,}"
    )
    lines.append(
        f"wall time {wall:.1f} s, {requests:,} requests sent ({retries} retried), "
        f"{tally.problems:,} locations with per-source problems; files in {out}/"
    )
    if rep.mode != "json":
        rep.result("summary", "\n" + "\n".join(lines))
    rep.emit(
        "summary",
        None,
        wall_seconds=round(wall, 3),
        requests=requests,
        retries=retries,
        jobs=totals[0],
        failed=totals[1],
        files=totals[2],
        bytes=totals[3],
        locations=tally.locations,
        out=str(out),
    )
