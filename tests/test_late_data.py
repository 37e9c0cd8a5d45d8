"""Late data end to end: six daily deltas with late payments, refunds and late invoices, each one
loaded, built and monitored as a scheduler would, with Slack on a local test server.

The expected alerts come from the independent oracle in ``tests/late_data.py`` (plain Python over
the CSV files), never from the code under test. On both engines. The oracle knows the swing rule
only, so these runs turn the anomaly rule off (``anomaly_enabled: false``, as a user would);
``tests/test_anomaly_pipeline.py`` covers the anomaly rule's late data.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from balancewatch.build import build
from balancewatch.warehouse import Warehouse
from loaders import load_delivery
from monitors.run import MonitorReport, run_monitor
from tests.conftest import fresh_warehouse, swing_only_project
from tests.late_data import (
    ORG_A,
    ORG_B,
    ORG_C,
    ORG_D,
    alert_log,
    daily_balances,
    delivery_sequence,
    expected_alerts,
    invoices_as_of,
    swings,
)
from tests.slack_server import FakeSlack

pytestmark = pytest.mark.spark

RESOLVED_COLUMNS = ("organization_id", "balance_date", "detected_as", "resolved_at", "resolution",
                    "resolution_status", "message_ts", "delivery_status", "restated_by_load_id")


@dataclass
class Sequence:
    """Every delivery of the sequence, the monitor's report and console after each, Slack."""

    deliveries: list[Path]
    warehouse: Warehouse
    project: Path
    slack: FakeSlack
    reports: list[MonitorReport] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    alerts_after: list[dict[tuple[int, str], dict]] = field(default_factory=list)


def alerts_table(warehouse: Warehouse) -> dict[tuple[int, str], dict]:
    with warehouse.connection() as conn:
        rows = conn.execute(
            f"select {', '.join(RESOLVED_COLUMNS)} from balance_alerts"
        ).fetchall()
    return {(int(r[0]), r[1]): dict(zip(RESOLVED_COLUMNS, r)) for r in rows}


def monitor(sequence: Sequence) -> tuple[MonitorReport, str]:
    out = io.StringIO()
    report = run_monitor(sequence.warehouse, project_root=sequence.project, out=out)
    return report, out.getvalue()


@pytest.fixture(scope="module")
def sequence(module_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sequence]:
    """The sequence run once per engine: load, build, monitor after every delivery."""
    root = tmp_path_factory.mktemp(f"late-{module_engine}")
    deliveries = delivery_sequence(root / "deliveries")
    project = swing_only_project(root / "project")
    with FakeSlack() as slack, fresh_warehouse(module_engine, root) as warehouse:
        with pytest.MonkeyPatch.context() as env:
            for name in ("SLACK_WEBHOOK_URL", "BALANCEWATCH_DOCS_URL"):
                env.delenv(name, raising=False)
            env.setenv("SLACK_BOT_TOKEN", slack.state.token)
            env.setenv("SLACK_CHANNEL", "#balance-alerts")
            env.setenv("SLACK_API_URL", slack.api_url)
            run = Sequence(deliveries, warehouse, project, slack)
            for delivery in deliveries:
                load_delivery(delivery, warehouse)
                assert build(warehouse, target_path=root / "dbt-target") == 0
                report, out = monitor(run)
                assert report.exit_code == 0, out
                run.reports.append(report)
                run.outputs.append(out)
                run.alerts_after.append(alerts_table(warehouse))
            yield run


def test_every_swing_of_every_state_is_alerted_once(sequence: Sequence) -> None:
    every, _ = expected_alerts(sequence.deliveries)
    recorded = sequence.alerts_after[-1]
    assert set(recorded) == every
    with sequence.warehouse.connection() as conn:
        rows = conn.scalar("select count(*) from balance_alerts")
    assert rows == len(every)  # no key twice
    # each alert appeared after the delivery the oracle says, labelled as the oracle says
    for key, expected in alert_log(sequence.deliveries).items():
        first = next(i for i, state in enumerate(sequence.alerts_after) if key in state)
        assert first == expected["sent"], key
        assert recorded[key]["detected_as"] == expected["detected_as"], key


def test_alerts_whose_day_no_longer_swings_are_resolved(sequence: Sequence) -> None:
    every, still = expected_alerts(sequence.deliveries)
    recorded = sequence.alerts_after[-1]
    assert {k for k, a in recorded.items() if a["resolved_at"] is None} == still
    assert {k for k, a in recorded.items() if a["resolved_at"] is not None} == every - still
    for key, expected in alert_log(sequence.deliveries).items():
        if expected["resolved"] is None:
            continue
        first = next(i for i, s in enumerate(sequence.alerts_after)
                     if s.get(key, {}).get("resolved_at"))
        assert first == expected["resolved"], key
        resolution = recorded[key]["resolution"]
        assert resolution.startswith("no longer a swing: ") and " USD after load " in resolution


def test_resolution_is_posted_once_in_the_thread_of_the_digest_that_carried_it(
    sequence: Sequence,
) -> None:
    recorded = sequence.alerts_after[-1]
    resolved = {k: a for k, a in recorded.items() if a["resolved_at"] is not None}
    assert resolved
    replies = sequence.slack.state.replies
    for (org, day), alert in resolved.items():
        assert alert["delivery_status"] == "sent" and alert["resolution_status"] == "sent"
        thread = replies.get(alert["message_ts"], [])
        mentions = [r for r in thread if f"org {org}* · {day}" in str(r["blocks"])]
        assert len(mentions) == 1, (org, day)
        assert mentions[0]["thread_ts"] == alert["message_ts"]
    # replies only for resolutions: nothing else is threaded
    posted_in_threads = sum(len(v) for v in replies.values())
    assert posted_in_threads == len({a["message_ts"] for a in resolved.values()})


def test_restating_a_day_re_evaluates_the_next_one(sequence: Sequence) -> None:
    log = alert_log(sequence.deliveries)
    # C: a refund on 02-04 (-30 %, no swing) moves 02-05's previous balance: 02-05 swings
    assert log[(ORG_C, "2024-02-05")]["detected_as"] == "late_data"
    assert (ORG_C, "2024-02-04") not in log
    assert (ORG_C, "2024-02-05") in sequence.alerts_after[-1]
    # B: a late invoice on 01-20 makes 01-21 (alerted in the first run) stop swinging
    assert sequence.alerts_after[-1][(ORG_B, "2024-01-21")]["resolved_at"] is not None
    late_load = sequence.alerts_after[-1][(ORG_C, "2024-02-05")]["restated_by_load_id"]
    assert late_load is not None and late_load > 1


def test_a_restatement_before_the_first_evaluated_day_is_not_alerted(sequence: Sequence) -> None:
    final = daily_balances(invoices_as_of(sequence.deliveries))
    anywhere = swings(final, from_day="")
    assert (ORG_D, "2024-01-05") in anywhere  # it does swing now ...
    assert (ORG_D, "2024-01-05") not in sequence.alerts_after[-1]  # ... before the first run's days


def test_console_and_digest_show_the_three_groups(sequence: Sequence) -> None:
    out = sequence.outputs[1]  # delta 1: A's 02-01 restated by a late payment
    assert "LATE DATA: 1 swing(s) on days evaluated before" in out
    assert str(ORG_A) in out.split("LATE DATA")[1] and "2024-02-01" in out
    resolved_out = sequence.outputs[3]  # delta 3: A's refund and B's late invoice
    assert "RESOLVED: 2 alert(s) whose day no longer swings" in resolved_out
    digests = [p for p in sequence.slack.state.posted if "thread_ts" not in p]
    late_digest = str(digests[1]["blocks"])
    assert "Swings found in late data" in late_digest and "restated by load" in late_digest
    assert "resolved in the thread" in str(digests[3]["blocks"])


def test_a_re_run_adds_nothing(sequence: Sequence) -> None:
    posts = len(sequence.slack.state.posted)
    before = alerts_table(sequence.warehouse)
    report, out = monitor(sequence)
    assert report.exit_code == 0 and report.new_alerts == 0 and not report.resolved
    assert alerts_table(sequence.warehouse) == before
    assert len(sequence.slack.state.posted) == posts


def test_a_failing_run_records_nothing_and_the_next_run_catches_the_late_swing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite, webhook mode: delta 1's run fails a critical check (nothing recorded, watermark
    kept); once fixed, the next run still alerts delta 1's late swing, and delta 3's resolutions
    reach the webhook in the next digest."""
    deliveries = delivery_sequence(tmp_path / "deliveries")[:4]
    swing_only_project(tmp_path / "project")
    with FakeSlack() as slack, fresh_warehouse("sqlite", tmp_path) as warehouse:
        for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "BALANCEWATCH_DOCS_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
        run = Sequence(deliveries, warehouse, tmp_path / "project", slack)

        def deliver(index: int) -> None:
            load_delivery(deliveries[index], warehouse)
            assert build(warehouse, target_path=tmp_path / "dbt-target") == 0

        deliver(0)
        assert monitor(run)[0].exit_code == 0
        first = alerts_table(warehouse)
        deliver(1)
        with warehouse.connection() as conn:
            newest = conn.scalar("select max(_load_id) from stg_invoices")
            conn.execute("update stg_invoices set amount = -amount where _load_id = ?", (newest,))
        report, out = monitor(run)
        assert report.exit_code == 1 and "alerts not recorded, watermark not moved" in out
        assert alerts_table(warehouse) == first
        with warehouse.connection() as conn:
            conn.execute("update stg_invoices set amount = -amount where _load_id = ?", (newest,))
        report, out = monitor(run)
        assert report.exit_code == 0
        late = alerts_table(warehouse)[(ORG_A, "2024-02-01")]
        assert late["detected_as"] == "late_data" and late["delivery_status"] == "sent"
        deliver(2)
        deliver(3)
        report, out = monitor(run)  # two deliveries, one run: A's and B's alerts resolved
        assert {(r.organization_id, r.balance_date) for r in report.resolved} == {
            (ORG_A, "2024-02-01"), (ORG_B, "2024-01-21")}
        final = alerts_table(warehouse)
        assert final[(ORG_A, "2024-02-01")]["resolution_status"] == "sent"
        last = slack.state.posted[-1]
        assert f"resolved: org {ORG_A} on 2024-02-01: no longer a swing" in last["text"]
        assert "thread_ts" not in last


def causes_of(warehouse: Warehouse, org: int, day: str) -> list[tuple]:
    with warehouse.connection() as conn:
        return [tuple(r) for r in conn.execute(
            "select invoice_id, status, currency, amount, effect_usd, changed_by_load_id, "
            "previous_status from balance_alert_causes where organization_id = ? "
            "and balance_date = ? order by cause_rank", (org, day)).fetchall()]


def test_each_alert_stores_the_invoices_behind_its_day(sequence: Sequence) -> None:
    # D's new day 02-11: one payment of 1,000 USD made the swing: it comes first, with its effect
    top = causes_of(sequence.warehouse, ORG_D, "2024-02-11")[0]
    assert top[1:5] == ("paid", "USD", 1000.0, 1000.0) and top[5] is None
    # A's late swing on 02-01: the EUR 736.00 invoice (800 USD) paid by delta 1, which was open
    late = causes_of(sequence.warehouse, ORG_A, "2024-02-01")
    assert late[0][1:3] == ("paid", "EUR") and late[0][4] == pytest.approx(800.0)
    with sequence.warehouse.connection() as conn:
        loads = [r[0] for r in conn.execute(
            "select distinct load_id from load_log where table_name = 'invoices' order by 1")]
        context = conn.execute(
            "select c.daily_change_usd, f.daily_change_usd from balance_alert_context as c "
            "join fact_daily_balance as f on f.organization_id = c.organization_id "
            "and f.balance_date = c.balance_date join balance_alerts as a "
            "on a.organization_id = c.organization_id and a.balance_date = c.balance_date "
            "where a.resolved_at is null"  # a resolved alert keeps the evidence it was sent with
        ).fetchall()
    assert late[0][5] == loads[1] and late[0][6] == "open"  # the load of delta 1
    # what the listed causes leave out is kept, so causes + the rest = the day's change
    assert context
    for stored_change, fact_change in context:
        assert stored_change == pytest.approx(fact_change, abs=1e-6)
    with sequence.warehouse.connection() as conn:
        for org, day, count, other, change in conn.execute(
                "select organization_id, balance_date, invoice_count, other_effect_usd, "
                "daily_change_usd from balance_alert_context").fetchall():
            listed = sum(c[4] for c in causes_of(sequence.warehouse, org, day))
            assert listed + other == pytest.approx(change, abs=1e-6)
            if count <= 5:
                assert other == 0
