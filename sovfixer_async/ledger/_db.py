"""The two engines behind one small interface: a transaction is a blocking function
``fn(tx)`` run in a worker thread (stdlib ``sqlite3``, or ``psycopg`` 3's blocking API).

SQL is written once with ``?`` placeholders and ``:now`` for the database's clock (leases
use the database's time, never a worker's). Write transactions on SQLite are
``BEGIN IMMEDIATE`` (one writer at a time, others wait ``busy_timeout``); on PostgreSQL
they are ordinary transactions whose claims use ``FOR UPDATE SKIP LOCKED``. Every driver
error becomes a ``LedgerError`` whose text has the password removed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio

from sovfixer_async.ledger._types import LedgerError
from sovfixer_async.ledger._url import LedgerURL

log = logging.getLogger("sovfixer_async.ledger")

T = TypeVar("T")
Row = tuple[Any, ...]

_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "(extract(epoch from clock_timestamp())::float8)",
}
#: Seconds a SQLite writer waits for another's lock before it gives up.
SQLITE_BUSY_SECONDS = 60.0


class Tx:
    """One open transaction: ``q(sql, params)`` returns the rows; ``rowcount`` the last's."""

    def __init__(self, cursor: Any, dialect: str):
        self._cursor = cursor
        self.dialect = dialect
        self.rowcount = 0

    def sql(self, text: str) -> str:
        text = text.replace(":now", _NOW[self.dialect])
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    def q(self, text: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._cursor
        cursor.execute(self.sql(text), tuple(params))
        self.rowcount = cursor.rowcount
        if cursor.description is None:
            return []
        return [tuple(row) for row in cursor.fetchall()]

    def one(self, text: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.q(text, params)
        return rows[0] if rows else None


class Database:
    """Runs transactions for one ledger; ``close()`` closes its connections."""

    dialect: str

    def __init__(self, url: LedgerURL):
        self.url = url

    async def run(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        try:
            return await anyio.to_thread.run_sync(self._run_blocking, fn, write)
        except LedgerError:
            raise
        except Exception as exc:  # a driver error: its text may hold the URL
            raise LedgerError(self.url.redact(f"ledger database error: {exc}")) from None

    def _run_blocking(self, fn: Callable[[Tx], T], write: bool) -> T:
        raise NotImplementedError

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._close_blocking)

    def _close_blocking(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    """One connection, used by one thread at a time (SQLite serialises writers anyway)."""

    dialect = "sqlite"

    def __init__(self, url: LedgerURL):
        super().__init__(url)
        assert url.path is not None
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            path = self.url.path
            assert path is not None
            if path.parent and not path.parent.is_dir():
                raise LedgerError(f"the ledger's folder does not exist: {path.parent}")
            conn = sqlite3.connect(
                path, timeout=SQLITE_BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
        return self._conn

    def _run_blocking(self, fn: Callable[[Tx], T], write: bool) -> T:
        with self._lock:
            conn = self._connection()
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(Tx(cursor, self.dialect))
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()
                raise
            conn.commit()
            return result

    def _close_blocking(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresDatabase(Database):
    """A small pool of blocking psycopg connections, each used by one thread at a time."""

    dialect = "postgresql"
    #: Attempts of a transaction that met a serialization failure or a deadlock.
    ATTEMPTS = 5
    #: Seconds a transaction may sit idle before the server ends its session. The ledger's
    #: transactions run from start to end in one thread, so only a frozen (SIGSTOP, swapped
    #: out) worker sits that long; ending its session releases its row locks, which claims
    #: would otherwise skip (``SKIP LOCKED``) until it resumed. Its late commit then fails.
    IDLE_IN_TRANSACTION_SECONDS = 10

    def __init__(self, url: LedgerURL, pool_size: int = 4):
        super().__init__(url)
        try:
            import psycopg
        except ImportError:
            raise LedgerError(
                "a PostgreSQL ledger needs psycopg: pip install 'sovfixer-async[postgres]'"
            ) from None
        self._psycopg = psycopg
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots_total = max(1, pool_size)
        self._slots = threading.BoundedSemaphore(self._slots_total)
        self._all: list[Any] = []
        self._guard = threading.Lock()

    def _take(self) -> Any:
        self._slots.acquire()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            conn = self._psycopg.connect(
                self.url.secret_url,
                autocommit=True,
                connect_timeout=30,
                application_name="sovfixer-ledger",
            )
            try:
                conn.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
                    (f"{int(self.IDLE_IN_TRANSACTION_SECONDS * 1000)}",),
                )
            except BaseException:
                conn.close()
                raise
        except BaseException:
            self._slots.release()
            raise
        with self._guard:
            self._all.append(conn)
        return conn

    def _give(self, conn: Any) -> None:
        if conn.closed or conn.broken:
            with self._guard:
                if conn in self._all:
                    self._all.remove(conn)
        else:
            self._idle.put(conn)
        self._slots.release()

    def _run_blocking(self, fn: Callable[[Tx], T], write: bool) -> T:
        errors = self._psycopg.errors
        retry = (errors.SerializationFailure, errors.DeadlockDetected)
        attempt = 0
        # Each pooled connection may have died while idle (a restart, a proxy's idle
        # timeout): its BEGIN fails, nothing was done, the next connection is tried.
        stale = self._slots_total + 1
        while True:
            conn = self._take()
            begun = False
            try:
                with conn.transaction(), conn.cursor() as cursor:
                    begun = True
                    return fn(Tx(cursor, self.dialect))
            except retry:
                attempt += 1
                if attempt >= self.ATTEMPTS:
                    raise
            except self._psycopg.OperationalError:
                stale -= 1
                if begun or not conn.broken or stale <= 0:
                    raise  # during the transaction: its outcome is unknown, never repeated
                log.warning("a pooled ledger connection was closed by the server; reconnecting")
            finally:
                self._give(conn)

    def _close_blocking(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


def connect(url: LedgerURL, *, pool_size: int = 4) -> Database:
    if url.dialect == "sqlite":
        return SqliteDatabase(url)
    return PostgresDatabase(url, pool_size)
