"""The floor: the same work done by the ``sqlite3`` shell alone, on the same data.

* load: the delivery's CSVs imported with the shell's own ``.import`` into tables with the
  loader's columns, types and keys (``sql/floor_schema.sql``);
* build: ``fact_daily_balance`` as one hand-written statement (``sql/floor_daily_balance.sql``);
* monitor: the swing check as one statement over the whole fact (``sql/floor_swings.sql``).

Each runs as its own ``sqlite3`` process, measured like a pipeline stage.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measurement, run_measured

SQL_DIR = Path(__file__).resolve().parent / "sql"
INSTALL_HINT = (
    "the floor needs the sqlite3 command-line shell (Debian's sqlite3 package), which is not "
    "installed: run `apt-get install -y sqlite3` (as root) and try again"
)


class FloorUnavailable(RuntimeError):
    """The ``sqlite3`` shell is missing."""


@dataclass(frozen=True)
class FloorStage:
    """One measured floor step and the rows it produced or read."""

    stage: str
    measurement: Measurement
    rows: int
    description: str


def sqlite3_shell() -> tuple[str, str]:
    """Path and version of the ``sqlite3`` shell, or :class:`FloorUnavailable`."""
    path = shutil.which("sqlite3")
    if path is None:
        raise FloorUnavailable(INSTALL_HINT)
    version = subprocess.run(
        [path, "-version"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    return path, version


def _quote(path: Path) -> str:
    """A path as a dot-command argument of the sqlite3 shell."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _load_script(delivery: Path, script: Path) -> Path:
    lines = [".bail on", f".read {_quote(SQL_DIR / 'floor_schema.sql')}"]
    for table in ("organizations", "invoices"):
        for csv in sorted(delivery.glob(f"{table}*.csv")):
            lines.append(f".import --csv --skip 1 {_quote(csv)} {table}")
    script.write_text("\n".join(lines) + "\n")
    return script


def _count(database: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        conn.close()


def _checked(measurement: Measurement, what: str) -> Measurement:
    if measurement.exit_code != 0:
        raise RuntimeError(
            f"floor {what} failed (exit {measurement.exit_code}):\n{measurement.tail()}"
        )
    return measurement


def measure_floor(delivery: Path, database: Path, logs: Path) -> list[FloorStage]:
    """Load, build and check ``delivery`` with the sqlite3 shell into a fresh ``database``."""
    shell, _ = sqlite3_shell()
    database.unlink(missing_ok=True)
    script = _load_script(delivery, logs / "floor_load.sqlite3")
    load = _checked(
        run_measured([shell, str(database)], logs / "floor_load.log", stdin=script), "load"
    )
    build = _checked(
        run_measured(
            [shell, str(database)],
            logs / "floor_build.log",
            stdin=SQL_DIR / "floor_daily_balance.sql",
        ),
        "build",
    )
    monitor = _checked(
        run_measured(
            [shell, str(database)], logs / "floor_monitor.log", stdin=SQL_DIR / "floor_swings.sql"
        ),
        "monitor",
    )
    fact_rows = _count(database, "fact_daily_balance")
    return [
        FloorStage("load", load, _count(database, "invoices"), "sqlite3 .import of the CSVs"),
        FloorStage("build", build, fact_rows, "one statement: floor_daily_balance.sql"),
        FloorStage("monitor", monitor, fact_rows, "one statement: floor_swings.sql"),
    ]
