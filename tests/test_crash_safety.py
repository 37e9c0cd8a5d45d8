"""Crash safety, proved: a run killed (SIGKILL) inside each stage, then run again, ends as if
nothing had happened, and Slack hears of every alert exactly once.

The day under test is a second delivery (the tiny preset's next 7 days: new-day and late-data
swings and a resolution) on a warehouse that loaded, built, checked and sent the first one. One
run of it is killed mid-load, the next mid-build, the next while recording its alerts, the next
after Slack accepted its digest but before the run heard so; a last run finishes. Each kill is
held at its point by a lock the test holds (tests/crash_points.py), never timed by a sleep. The
warehouse then equals the one an uninterrupted run of the same delivery left (raw rows, the load
log, the five models, alerts and their evidence, the watermark; timestamps and run ids aside),
and the digests and thread replies posted over all those runs name each alert and resolution the
uninterrupted run sent exactly once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from balancewatch.warehouse import Warehouse
from tests.conftest import copied_warehouse, fresh_warehouse
from tests.crash_points import REPO, PostgresLock, Run, SqliteGate, is_sqlite
from tests.slack_server import FakeSlack

TABLES = ("organizations", "invoices", "load_log", "stg_organizations", "stg_invoices",
          "fact_invoices", "dim_organizations", "fact_daily_balance", "balance_alerts",
          "balance_alert_causes", "balance_alert_context", "monitor_state")
#: When a row was written, by which run or message: compared only as set / not set.
VOLATILE = {"file_id", "loaded_at", "seconds", "first_seen_at", "sent_at", "message_ts",
            "updated_at", "resolved_at", "resolution_sent_at", "message_channel", "chart_file_id"}
SWING_LINE = re.compile(r"^\d+\. \*org (-?\d+)\* · (\d{4}-\d{2}-\d{2}) · ", re.MULTILINE)
RESOLVED_LINE = re.compile(r"resolved: org (-?\d+) on (\d{4}-\d{2}-\d{2})")


def generate(out: Path, *extra: str) -> Path:
    subprocess.run([sys.executable, "-m", "data.generate", "--out", str(out), "--preset", "tiny",
                    "--seed", "2024", *extra], cwd=REPO, check=True, capture_output=True)
    (out / "PLANTED.md").unlink(missing_ok=True)
    return out


def run_env(slack: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return {**env, "SLACK_API_URL": slack.api_url, "SLACK_BOT_TOKEN": slack.state.token,
            "SLACK_CHANNEL": "#balance-alerts"}


def slack_like(messages: dict[str, Any]) -> FakeSlack:
    """A Slack server whose channel already holds ``messages``; its message timestamps are
    epoch seconds of now on, as Slack's are."""
    server = FakeSlack()
    server.state.messages.update(messages)
    server.state.next_ts = max([int(time.time()), *(int(float(ts)) for ts in messages)])
    return server


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every compared table's rows, sorted; volatile columns reduced to whether they are set."""
    tables = {}
    with warehouse.connection() as conn:
        for table in TABLES:
            columns = sorted(conn.column_names(table))
            select = ", ".join(f"{c} is not null" if c in VOLATILE else c for c in columns)
            rows = conn.execute(f"select {select} from {table}").fetchall()
            tables[table] = sorted(
                (tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows),
                key=repr)
    return tables


def said(slack: FakeSlack) -> tuple[Counter, Counter]:
    """(alerts named in digests, resolutions named in thread replies), each a count per
    (organization, day)."""
    alerts: Counter = Counter()
    resolutions: Counter = Counter()
    for body in slack.posted:
        text = "\n".join(b["text"]["text"] for b in body.get("blocks") or [] if "text" in b
                         and isinstance(b["text"], dict))
        if body.get("thread_ts"):
            resolutions.update((int(o), d) for o, d in RESOLVED_LINE.findall(body.get("text")))
        else:
            alerts.update((int(o), d) for o, d in SWING_LINE.findall(text))
    return alerts, resolutions


@dataclass
class Day1:
    warehouse: Warehouse
    messages: dict[str, Any]  # the channel after day 1's digest
    day2: Path


@dataclass
class Reference:
    tables: dict[str, list[tuple]]
    alerts: Counter
    resolutions: Counter


@pytest.fixture(scope="module")
def day1(module_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day1]:
    """A warehouse that loaded, built, checked and sent the first delivery."""
    folder = tmp_path_factory.mktemp(f"crash-{module_engine}")
    first = generate(folder / "day1")
    second = generate(folder / "day2", "--follow-up-days", "7")
    with fresh_warehouse(module_engine, folder) as warehouse, slack_like({}) as slack:
        run = Run(first, warehouse, run_env(slack))
        assert run.finish() == 0, run.output
        yield Day1(warehouse, dict(slack.state.messages), second)


@pytest.fixture(scope="module")
def reference(day1: Day1, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """What an uninterrupted run of the second delivery leaves and says."""
    with copied_warehouse(day1.warehouse, tmp_path_factory.mktemp("reference")) as warehouse, \
            slack_like(day1.messages) as slack:
        run = Run(day1.day2, warehouse, run_env(slack))
        assert run.finish() == 0, run.output
        alerts, resolutions = said(slack)
        assert alerts and resolutions, run.output  # the day has both to lose or repeat
        return Reference(snapshot(warehouse), alerts, resolutions)


def kill_mid_load(warehouse: Warehouse, day2: Path, env: dict[str, str]) -> None:
    """Organizations written, invoices being written (PostgreSQL) / every row written, the
    commit waiting (SQLite)."""
    if is_sqlite(warehouse):
        gate = SqliteGate(warehouse.path)
        gate.hold()
        run = Run(day2, warehouse, env)
        try:
            gate.wait_for_writer(run)  # the run's first write is the delivery's commit
            run.wait_for_line("load:")
            run.kill()
        finally:
            gate.close()
        return
    lock = PostgresLock(warehouse, "invoices", "share")
    run = Run(day2, warehouse, env)
    try:
        lock.wait_for("insert into invoices", run)
        run.kill()
    finally:
        lock.release()


def kill_mid_build(warehouse: Warehouse, day2: Path, env: dict[str, str], load_id: int) -> None:
    """The delivery loaded, dbt has rebuilt staging, fact_daily_balance not yet."""
    if is_sqlite(warehouse):
        gate = SqliteGate(warehouse.path)
        gate.hold()
        run = Run(day2, warehouse, env)
        try:
            gate.wait_for_writer(run)
            while gate.read("select max(_load_id) from stg_invoices")[0][0] != load_id:
                gate.step(run)
            assert gate.read("select max(_load_id) from fact_daily_balance")[0][0] != load_id
            run.kill()
        finally:
            gate.close()
        return
    lock = PostgresLock(warehouse, "fact_daily_balance", "access exclusive")
    run = Run(day2, warehouse, env)
    try:
        lock.wait_for("fact_daily_balance", run)
        run.kill()
    finally:
        lock.release()


def kill_while_recording(warehouse: Warehouse, day2: Path, env: dict[str, str]) -> None:
    """The checks done, the alerts' transaction written up to balance_alerts (PostgreSQL) / to
    its commit (SQLite)."""
    if is_sqlite(warehouse):
        run = Run(day2, warehouse, env)
        run.wait_for_line("checkpoint staging:")  # the next write is the recording's
        gate = SqliteGate(warehouse.path)
        try:
            gate.hold()
            gate.wait_for_writer(run)
            run.kill()
        finally:
            gate.close()
        return
    lock = PostgresLock(warehouse, "balance_alerts", "share")
    run = Run(day2, warehouse, env)
    try:
        lock.wait_for("balance_alerts", run)
        run.kill()
    finally:
        lock.release()


def kill_after_slack_accepted(warehouse: Warehouse, day2: Path, slack: FakeSlack,
                              env: dict[str, str]) -> None:
    hold = slack.hold_next_post()
    run = Run(day2, warehouse, env)
    try:
        assert hold.accepted.wait(120), run.output
        run.kill()
    finally:
        hold.release.set()


def test_a_run_killed_in_each_stage_ends_as_an_uninterrupted_run_and_says_each_alert_once(
    day1: Day1, reference: Reference, tmp_path: Path
) -> None:
    with copied_warehouse(day1.warehouse, tmp_path) as warehouse, \
            slack_like(day1.messages) as slack:
        env = run_env(slack)
        before = snapshot(warehouse)
        with warehouse.connection() as conn:
            load_id = conn.scalar("select max(load_id) from load_log") + 1

        kill_mid_load(warehouse, day1.day2, env)
        after = snapshot(warehouse)
        for table in ("organizations", "invoices", "load_log"):
            assert after[table] == before[table], f"mid-load kill left {table} half-written"

        kill_mid_build(warehouse, day1.day2, env, load_id)
        after = snapshot(warehouse)
        assert after["load_log"] != before["load_log"]  # this run's load was committed
        assert after["monitor_state"] == before["monitor_state"]

        kill_while_recording(warehouse, day1.day2, env)
        after = snapshot(warehouse)
        for table in ("balance_alerts", "balance_alert_causes", "monitor_state"):
            assert after[table] == before[table], f"a kill while recording changed {table}"

        kill_after_slack_accepted(warehouse, day1.day2, slack, env)
        assert len(slack.posted) == 1  # Slack has the digest; the run never heard

        last = Run(day1.day2, warehouse, env)
        assert last.finish() == 0, last.output
        assert snapshot(warehouse) == reference.tables
        alerts, resolutions = said(slack)
        assert alerts == reference.alerts, "an alert was lost or sent twice"
        assert resolutions == reference.resolutions, "a resolution was lost or sent twice"
