"""One run at a time per warehouse: a second run waits a bounded time, then exits with a message.

* SQLite: an exclusive ``flock`` on a lock file named after the warehouse's absolute path, in
  ``$TMPDIR/balancewatch-locks/`` (not beside the warehouse: a rejected first delivery must leave
  no file behind). The operating system drops the lock when the holder exits, however it exits
  (a killed run never blocks the next one); the file's text (pid, host, start time) only feeds
  the messages.
* PostgreSQL: a session advisory lock on its own connection, which the server drops when that
  connection ends (a killed run's session included). The connection's ``application_name`` names
  the holder (pid, host, start) for the waiting run's message.
* Spark: a view ``default.balancewatch_run_lock_<database>`` whose one row names the holder. The
  metastore creates a name once (``create view`` without ``or replace`` fails when it exists), so
  exactly one run creates it; the holder drops it when done. Nothing drops it for a killed run:
  a waiting run on the same host whose holder's pid is gone renames the stale view away (a rename
  to a name of its own, so two waiting runs cannot both take it) and takes the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from balancewatch.clock import utc_now
from balancewatch.warehouse import SPARK, SQLITE, Warehouse, _server

if TYPE_CHECKING:
    from balancewatch.spark_sql import SparkConnection

DEFAULT_WAIT_SECONDS = 60.0
_ADVISORY_KEY = "balancewatch.run"


OnWait = Callable[[str], None]  # told once, with the holder, when a run starts to wait


class Busy(Exception):
    """Another run holds the warehouse; the message says who and for how long we waited."""


def _ignore(holder: str) -> None:
    """The default :data:`OnWait`: say nothing."""


@contextmanager
def run_lock(warehouse: Warehouse, wait_seconds: float = DEFAULT_WAIT_SECONDS,
             *, poll: float = 0.2, on_wait: OnWait = _ignore) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; raise :class:`Busy` after ``wait_seconds``.

    ``on_wait`` is called once, with the holder (``pid N on HOST since TIME``), if the lock is
    taken when this run first asks for it."""
    if warehouse.kind == SQLITE:
        with _file_lock(warehouse, wait_seconds, poll, on_wait):
            yield
    elif warehouse.kind == SPARK:
        with _view_lock(warehouse, wait_seconds, max(poll, 1.0), on_wait):
            yield
    else:
        with _advisory_lock(warehouse, wait_seconds, poll, on_wait):
            yield


def holder_text() -> str:
    """This run, as a waiting run's message names it."""
    return f"pid {os.getpid()} on {socket.gethostname()} since {utc_now()}"


def lock_path(warehouse: Warehouse) -> Path:
    """The lock file of a SQLite warehouse (one per absolute path)."""
    digest = hashlib.sha256(str(warehouse.path).encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / "balancewatch-locks" / f"{digest}.lock"


def _waited(started: float, wait_seconds: float, poll: float) -> bool:
    if time.monotonic() - started >= wait_seconds:
        return True
    time.sleep(poll)
    return False


@contextmanager
def _file_lock(warehouse: Warehouse, wait_seconds: float, poll: float, on_wait: OnWait
               ) -> Iterator[None]:
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
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                on_wait(holder)
                on_wait = _ignore
                if _waited(started, wait_seconds, poll):
                    raise Busy(f"another balancewatch run holds {path} ({holder}); waited "
                               f"{wait_seconds:.0f} s (--lock-wait SECONDS to wait longer)"
                               ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder_text()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def _advisory_lock(warehouse: Warehouse, wait_seconds: float, poll: float, on_wait: OnWait
                   ) -> Iterator[None]:
    # on the server's maintenance database: ours may not exist before the first load
    key = f"{_ADVISORY_KEY}:{warehouse.dbname}"
    with _server(warehouse) as conn:  # closing it ends the session: the lock is released
        conn.execute("select set_config('application_name', %s, false)",
                     (f"balancewatch {holder_text()}"[:63],))
        started = time.monotonic()
        query = "select pg_try_advisory_lock(hashtext(%s))"
        while not conn.execute(query, (key,)).fetchone()[0]:
            on_wait(_advisory_holder(conn, key))
            on_wait = _ignore
            if _waited(started, wait_seconds, poll):
                raise Busy(f"another balancewatch run holds the run lock of {warehouse} "
                           f"({_advisory_holder(conn, key)}); waited {wait_seconds:.0f} s "
                           "(--lock-wait SECONDS to wait longer)")
        yield


def _advisory_holder(conn: Any, key: str) -> str:
    """Who holds the advisory lock ``key``: its session's ``application_name``, else the server
    process and since when."""
    number = conn.execute("select hashtext(%s)::bigint", (key,)).fetchone()[0]
    number &= 0xFFFF_FFFF_FFFF_FFFF  # a bigint key is shown as two unsigned halves
    row = conn.execute(
        "select a.application_name, a.pid, a.backend_start from pg_locks as l "
        "join pg_stat_activity as a on a.pid = l.pid where l.locktype = 'advisory' "
        "and l.granted and l.classid::bigint = %s and l.objid::bigint = %s and l.objsubid = 1",
        (number >> 32, number & 0xFFFF_FFFF)).fetchone()
    if row is None:
        return "unknown"
    name, pid, since = row
    if name.startswith("balancewatch pid "):
        return name.removeprefix("balancewatch ")
    return f"server process {pid} since {since:%Y-%m-%dT%H:%M:%SZ}"


def lock_view(warehouse: Warehouse) -> str:
    """The view that is the run lock of a Spark database (in ``default``: ours may not exist)."""
    return f"default.balancewatch_run_lock_{warehouse.dbname}"


def _holder_is_gone(holder: str) -> bool:
    """Whether ``holder`` (``pid N host H ...``) is a process of this host that has exited."""
    words = holder.split()
    if len(words) < 4 or (words[0], words[2], words[3]) != ("pid", "host", socket.gethostname()):
        return False
    try:
        os.kill(int(words[1]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


@contextmanager
def _view_lock(warehouse: Warehouse, wait_seconds: float, poll: float, on_wait: OnWait
               ) -> Iterator[None]:
    from balancewatch.spark_sql import SparkConnection, SparkError, _raw, literal

    view = lock_view(warehouse)
    me = f"pid {os.getpid()} host {socket.gethostname()} since {utc_now()} on {warehouse}"
    conn = SparkConnection(_raw(warehouse, None), "default")
    renamed: list[str] = []  # stale views this run renamed: dropped when it is done
    try:
        started = time.monotonic()
        while True:
            try:
                conn.execute(f"create view {view} as select {literal(me)} as holder")
                break
            except SparkError as exc:
                if "ALREADY_EXISTS" not in str(exc):
                    raise
            rows = _holder(conn, view)
            holder = rows[0][0] if rows else "unknown"
            if rows and _holder_is_gone(holder):
                stale = f"{view}_stale_{hashlib.sha256(holder.encode()).hexdigest()[:12]}"
                try:  # only one waiting run can rename the stale view to this name
                    conn.execute(f"alter view {view} rename to {stale}")
                    renamed.append(stale)
                except SparkError:
                    pass
                continue
            on_wait(holder.replace(" host ", " on ").removesuffix(f" on {warehouse}"))
            on_wait = _ignore
            if _waited(started, wait_seconds, poll):
                raise Busy(f"another balancewatch run holds the run lock of {warehouse} "
                           f"({holder}); waited {wait_seconds:.0f} s (--lock-wait SECONDS to "
                           f"wait longer; drop view {view} if that run is gone)")
        yield
    finally:
        try:
            if _owned(conn, view, me):
                conn.execute(f"drop view if exists {view}")
            for stale in renamed:  # kept until now: a late waiter's rename to it must fail
                conn.execute(f"drop view if exists {stale}")
        finally:
            conn.close()


def _holder(conn: SparkConnection, view: str) -> list[tuple]:
    """The lock view's row (none when it is gone)."""
    from balancewatch.spark_sql import SparkError

    try:
        return conn.execute(f"select holder from {view}").fetchall()
    except SparkError as exc:
        if "NOT_FOUND" in str(exc):
            return []
        raise


def _owned(conn: SparkConnection, view: str, me: str) -> bool:
    """Whether the lock view is ours (a run that never got it must not drop another's)."""
    rows = _holder(conn, view)
    return bool(rows) and rows[0][0] == me
