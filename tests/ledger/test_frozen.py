"""A frozen worker (slow: a worker process, SIGSTOP and SIGCONT): frozen mid-submission
past its lease, its items are taken over and finished by another worker; resumed, its late
writes are refused by the fencing epoch, kept as evidence (with the jobs they carried) and
counted in ``status()`` and ``ledger status --json``; no parse or update job was made twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import anyio
import pytest
from aiohttp import web
from anyio.abc import Process

from sovfixer_async.emulator import run_emulator
from sovfixer_async.ledger import DONE, Ledger, LedgerError
from sovfixer_async.ledger._db import Tx

from .conftest import client_for
from .helpers import ROWS, SOVID, item, parse_jobs_with, update_jobs_with, workbook
from .test_cli import events, run

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
TOKEN = "ledger-cli-token"  # the token test_cli's ``run`` gives its commands
LEASE = 1.0
_HOP = {"host", "content-length", "transfer-encoding", "content-encoding", "connection"}


class HoldingProxy:
    """Forwards every request to the emulator; the answers to the first parse POST and the
    first update's initiate (each job made on the server) wait until ``release``."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.held: set[str] = set()
        self.both_held = anyio.Event()
        self.release = anyio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        if "Content-Encoding" in request.headers:
            headers["Content-Encoding"] = request.headers["Content-Encoding"]
        body = await request.read()
        async with (
            aiohttp.ClientSession(auto_decompress=True) as session,
            session.request(
                request.method, self.upstream + request.path_qs, data=body, headers=headers
            ) as answer,
        ):
            data = await answer.read()
            status = answer.status
            back = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
        kind = None
        if request.method == "POST" and request.path == "/api/v1/sov":
            kind = "parse"
        elif request.method == "POST" and request.path.endswith("/initiate_update"):
            kind = "update"
        if kind is not None and kind not in self.held:
            self.held.add(kind)
            if len(self.held) == 2:
                self.both_held.set()
            await self.release.wait()
        return web.Response(status=status, body=data, headers=back)


@asynccontextmanager
async def serve(proxy: HoldingProxy) -> AsyncIterator[str]:
    app = web.Application(client_max_size=1 << 26)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.release.set()
        await runner.cleanup()


async def between_transactions(ledger: Ledger, proc: Process) -> None:
    """SIGSTOP the worker at a moment it holds no database lock (a worker frozen inside a
    transaction would stall the others on its locks: another risk, not this test's)."""
    url = ledger.url
    for _ in range(50):
        proc.send_signal(signal.SIGSTOP)
        try:
            if url.dialect == "sqlite":
                assert url.path is not None
                conn = sqlite3.connect(url.path, timeout=0.3, isolation_level=None)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("ROLLBACK")
                finally:
                    conn.close()
            else:

                def probe(tx: Tx) -> None:
                    tx.q("SET LOCAL lock_timeout = '300ms'")
                    tx.q("SELECT id FROM ledger_items FOR UPDATE")

                await ledger._db.run(probe)
            return
        except (sqlite3.OperationalError, LedgerError):
            proc.send_signal(signal.SIGCONT)
            await anyio.sleep(0.05)
    raise AssertionError("the worker was always inside a transaction")


async def leases_ended(ledger: Ledger, ids: list[int]) -> None:
    """Return once the leases on ``ids`` have all ended (on the database's clock)."""
    marks = ", ".join("?" for _ in ids)
    while True:
        row = await ledger._db.run(
            lambda tx: tx.one(
                f"SELECT count(*) FROM ledger_items WHERE id IN ({marks}) AND lease_until < :now",
                ids,
            ),
            write=False,
        )
        if row is not None and int(row[0]) == len(ids):
            return
        await anyio.sleep(0.1)


async def test_a_frozen_workers_late_writes_are_refused_kept_and_counted(
    ledger_url: str, tmp_path: Path
) -> None:
    async with (
        run_emulator(job_seconds=0.2, token=TOKEN, seed=3) as emu,
        await Ledger.open(ledger_url) as ledger,
    ):
        parse = await ledger.plan_parse(workbook(), filename="frozen.xlsx")
        update = await ledger.plan_update(SOVID, ROWS)
        proxy = HoldingProxy(emu.url)
        async with serve(proxy) as proxy_url:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SOVFIXER_")}
            env.update(SOVFIXER_AUTH_TOKEN=TOKEN, HOME=str(tmp_path))
            command = [
                sys.executable, "-m", "sovfixer_async._cli", "worker", "--ledger", ledger_url,
                "--out", str(tmp_path / "a"), "--exit-when-done", "--concurrency", "2",
                "--lease", str(LEASE), "--api-url", proxy_url, "--data-api-url", proxy_url,
            ]  # fmt: skip
            with open(tmp_path / "a.log", "wb") as log:  # noqa: ASYNC230
                frozen = await anyio.open_process(command, env=env, stdout=log, stderr=log)
                try:
                    with anyio.fail_after(60):
                        await proxy.both_held.wait()  # both jobs made, unanswered
                        await between_transactions(ledger, frozen)
                        proxy.release.set()  # the answers wait in its sockets
                        await leases_ended(ledger, [parse, update])
                        async with client_for(emu.url, token=TOKEN) as client:
                            await ledger.work(client, tmp_path / "b", exit_when_done=True)
                        assert (await ledger.status()).fenced_writes == 0
                        frozen.send_signal(signal.SIGCONT)
                        code = await frozen.wait()
                finally:
                    if frozen.returncode is None:
                        frozen.send_signal(signal.SIGCONT)
                        frozen.kill()
                        await frozen.wait()
            assert code == 0, (tmp_path / "a.log").read_text()

        status = await ledger.status()
        assert status.counts == {"parse": {DONE: 1}, "update": {DONE: 1}}
        # Resumed, the frozen worker wrote the answer of each POST it had sent: refused, kept.
        assert status.fenced_writes >= 2
        evidence = await ledger._db.run(
            lambda tx: tx.q("SELECT item_id, job_id, note FROM ledger_evidence ORDER BY id"),
            write=False,
        )
        print(f"\nfrozen worker: {status.as_dict()}\nevidence: {evidence}")  # for -s runs
        for item_id, kind in ((parse, "parse"), (update, "update")):
            done = await item(ledger, item_id)
            assert done.client_ref is not None
            # the job the frozen worker made is the one its successor found by client_ref
            assert done.job_id in {job for i, job, _ in evidence if i == item_id}, evidence
            jobs_with = parse_jobs_with if kind == "parse" else update_jobs_with
            assert jobs_with(emu, done.client_ref) == 1
        assert status.fenced_jobs == {}  # no job made twice
        stats = await emu.stats()
        assert (stats["jobs_created"]["parse"], stats["jobs_created"]["update"]) == (1, 1)

    code, out, err = await run(tmp_path, "ledger", "status", "--json", "--ledger", ledger_url)
    assert code == 0, err
    (shown,) = events(out)
    assert shown["fenced_writes"] == status.fenced_writes
    assert shown["fenced_jobs"] == {}
