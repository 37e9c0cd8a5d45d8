"""The pipeline as a user runs it: one ``balancewatch`` subprocess per stage, measured."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Measurement, run_measured

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
STAGES = ("load", "build", "monitor")
#: The table each stage's rows per second are counted on (after the stage).
MAIN_TABLE = {"load": "invoices", "build": "fact_daily_balance", "monitor": "fact_daily_balance"}
#: Exit statuses meaning "the stage ran" (0 OK, 1 a critical expectation failed).
RAN = (0, 1)
_FINISHED = re.compile(r"^(\w+): finished in ([0-9.]+) s \(exit (\d+)\)", re.MULTILINE)
# `balancewatch run`'s last line: "run: finished in 9.9 s (load 0.5 s, build 8.6 s, ...; exit 0)"
_RUN_FINISHED = re.compile(r"^run: finished in [0-9.]+ s \(([^;]*); exit \d+\)", re.MULTILINE)
_STAGE_SECONDS = re.compile(r"(\w+) ([0-9.]+) s")
# the monitor's three groups, as its alert block prints them
_FOUND = {
    "new_day_swings": re.compile(r"^BALANCE SWINGS: (\d+) day\(s\)", re.MULTILINE),
    # the anomaly rule (when on): its days on new days, and how many of them are swings too
    "new_day_anomalies": re.compile(r"^BALANCE ANOMALIES: (\d+) day\(s\)", re.MULTILINE),
    "new_day_anomalies_also_swings": re.compile(
        r"^BALANCE ANOMALIES: \d+ day\(s\) .*?; (\d+) of them swings too", re.MULTILINE),
    "late_data_swings": re.compile(r"^LATE DATA: (\d+) swing\(s\)", re.MULTILINE),
    "resolved_alerts": re.compile(r"^RESOLVED: (\d+) alert\(s\)", re.MULTILINE),
}


@dataclass
class StageResult:
    """One pipeline stage: measured, or skipped with the reason."""

    stage: str
    status: str  # "ran" | "failed" | "skipped"
    reason: str = ""
    measurement: Measurement | None = None
    rows: int | None = None


@dataclass
class IncrementalResult:
    """``balancewatch run`` on a follow-up delivery, on top of the full history."""

    measurement: Measurement
    stages: dict[str, float] = field(default_factory=dict)  # as printed by the CLI itself
    found: dict[str, int] = field(default_factory=dict)  # per rule on new days; late; resolved


def cli(*args: str) -> list[str]:
    """The ``balancewatch`` command line, run with this interpreter."""
    return [sys.executable, "-m", "balancewatch", *args]


def stage_env(warehouse: Path | str, dbt_dir: Path) -> dict[str, str]:
    """The stages' environment: this one, minus Slack settings (a bench never posts), with the
    warehouse and a private dbt target/log directory (fresh, so dbt parses cold)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["BALANCEWATCH_WAREHOUSE"] = str(warehouse)
    env["DBT_TARGET_PATH"] = str(dbt_dir / "target")
    env["DBT_LOG_PATH"] = str(dbt_dir / "logs")
    return env


def available_subcommands() -> dict[str, bool]:
    """Which of ``load``/``build``/``monitor``/``run`` this checkout's CLI has (argparse exits 2
    on an unknown subcommand, 0 on ``SUB --help``)."""
    found = {}
    for name in (*STAGES, "run"):
        done = subprocess.run(cli(name, "--help"), cwd=REPO_ROOT, capture_output=True, text=True)
        found[name] = done.returncode == 0
    return found


def count_rows(warehouse: Path | str, table: str) -> int | None:
    """Rows of ``table`` in the warehouse (a SQLite file or a PostgreSQL URL), None when it does
    not exist."""
    if str(warehouse).startswith("postgresql"):
        from balancewatch.warehouse import database_errors, parse

        try:
            with parse(str(warehouse)).connection(read_only=True) as conn:
                return conn.scalar(f"select count(*) from {table}")
        except database_errors():
            return None
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        return None
    conn = sqlite3.connect(f"file:{warehouse}?mode=ro", uri=True)
    try:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


def run_stages(
    delivery: Path, warehouse: Path | str, logs: Path, env: dict[str, str],
    available: dict[str, bool],
) -> list[StageResult]:
    """Each available stage on the (fresh) warehouse, in order; stops after a failed stage."""
    results: list[StageResult] = []
    failed = False
    for stage in STAGES:
        if not available[stage]:
            reason = f"`balancewatch {stage}` does not exist in this checkout yet"
            results.append(StageResult(stage, "skipped", reason))
            continue
        if failed:
            results.append(StageResult(stage, "skipped", "an earlier stage failed"))
            continue
        args = [stage, str(delivery)] if stage == "load" else [stage]
        measured = run_measured(
            cli(*args, "--warehouse", str(warehouse)),
            logs / f"{stage}.log",
            env=env,
            cwd=REPO_ROOT,
        )
        ok = measured.exit_code in RAN
        result = StageResult(stage, "ran" if ok else "failed", measurement=measured)
        if ok:
            result.rows = count_rows(warehouse, MAIN_TABLE[stage])
            if measured.exit_code == 1:
                result.reason = "exit 1: a critical expectation failed (the stage ran)"
        else:
            result.reason = f"exit {measured.exit_code}; see {measured.log}"
            failed = True
        results.append(result)
    return results


def run_make_pipeline(delivery: Path, warehouse: Path | str, log: Path, env: dict[str, str]
                      ) -> Measurement:
    """``make pipeline DATA_DIR=... WAREHOUSE=...``, as a user types it (venv ready)."""
    return run_measured(
        ["make", "--no-print-directory", "-s", "pipeline", f"DATA_DIR={delivery}",
         f"WAREHOUSE={warehouse}", f"VENV={Path(sys.executable).parent.parent}"],
        log, env=env, cwd=REPO_ROOT,
    )


def run_incremental(
    delivery: Path, warehouse: Path | str, logs: Path, env: dict[str, str],
    name: str = "incremental",
) -> IncrementalResult:
    """``balancewatch run FOLLOW_UP --warehouse W``: every stage the CLI's ``run`` has."""
    measured = run_measured(
        cli("run", str(delivery), "--warehouse", str(warehouse)),
        logs / f"{name}_run.log",
        env=env,
        cwd=REPO_ROOT,
    )
    text = Path(measured.log).read_text(errors="replace")
    stages = {name: float(seconds) for name, seconds, _ in _FINISHED.findall(text)}
    for each in _RUN_FINISHED.findall(text):
        stages.update((name, float(seconds)) for name, seconds in _STAGE_SECONDS.findall(each))
    found = {key: sum(int(n) for n in pattern.findall(text)) for key, pattern in _FOUND.items()}
    return IncrementalResult(measured, stages, found)
