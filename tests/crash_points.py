"""Kill a real ``balancewatch run`` at a chosen point, deterministically, and read what it left.

A run is held at its point by a lock the test holds, and killed while it waits, never after a
sleep:

* PostgreSQL: the test's own connection holds a table lock (``lock table ... in share mode``
  blocks every insert and update, ``access exclusive`` every read too); the run blocks on it
  and ``pg_stat_activity`` shows its statement waiting. Then SIGKILL, then the lock goes.
* SQLite (rollback journal, the warehouse's mode): the test holds a read transaction (a SHARED
  lock). A writer may take RESERVED and write its whole transaction, but its commit needs
  EXCLUSIVE: it takes PENDING and waits for the reader (its busy timeout is 5 s). PENDING is a
  POSIX write lock on the file's byte 0x40000000; ``F_GETLK`` from the test sees another
  process hold it (a second connection of the test's own could not: SQLite shares one
  process's locks between its connections). That is the sign the run waits at a commit;
  :meth:`SqliteGate.step` lets that one commit through and holds the next.

Runs start in their own process group (dbt's forked build dies with them) with ``--lock-wait 10``:
a run that finds the run lock of a killed one still held fails instead of going on. (PostgreSQL
ends a killed client's sessions, and so drops their locks, moments after the kill, not at once:
:meth:`PostgresLock.release` waits for that.)
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from balancewatch.warehouse import SQLITE, Warehouse

REPO = Path(__file__).resolve().parent.parent
PATIENCE = 120.0  # seconds any awaited point may take on a busy machine
PENDING_BYTE = 0x40000000  # SQLite's lock bytes (os_unix.c): PENDING, then RESERVED, SHARED
FLOCK = "hhqqi4x"  # struct flock on Linux x86-64: l_type, l_whence, l_start, l_len, l_pid


class Run:
    """One ``balancewatch run`` subprocess; its output lines are collected as they come."""

    def __init__(self, delivery: Path, warehouse: Warehouse, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "balancewatch", "run", str(delivery), "--warehouse",
             warehouse.location(), "--lock-wait", "10", "--verbose"],
            cwd=REPO, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_for_line(self, prefix: str) -> None:
        """Until the run printed a line starting with ``prefix`` (stripped)."""
        until(lambda: any(line.strip().startswith(prefix) for line in self.lines),
              f"a line {prefix!r}", self)

    def kill(self) -> None:
        """SIGKILL the run and every process of its group (dbt's build child too)."""
        assert self.running(), f"the run ended before its kill point:\n{self.output}"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(10)
        assert self.proc.returncode == -signal.SIGKILL

    def finish(self) -> int:
        """Wait for the run to end by itself; its exit status."""
        self.proc.wait(PATIENCE * 2)
        self._reader.join(10)
        return self.proc.returncode


def until(condition: Callable[[], Any], what: str, run: Run | None = None) -> Any:
    """Poll ``condition`` until it is truthy; fail if ``run`` ends first or time runs out."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if run is not None and not run.running():
            raise AssertionError(f"the run ended before {what}:\n{run.output}")
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{run.output}" if run else ""))


class SqliteGate:
    """A read transaction on a SQLite warehouse that holds the next writer at its commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reader = sqlite3.connect(path, timeout=0, isolation_level=None)
        # kept open until the reader is closed: closing any descriptor of the file drops every
        # POSIX lock this process holds on it, the reader's SHARED lock included
        self.fd = os.open(path, os.O_RDONLY)

    def hold(self) -> None:
        """Take the SHARED lock (once the writer now committing, if any, is done)."""
        def shared() -> bool:
            try:
                self.reader.execute("begin")
                self.reader.execute("select count(*) from sqlite_master").fetchone()
                return True
            except sqlite3.OperationalError:
                if self.reader.in_transaction:
                    self.reader.execute("rollback")
                return False
        until(shared, "a SHARED lock on the warehouse")

    def release(self) -> None:
        self.reader.execute("rollback")

    def writer_waiting(self) -> bool:
        """Whether another process holds PENDING: it is at its commit, waiting for our reader."""
        query = struct.pack(FLOCK, fcntl.F_RDLCK, os.SEEK_SET, PENDING_BYTE, 1, 0)
        l_type = struct.unpack(FLOCK, fcntl.fcntl(self.fd, fcntl.F_GETLK, query))[0]
        return l_type == fcntl.F_WRLCK

    def wait_for_writer(self, run: Run) -> None:
        until(self.writer_waiting, "the run to wait at a commit", run)

    def read(self, sql: str) -> list[tuple]:
        """Read inside the held transaction: the state as of the last commit."""
        return self.reader.execute(sql).fetchall()

    def step(self, run: Run) -> None:
        """Let the waiting writer's commit through; hold the next commit."""
        self.release()
        self.hold()
        self.wait_for_writer(run)

    def close(self) -> None:
        if self.reader.in_transaction:
            self.release()
        self.reader.close()
        os.close(self.fd)


class PostgresLock:
    """``lock table`` held by the test's own connection until :meth:`release`."""

    def __init__(self, warehouse: Warehouse, table: str, mode: str) -> None:
        self.warehouse = warehouse
        self.conn = warehouse.connect()
        self.conn.begin()
        self.conn.execute(f"lock table {table} in {mode} mode")
        # pg_stat_activity is read once per transaction: watch it from outside the lock's
        self.watch = warehouse.connect()

    def waiting(self) -> list[str]:
        """The statements of other sessions on the warehouse waiting for a lock."""
        rows = self.watch.execute(
            "select query from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid() and pid <> ? and wait_event_type = 'Lock'",
            (self.conn.raw.info.backend_pid,)).fetchall()
        return [r[0] for r in rows]

    def wait_for(self, statement: str, run: Run) -> str:
        """Until a statement containing ``statement`` waits for our lock; that statement."""
        return until(lambda: next((q for q in self.waiting() if statement in q.lower()), None),
                     f"a statement with {statement!r} waiting for the lock", run)

    def release(self) -> None:
        """Drop the lock; then wait until the killed run's sessions have ended."""
        self.conn.rollback()
        self.conn.close()
        until(lambda: self.watch.scalar(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid()") == 0, "the killed run's sessions to end")
        self.watch.close()


def is_sqlite(warehouse: Warehouse) -> bool:
    return warehouse.kind == SQLITE
