"""Freshness (data health): a warehouse whose data stopped arriving is alerted once per episode,
on the nothing-new path too (without dbt or GX), in the console, ``data_health_alerts`` and one
Slack digest, and resolved once when data arrives (SQLite, PostgreSQL; real CLI runs)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from balancewatch.settings import DBT_DIR
from balancewatch.warehouse import Warehouse
from tests.deel_csv import invoice, organization, write_delivery
from tests.inprocess import run_cli
from tests.slack_server import FakeSlack
from tests.test_cli_ops import REPO, cli

pytest.importorskip("great_expectations")
ORG = "-4611686018427387904"
PROBE = """
import sys
from balancewatch.cli import main
status = main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"dbt", "great_expectations"})
print("probe:", status, heavy or "none")
"""


def delivery(folder: Path, days: list[str], first_id: int) -> Path:
    """One organization paying on each of ``days`` (a steady balance: no swing)."""
    amounts = ["92000.00"] + ["92.00"] * (len(days) - 1)
    return write_delivery(folder, [organization(ORGANIZATION_ID=ORG)], [
        invoice(INVOICE_ID=str(first_id + i), ORGANIZATION_ID=ORG, AMOUNT=amount,
                PAYMENT_AMOUNT=amount.rstrip("0").rstrip("."), CREATED_AT=f"{d}T10:00:00.000Z")
        for i, (d, amount) in enumerate(zip(days, amounts, strict=True))])


def probe(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """``balancewatch <args>`` in a fresh interpreter: (exit, output); the output's last line
    names dbt / GX if the run imported them (the nothing-new runs: they must import neither)."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)
    return done.returncode, done.stdout + done.stderr


def health_rows(warehouse: Warehouse) -> list[tuple]:
    with warehouse.connection() as conn:
        return conn.execute(
            "select subject, episode_start, newest, lag_days, allowance_days, delivery_status, "
            "resolved_at is not null, resolution_status from data_health_alerts "
            "order by episode_start").fetchall()


def digest_texts(slack: FakeSlack) -> list[str]:
    return [str(body) for body in slack.posted]


def test_stale_invoices_alerted_once_on_the_nothing_new_path_and_resolved_once(
    engine_warehouse: Warehouse, tmp_path: Path, slack: FakeSlack
) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": slack.state.token, "SLACK_CHANNEL": "#balance-alerts",
           "SLACK_API_URL": slack.api_url}
    env.pop("SLACK_WEBHOOK_URL", None)
    where = ("--warehouse", engine_warehouse.location())
    first = str(delivery(tmp_path / "d1", ["2024-04-28", "2024-04-29", "2024-04-30"], 1))

    done = run_cli("run", first, *where, "--today", "2024-05-01", env=env)
    status, out = done.returncode, done.stdout + done.stderr
    assert status == 0, out
    assert "build: dbt build" in out and "DATA HEALTH" not in out  # an ordinary fresh delivery
    posted = len(slack.posted)
    for today in ("2024-05-01", "2024-05-02"):  # 1 and 2 days behind: within the allowance
        status, out = probe("run", first, *where, "--today", today, env=env)
        assert status == 0 and "run: nothing new" in out and "probe: 0 none" in out, out
        assert "DATA HEALTH" not in out
    assert health_rows(engine_warehouse) == [] and len(slack.posted) == posted

    status, out = probe("run", first, *where, "--today", "2024-05-03", env=env)
    assert status == 0 and "run: nothing new" in out and "probe: 0 none" in out, out
    assert ("DATA HEALTH: invoices are 3 day(s) behind: newest invoice day 2024-04-30, today "
            "2024-05-03 (allowance 2 day(s)) [warning; new alert]") in out
    assert "slack (web api): sent 1 digest with 0 alert(s), 1 data health alert(s)" in out
    assert len(slack.posted) == posted + 1
    digest = digest_texts(slack)[-1]
    assert "Data health" in digest and "invoices are 3 day(s) behind" in digest
    assert health_rows(engine_warehouse) == [
        ("invoices", "2024-05-03", "2024-04-30", 3, 2, "sent", False, None)]

    status, out = probe("run", first, *where, "--today", "2024-05-04", env=env)
    assert status == 0 and "probe: 0 none" in out, out
    assert ("DATA HEALTH: invoices are 4 day(s) behind: newest invoice day 2024-04-30, today "
            "2024-05-04 (allowance 2 day(s)) [warning; stale since 2024-05-03, already "
            "recorded]") in out
    assert "new alert" not in out and len(slack.posted) == posted + 1
    assert len(health_rows(engine_warehouse)) == 1

    second = str(delivery(tmp_path / "d2", ["2024-05-03", "2024-05-04"], 100))
    done = run_cli("run", second, *where, "--today", "2024-05-04", env=env)
    status, out = done.returncode, done.stdout + done.stderr
    assert status == 0 and "monitor:" in out, out
    assert ("DATA HEALTH RESOLVED: invoices are up to date again: newest invoice day 2024-05-04, "
            "today 2024-05-04 (allowance 2 day(s)); stale since 2024-05-03") in out
    page = Path(re.findall(r"; report (\S+\.html)", out)[-1]).read_text()
    assert '<h2 id="data-health">Data health</h2>' in page
    assert "DATA HEALTH RESOLVED: invoices are up to date again" in page
    assert len(slack.posted) == posted + 2
    assert "resolved · invoices: invoices are up to date again" in digest_texts(slack)[-1]
    assert health_rows(engine_warehouse) == [
        ("invoices", "2024-05-03", "2024-04-30", 3, 2, "sent", True, "sent")]

    status, out = probe("run", second, *where, "--today", "2024-05-05", env=env)
    assert status == 0 and "run: nothing new" in out and "DATA HEALTH" not in out, out
    assert len(slack.posted) == posted + 2


def _project(tmp_path: Path, project: Path, **variables: object) -> Path:
    """``project`` with the repository's dbt_project.yml, ``variables`` changed."""
    text = (DBT_DIR / "dbt_project.yml").read_text()
    for name, value in variables.items():
        old = next(line for line in text.splitlines() if line.startswith(f"  {name}:"))
        text = text.replace(old, f"  {name}: {value}")
    (project / "dbt").mkdir(exist_ok=True)
    (project / "dbt" / "dbt_project.yml").write_text(text)
    return project


def test_load_age_on_its_own_and_critical_severity_exits_1(
    engine_warehouse: Warehouse, tmp_path: Path, project: Path
) -> None:
    from monitors.run import run_monitor

    today = datetime.now(UTC).date()  # load_log records the clock: the run's date is near it
    days = [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    done = run_cli("run", str(delivery(tmp_path / "d", days, 1)), "--warehouse",
               engine_warehouse.location(), "--today", (today + timedelta(days=2)).isoformat())
    assert done.returncode == 0, done.stdout + done.stderr
    later = (today + timedelta(days=2)).isoformat()
    assert f"DATA HEALTH: no load for 2 day(s): last load {today.isoformat()}T" in done.stdout
    assert f"today {later} (allowance 1 day(s)) [warning; new alert]" in done.stdout
    assert "invoices are" not in done.stdout  # 2 days behind: exactly the allowance, not stale
    assert [r[0] for r in health_rows(engine_warehouse)] == ["loads"]

    out = io.StringIO()
    report = run_monitor(engine_warehouse, project_root=_project(
        tmp_path, project, freshness_severity="critical"), out=out, notify_slack=False,
        today=later)
    assert report.exit_code == 1, out.getvalue()
    assert "[CRITICAL; stale since" in out.getvalue()
    assert "monitor: stale data and freshness_severity is critical (exit 1)" in out.getvalue()

    out = io.StringIO()
    report = run_monitor(engine_warehouse, project_root=_project(
        tmp_path, project, freshness_enabled="false"), out=out, notify_slack=False,
        today=(today + timedelta(days=9)).isoformat())
    assert report.exit_code == 0 and "DATA HEALTH" not in out.getvalue(), out.getvalue()


@pytest.mark.parametrize("option, env", [
    (("--today", "2024-02-30"), {}), (("--today", "20240501"), {}),
    ((), {"BALANCEWATCH_TODAY": "tomorrow"})])
def test_a_bad_run_date_exits_2_and_writes_nothing(
    tmp_path: Path, option: tuple[str, ...], env: dict[str, str]
) -> None:
    warehouse = tmp_path / "w.db"
    done = cli("run", str(delivery(tmp_path / "d", ["2024-04-30"], 1)), "--warehouse",
               str(warehouse), *option, env={**os.environ, **env})
    assert done.returncode == 2
    source = "--today" if option else "BALANCEWATCH_TODAY"
    assert f"balancewatch: {source} must be a day YYYY-MM-DD, got" in done.stderr
    assert not warehouse.exists()


def test_the_run_date_defaults_to_the_environment_then_the_clock(monkeypatch) -> None:
    from monitors.findings.freshness import run_date

    monkeypatch.setenv("BALANCEWATCH_TODAY", "2024-05-03")
    assert run_date(None) == date(2024, 5, 3) and run_date("2024-06-01") == date(2024, 6, 1)
    monkeypatch.delenv("BALANCEWATCH_TODAY")
    assert run_date(None) == datetime.now(UTC).date()
