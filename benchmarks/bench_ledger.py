"""The durable ledger: throughput of 1, 2, 4 and 8 worker processes on each backend, and
the claim rate of the ledger alone.

* claim rate: items claimed and marked done per second by 4 concurrent claimers (one
  connection each), no API involved;
* throughput: ``--items`` mixed items (parse, update, output) carried to done by N
  ``sovfixer-async worker`` processes against one emulator process (every job takes
  ``--job-seconds``): items per second, wall time from the first worker's start to the
  last one's exit; and the writes fencing refused in that run (``status().fenced_writes``:
  a worker stalled past its 30 s lease; 0 expected) with any job they show made twice.

PostgreSQL is measured when ``--postgres URL`` or ``SOVFIXER_TEST_POSTGRES_URL`` names a
server (each measurement in a schema of its own, dropped after).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import quote

import anyio
from _common import REPO, SEED_SOVID, TOKEN, UPDATE_CSV, Table, emulator, finish, header, parser

from sovfixer_async.emulator.outputs import make_xlsx
from sovfixer_async.ledger import Ledger, LedgerURL, _store


@contextmanager
def ledger_url(backend: str, postgres: str | None) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as folder:
            yield f"sqlite:///{folder}/ledger.db"
        return
    import psycopg

    assert postgres is not None
    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in postgres else "?"
    try:
        yield f"{postgres}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def claim_rate(url: str, items: int, claimers: int = 4, batch: int = 20) -> float:
    async with await Ledger.open(url) as ledger:
        for n in range(items):
            await ledger.plan_output(f"s-{n}", "JSON")
    ledgers = [await Ledger.open(url) for _ in range(claimers)]
    done = 0

    async def claimer(ledger: Ledger, owner: str) -> None:
        nonlocal done
        claim = partial(_store.claim, owner=owner, n=batch, lease=60.0, caps={})
        while got := await ledger._db.run(claim):
            for item_id, epoch in got:
                await ledger._db.run(
                    lambda tx, i=item_id, e=epoch: _store.write(tx, i, e, {"state": "done"})
                )
            done += len(got)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for n, ledger in enumerate(ledgers):
            tg.start_soon(claimer, ledger, f"c{n}")
    elapsed = time.perf_counter() - started
    for ledger in ledgers:
        await ledger.close()
    assert done == items
    return items / elapsed


async def plan_mixed(url: str, items: int) -> None:
    book = make_xlsx("Locations", ["Building Name", "Address"], [["HQ", "1 Main St"]])
    async with await Ledger.open(url) as ledger:
        for n in range(items):
            if n % 3 == 0:
                await ledger.plan_parse(book, filename=f"b{n}.xlsx")
            elif n % 3 == 1:
                await ledger.plan_update(SEED_SOVID, UPDATE_CSV)
            else:
                await ledger.plan_output(SEED_SOVID, "JSON")


def run_workers(url: str, api: str, workers: int, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOVFIXER_")}
    env["SOVFIXER_AUTH_TOKEN"] = TOKEN
    command = [
        sys.executable, "-m", "sovfixer_async._cli", "worker", "--ledger", url,
        "--out", str(out), "--exit-when-done", "--concurrency", "32", "-q",
        "--api-url", api, "--data-api-url", api,
    ]  # fmt: skip
    started = time.perf_counter()
    procs = [
        subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - started
    assert codes == [0] * workers, codes
    return elapsed


async def fencing(url: str) -> str:
    async with await Ledger.open(url) as ledger:
        status = await ledger.status()
    return f"{status.fenced_writes} ({sum(status.fenced_jobs.values())} jobs made twice)"


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--items", type=int, default=300)
    p.add_argument("--claims", type=int, default=2000)
    p.add_argument("--job-seconds", type=float, default=0.5)
    p.add_argument("--postgres", default=os.environ.get("SOVFIXER_TEST_POSTGRES_URL"))
    args = p.parse_args()
    if args.quick:
        args.items, args.claims = 90, 500
    shown = dict(vars(args))  # the header shows the options; never the URL's password
    if args.postgres:
        shown["postgres"] = str(LedgerURL.parse(args.postgres))
    header("bench_ledger", argparse.Namespace(**shown))
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    tables = []
    claims = Table("ledger alone: claim + done, 4 claimers")
    for backend in backends:
        with ledger_url(backend, args.postgres) as url:
            rate = anyio.run(claim_rate, url, args.claims)
        claims.info(f"{backend}: items/s", f"{rate:.0f}")
    claims.print()
    tables.append(claims)
    with emulator(args.job_seconds, "--token", TOKEN) as emu:
        for backend in backends:
            table = Table(f"{backend}: {args.items} mixed items, job {args.job_seconds} s")
            for workers in (1, 2, 4, 8):
                with (
                    ledger_url(backend, args.postgres) as url,
                    tempfile.TemporaryDirectory() as out,
                ):
                    anyio.run(plan_mixed, url, args.items)
                    elapsed = run_workers(url, emu.url, workers, Path(out))
                    fenced = anyio.run(fencing, url)
                table.info(f"{workers} worker(s): items/s", f"{args.items / elapsed:.1f}")
                table.info(f"{workers} worker(s): fenced writes", fenced)
            table.print()
            tables.append(table)
    return finish(tables)


if __name__ == "__main__":
    sys.exit(main())
