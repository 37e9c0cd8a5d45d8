"""One run at a time per warehouse: a second run waits a bounded time, then exits with a message.

* SQLite: an exclusive ``flock`` on a lock file named after the warehouse's absolute path, in
  ``$TMPDIR/balancewatch-locks/`` (not beside the warehouse: a rejected first delivery must leave
  no file behind). The operating system drops the lock when the holder exits, however it exits
  (a killed run never blocks the next one); the file's text (pid, start time, warehouse) only
  feeds the message.
* Spark: the same file lock, named after the warehouse's URL (the Thrift Server has no lock of
  its own: this serialises the runs of one machine only).
* PostgreSQL: a session advisory lock on its own connection, which the server drops when that
  connection ends (a killed run's session included).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from balancewatch.clock import utc_now
from balancewatch.warehouse import POSTGRES, Warehouse, _server

DEFAULT_WAIT_SECONDS = 60.0
_ADVISORY_KEY = "balancewatch.run"


class Busy(Exception):
    """Another run holds the warehouse; the message says who and for how long we waited."""


@contextmanager
def run_lock(warehouse: Warehouse, wait_seconds: float = DEFAULT_WAIT_SECONDS,
             *, poll: float = 0.2) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; raise :class:`Busy` after ``wait_seconds``."""
    if warehouse.kind != POSTGRES:
        with _file_lock(warehouse, wait_seconds, poll):
            yield
    else:
        with _advisory_lock(warehouse, wait_seconds, poll):
            yield


def lock_path(warehouse: Warehouse) -> Path:
    """The lock file of a SQLite warehouse (one per absolute path) or a Spark one (per URL)."""
    digest = hashlib.sha256(warehouse.location().encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / "balancewatch-locks" / f"{digest}.lock"


def _waited(started: float, wait_seconds: float, poll: float) -> bool:
    if time.monotonic() - started >= wait_seconds:
        return True
    time.sleep(poll)
    return False


@contextmanager
def _file_lock(warehouse: Warehouse, wait_seconds: float, poll: float) -> Iterator[None]:
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if _waited(started, wait_seconds, poll):
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    raise Busy(f"another balancewatch run holds {path} ({holder}); waited "
                               f"{wait_seconds:.0f} s (--lock-wait SECONDS to wait longer)"
                               ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {utc_now()} on {warehouse}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def _advisory_lock(warehouse: Warehouse, wait_seconds: float, poll: float) -> Iterator[None]:
    # on the server's maintenance database: ours may not exist before the first load
    key = f"{_ADVISORY_KEY}:{warehouse.dbname}"
    with _server(warehouse) as conn:  # closing it ends the session: the lock is released
        started = time.monotonic()
        query = "select pg_try_advisory_lock(hashtext(%s))"
        while not conn.execute(query, (key,)).fetchone()[0]:
            if _waited(started, wait_seconds, poll):
                raise Busy(f"another balancewatch run holds the run lock of {warehouse}; waited "
                           f"{wait_seconds:.0f} s (--lock-wait SECONDS to wait longer)")
        yield
