"""The balance anomaly expectation against hand-built histories, through a real GX context.

Each organization's daily balances are written into a real SQLite file and judged by
``ExpectDailyBalanceChangesTypicalOfOrganization`` as the balance suite runs it; the swing
expectation runs beside it where the two must disagree. (PostgreSQL and the whole path:
``tests/test_anomaly_pipeline.py``.)
"""

from __future__ import annotations

import itertools
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

gx = pytest.importorskip("great_expectations")

from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from monitors.checks.anomaly_expectation import (  # noqa: E402
    ExpectDailyBalanceChangesTypicalOfOrganization,
)
from monitors.checks.swing_expectation import ExpectDailyBalanceSwingsWithinThreshold  # noqa: E402

FACT_DDL = """create table fact_daily_balance (
    organization_id bigint, balance_date text, daily_change_usd double precision,
    balance_usd double precision, previous_balance_usd double precision)"""
START = date(2023, 6, 1)
_names = itertools.count()


@pytest.fixture(scope="module")
def context():
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def series(moves: dict[str, float], last: str, opening: float = 10_000.0,
           first: date = START) -> list[tuple[str, float]]:
    """Dense (day, balance) from ``first`` to ``last``: ``opening`` on the first day, then the
    relative ``moves`` {day: r} (every other day unchanged)."""
    rows, balance, d = [], opening, first
    while d.isoformat() <= last:
        day = d.isoformat()
        if d != first and day in moves:
            balance = balance * (1 + moves[day])
        rows.append((day, round(balance, 6)))
        d += timedelta(days=1)
    return rows


def firsts(r: float, months: int, first: date = START) -> dict[str, float]:
    """A move of ``r`` on each of the ``months`` 1sts after ``first``."""
    out, d = {}, first
    for _ in range(months):
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
        out[d.isoformat()] = r
    return out


def write_fact(path: Path, balances: dict[int, list[tuple[str, float]]]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(FACT_DDL)
    for org, days in balances.items():
        previous = None
        for day, balance in days:
            conn.execute("insert into fact_daily_balance values (?, ?, ?, ?, ?)",
                         (org, day, balance - (previous or 0), balance, previous))
            previous = balance
    conn.commit()
    conn.close()
    return path


def validate(context, db: Path, expectation):
    source = context.data_sources.add_sqlite(f"w{next(_names)}",
                                             connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset("fact_daily_balance", table_name="fact_daily_balance") \
        .add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(expectation)
    assert not result.exception_info["raised_exception"], result.exception_info
    return result


def anomalies(context, db: Path, window_start: str = "2024-04-01", **kwargs) -> list[dict]:
    result = validate(context, db, ExpectDailyBalanceChangesTypicalOfOrganization(
        window_start=window_start, **kwargs))
    found = result.result["details"]["anomalies"]
    assert result.success == (not found)
    assert result.result["details"]["anomaly_count"] == len(found)
    return found


def swings(context, db: Path, window_start: str = "2024-04-01") -> list[tuple[int, str]]:
    result = validate(context, db, ExpectDailyBalanceSwingsWithinThreshold(
        window_start=window_start))
    return [(s["entity_id"], s["day"]) for s in result.result["details"]["swings"]]


STABLE = 1  # flat but for a ±1 % wiggle every ten days
WIGGLES = {(START + timedelta(days=n)).isoformat(): (0.01 if n % 20 else -0.01)
           for n in range(10, 400, 10) if (START + timedelta(days=n)).day != 1}


def test_a_stable_organization_losing_35_percent_mid_month_is_an_anomaly(context, tmp_path):
    db = write_fact(tmp_path / "w.db", {
        STABLE: series({**WIGGLES, "2024-04-15": -0.35}, "2024-04-30")})
    found = anomalies(context, db)
    assert [(a["entity_id"], a["day"]) for a in found] == [(STABLE, "2024-04-15")]
    a = found[0]
    assert a["change_pct"] == pytest.approx(-35.0)
    assert a["day_kind"] == "ordinary"
    assert a["median_pct"] == pytest.approx(0.0)
    assert a["history_days"] == 87  # the 90 days before, minus their three 1sts
    assert a["score"] == pytest.approx(7.0)  # 35 % / the 5 % floor of the spread
    assert swings(context, db) == []  # -35 % is no swing


def test_the_same_organizations_ordinary_days_raise_nothing(context, tmp_path):
    db = write_fact(tmp_path / "w.db", {STABLE: series(WIGGLES, "2024-04-30")})
    assert anomalies(context, db, window_start="2023-09-01") == []


def test_an_organization_moving_60_percent_every_1st_is_no_anomaly_on_the_next_1st(
    context, tmp_path
):
    mover = 2
    db = write_fact(tmp_path / "w.db", {
        mover: series({**firsts(0.6, 11), **WIGGLES}, "2024-05-03")})
    assert anomalies(context, db, window_start="2024-05-01") == []
    assert swings(context, db, window_start="2024-05-01") == [(mover, "2024-05-01")]
    # ... but the same +60 % on an ordinary day is one
    db2 = write_fact(tmp_path / "w2.db", {
        mover: series({**firsts(0.6, 10), **WIGGLES, "2024-04-17": 0.6}, "2024-04-30")})
    assert [(a["entity_id"], a["day"], a["day_kind"]) for a in anomalies(context, db2)] == [
        (mover, "2024-04-17", "ordinary")]


def test_a_flat_organizations_first_move_on_a_1st_is_judged_against_its_1sts(context, tmp_path):
    org = 3
    db = write_fact(tmp_path / "w.db", {org: series({"2024-04-01": -0.35}, "2024-04-30")})
    found = anomalies(context, db)
    assert [(a["day"], a["day_kind"], a["history_days"]) for a in found] == [
        ("2024-04-01", "first", 9)]  # 2023-07-01 .. 2024-03-01 (06-01 has no previous day)


@pytest.mark.parametrize(("history_days", "judged"), [(5, False), (6, True)])
def test_too_little_history_is_not_judged(context, tmp_path, history_days, judged):
    org = 4
    first = date(2024, 4, 20) - timedelta(days=history_days + 1)
    db = write_fact(tmp_path / "w.db", {org: series({"2024-04-20": -0.35}, "2024-04-22",
                                                    first=first)})
    found = anomalies(context, db, window_start="2024-04-20")
    assert [a["day"] for a in found] == (["2024-04-20"] if judged else [])


@pytest.mark.parametrize(("floor", "flagged"), [(0.0, True), (35.0, True), (35.01, False)])
def test_the_materiality_floor_is_honoured(context, tmp_path, floor, flagged):
    org = 5
    db = write_fact(tmp_path / "w.db", {org: series({"2024-04-15": -0.35}, "2024-04-30",
                                                    opening=100.0)})  # loses $35
    found = anomalies(context, db, min_abs_change_usd=floor)
    assert bool(found) == flagged


@pytest.mark.parametrize(("r", "flagged"), [(-0.30, False), (-0.3001, True), (0.30, False),
                                            (0.3001, True)])
def test_exactly_at_the_threshold_is_not_flagged(context, tmp_path, r, flagged):
    """A flat history: the spread is the 5 % floor, so threshold 6 puts the line at 30 %."""
    org = 6
    db = write_fact(tmp_path / "w.db", {org: series({"2024-04-15": r}, "2024-04-30",
                                                    opening=1000.0)})
    found = anomalies(context, db, threshold=6, min_scale=0.05)
    assert bool(found) == flagged


def test_a_noisy_organization_needs_a_bigger_move(context, tmp_path):
    """An organization moving ±20 % on ordinary days is not flagged at -35 %, at +300 % it is."""
    noisy = 7
    noise = {(START + timedelta(days=n)).isoformat(): (0.2 if n % 2 else -0.17)
             for n in range(1, 321)}  # to 2024-04-16
    db = write_fact(tmp_path / "w.db", {
        noisy: series({**noise, "2024-04-15": -0.35, "2024-04-20": 3.0}, "2024-04-30")})
    found = anomalies(context, db, window_start="2024-04-15")
    assert [a["day"] for a in found] == ["2024-04-20"]
    assert found[0]["spread_pct"] > 10


def test_the_history_comes_from_the_whole_table_not_the_checked_rows(context, tmp_path):
    """The checked rows (a new-data batch) hold the new days only; the history is read from
    fact_daily_balance itself."""
    db = write_fact(tmp_path / "w.db", {
        STABLE: series({**WIGGLES, "2024-04-15": -0.35}, "2024-04-30")})
    conn = sqlite3.connect(db)
    conn.execute("create table checked as select * from fact_daily_balance "
                 "where balance_date >= '2024-04-14'")
    conn.commit()
    conn.close()
    source = context.data_sources.add_sqlite(f"w{next(_names)}",
                                             connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset("checked", table_name="checked") \
        .add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(ExpectDailyBalanceChangesTypicalOfOrganization(
        window_start="2024-04-15"))
    assert [a["day"] for a in result.result["details"]["anomalies"]] == ["2024-04-15"]


def test_a_day_both_rules_flag_reads_as_one_alert_naming_both() -> None:
    from monitors.alerts.digest import anomaly_why, rules_label
    from monitors.findings.anomaly_results import merge_rules
    from monitors.findings.results import Baseline, SwingAlert

    swing = SwingAlert(1, "2024-04-20", 10_000.0, 2_000.0, -8_000.0, -80.0)
    anomaly = SwingAlert(1, "2024-04-20", 10_000.0, 2_000.0, -8_000.0, -80.0, rule="anomaly",
                         baseline=Baseline("ordinary", 0.0, 1.2, 87, 16.0))
    other = SwingAlert(2, "2024-04-20", 100.0, 65.0, -35.0, -35.0, rule="anomaly",
                       baseline=Baseline("first", 60.0, 2.0, 9, 47.5))
    merged = merge_rules([anomaly, other, swing])
    assert [(m.organization_id, m.rules) for m in merged] == [
        (1, ("balance_swing", "anomaly")), (2, ("anomaly",))]
    assert rules_label(merged[0]) == "swing + anomaly"
    assert anomaly_why(merged[0]) == ("-80.0% where this organization usually moves +0.0% ±1.2% "
                                      "on ordinary days (87 days; 16.0 spreads off)")
    assert anomaly_why(merged[1]).endswith("on the 1st of a month (9 days; 47.5 spreads off)")
    assert anomaly_why(swing) is None
