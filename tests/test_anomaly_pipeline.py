"""The anomaly rule end to end: Deel CSV deliveries loaded, built by dbt and monitored through the
real GX checkpoints, on SQLite and PostgreSQL, with Slack on the Slack-compatible test server.

One year of history for six organizations, then two deliveries:

* ``STABLE`` pays 1 % of its balance now and then and loses 35 % on 2024-04-15: an anomaly (no
  swing), with its figures and why; its ordinary days raise nothing;
* ``MOVER`` grows 60 % on every 1st: a swing on each 1st, never an anomaly;
* ``BOTH`` loses 80 % on 2024-04-20: a swing and an anomaly, one line in the digest;
* ``YOUNG`` starts on 2024-04-20 and loses 35 % four days later: too little history, not judged;
* ``SMALL`` loses 35 % of $50 (under the $20 materiality floor this project sets): nothing;
* delivery 2 re-sends ``STABLE``'s refund as cancelled (late data): the anomaly is resolved, and
  the resolution is posted once in the thread of the digest that carried it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

pytest.importorskip("great_expectations")

from balancewatch.build import build  # noqa: E402
from balancewatch.warehouse import Warehouse  # noqa: E402
from loaders import load_delivery  # noqa: E402
from monitors.run import MonitorReport, run_monitor  # noqa: E402
from tests.conftest import fresh_warehouse, project_with_vars  # noqa: E402
from tests.deel_csv import invoice, organization, write_delivery  # noqa: E402
from tests.slack_server import FakeSlack  # noqa: E402

STABLE, MOVER, BOTH, YOUNG, SMALL, CLOCK = 101, 102, 103, 104, 105, 106
REFUND_ID = 9_001
FLOOR_USD = 20


def usd(inv_id: int, org: int, day: str, amount: float, status: str = "paid") -> dict[str, str]:
    return invoice(INVOICE_ID=str(inv_id), ORGANIZATION_ID=str(org), STATUS=status,
                   CURRENCY="USD", PAYMENT_CURRENCY="USD", AMOUNT=f"{amount:.2f}",
                   PAYMENT_AMOUNT=f"{amount:.2f}", FX_RATE="1.00000000",
                   FX_RATE_PAYMENT="1.00000000", CREATED_AT=f"{day}T10:00:00.000Z")


def days(first: str, last: str) -> list[str]:
    d, out = date.fromisoformat(first), []
    while d.isoformat() <= last:
        out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def history() -> tuple[list[dict[str, str]], float]:
    """Delivery 1's invoices (2023-10-02 .. 2024-04-30), and STABLE's balance before its loss."""
    ids = iter(range(1, 100_000))
    rows = [usd(next(ids), org, "2023-10-02", amount)
            for org, amount in ((STABLE, 10_000), (MOVER, 1_000), (BOTH, 10_000), (SMALL, 50))]
    stable = 10_000.0
    for n, day in enumerate(days("2023-10-03", "2024-04-14")):
        if n % 10 == 5 and not day.endswith("-01"):  # +1 % now and then
            rows.append(usd(next(ids), STABLE, day, round(stable * 0.01, 2)))
            stable += round(stable * 0.01, 2)
    mover = 1_000.0
    for day in days("2023-11-01", "2024-04-01"):
        if day.endswith("-01"):
            rows.append(usd(next(ids), MOVER, day, round(mover * 0.6, 2)))
            mover += round(mover * 0.6, 2)
    rows += [
        usd(REFUND_ID, STABLE, "2024-04-15", round(stable * 0.35, 2), "refunded"),
        usd(next(ids), BOTH, "2024-04-20", 8_000, "refunded"),
        usd(next(ids), YOUNG, "2024-04-20", 10_000),
        usd(next(ids), YOUNG, "2024-04-24", 3_500, "refunded"),
        usd(next(ids), SMALL, "2024-04-16", 17.5, "refunded"),
        usd(next(ids), CLOCK, "2024-04-30", 10),
    ]
    return rows, stable


@dataclass
class Sequence:
    warehouse: Warehouse
    slack: FakeSlack
    stable_before: float
    reports: list[MonitorReport] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    alerts: list[dict[tuple[int, str, str], dict]] = field(default_factory=list)


COLUMNS = ("organization_id", "balance_date", "rule", "detected_as", "resolved_at", "resolution",
           "resolution_status", "delivery_status", "message_ts", "change_pct", "day_kind",
           "baseline_median_pct", "baseline_days", "anomaly_score")


def alerts_table(warehouse: Warehouse) -> dict[tuple[int, str, str], dict]:
    with warehouse.connection() as conn:
        rows = conn.execute(f"select {', '.join(COLUMNS)} from balance_alerts").fetchall()
    return {(int(r[0]), r[1], r[2]): dict(zip(COLUMNS, r, strict=True)) for r in rows}


@pytest.fixture(scope="module")
def sequence(module_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sequence]:
    root = tmp_path_factory.mktemp(f"anomaly-{module_engine}")
    project = project_with_vars(root / "project", balance_swing_min_usd=FLOOR_USD)
    orgs = [organization(ORGANIZATION_ID=str(o)) for o in (STABLE, MOVER, BOTH, YOUNG, SMALL,
                                                            CLOCK)]
    rows, stable = history()
    refund = next(r for r in rows if r["INVOICE_ID"] == str(REFUND_ID))
    # delivery 2: MOVER's +60 % on 2024-05-01, and STABLE's refund re-sent as cancelled
    mover = sum(float(r["AMOUNT"]) for r in rows if r["ORGANIZATION_ID"] == str(MOVER))
    deliveries = [
        write_delivery(root / "d1", orgs, rows),
        write_delivery(root / "d2", [], [usd(50_000, MOVER, "2024-05-01", round(mover * 0.6, 2)),
                                         {**refund, "STATUS": "cancelled"}]),
    ]
    with FakeSlack() as slack, fresh_warehouse(module_engine, root) as warehouse:
        with pytest.MonkeyPatch.context() as env:
            for name in ("SLACK_WEBHOOK_URL", "BALANCEWATCH_DOCS_URL"):
                env.delenv(name, raising=False)
            env.setenv("SLACK_BOT_TOKEN", slack.state.token)
            env.setenv("SLACK_CHANNEL", "#balance-alerts")
            env.setenv("SLACK_API_URL", slack.api_url)
            run = Sequence(warehouse, slack, stable)
            for delivery in deliveries:
                load_delivery(delivery, warehouse)
                assert build(warehouse, target_path=root / "dbt-target") == 0
                out = io.StringIO()
                report = run_monitor(warehouse, project_root=project, out=out)
                assert report.exit_code == 0, out.getvalue()
                run.reports.append(report)
                run.outputs.append(out.getvalue())
                run.alerts.append(alerts_table(warehouse))
            yield run


def test_a_stable_organization_losing_35_percent_mid_month_is_an_anomaly(sequence) -> None:
    first = sequence.alerts[0]
    stable = {k for k in first if k[0] == STABLE}
    assert stable == {(STABLE, "2024-04-15", "anomaly")}  # no swing, no ordinary day
    a = first[(STABLE, "2024-04-15", "anomaly")]
    assert a["change_pct"] == pytest.approx(-35.0, abs=0.01)
    assert a["day_kind"] == "ordinary" and a["baseline_median_pct"] == pytest.approx(0.0)
    assert a["baseline_days"] == 87 and a["anomaly_score"] == pytest.approx(7.0, abs=0.01)
    out = sequence.outputs[0]
    assert "BALANCE ANOMALIES: 2 day(s) far from their organization's own history" in out
    why = next(line.strip() for line in out.splitlines() if "why: -35.0%" in line)
    assert re.fullmatch(r"why: -35\.0% where this organization usually moves \+0\.0% ±0\.\d% "
                        r"on ordinary days \(87 days; 7\.0 spreads off\)", why), why


def test_an_organization_moving_60_percent_every_1st_is_a_swing_not_an_anomaly(sequence) -> None:
    assert {k for k in sequence.alerts[-1] if k[0] == MOVER} == {
        (MOVER, "2024-04-01", "balance_swing"), (MOVER, "2024-05-01", "balance_swing")}
    assert "BALANCE ANOMALIES: 0 day(s)" in sequence.outputs[1]


def test_too_little_history_and_the_materiality_floor_raise_nothing(sequence) -> None:
    assert not {k for k in sequence.alerts[-1] if k[0] in (YOUNG, SMALL, CLOCK)}


def test_a_day_both_rules_flag_is_recorded_under_both_and_shown_once(sequence) -> None:
    assert {k for k in sequence.alerts[0] if k[0] == BOTH} == {
        (BOTH, "2024-04-20", "balance_swing"), (BOTH, "2024-04-20", "anomaly")}
    out = sequence.outputs[0]
    assert out.count(f"{BOTH}  2024-04-20") == 1
    assert "[swing + anomaly]" in out
    digest = sequence.slack.state.posted[0]
    text = str(digest["blocks"])
    assert text.count(f"*org {BOTH}* · 2024-04-20") == 1
    assert "*swing + anomaly*" in text and f"*org {STABLE}* · 2024-04-15" in text
    assert "_why: -35.0% where this organization usually moves" in text
    assert digest["text"].startswith("balancewatch: 2 balance swing(s), 1 balance anomaly(ies)")
    # every row of the digest's alerts is marked sent, both rules of BOTH's day included
    assert {a["delivery_status"] for a in sequence.alerts[0].values()} == {"sent"}


def test_late_data_restating_the_day_away_resolves_the_anomaly_once(sequence) -> None:
    key = (STABLE, "2024-04-15", "anomaly")
    resolved = sequence.alerts[-1][key]
    assert resolved["resolved_at"] is not None
    assert resolved["resolution"].startswith("no longer an anomaly: ")
    assert " USD after load " in resolved["resolution"]
    assert "RESOLVED: 1 alert(s) whose day no longer swings or is no longer an anomaly" in \
        sequence.outputs[1]
    thread = sequence.slack.state.replies.get(resolved["message_ts"], [])
    assert [str(r["blocks"]).count(f"org {STABLE}* · 2024-04-15") for r in thread] == [1]
    assert resolved["resolution_status"] == "sent"
