"""Volume and re-sent invoices (issue 23, item 2): a short delivery, a delivery sent twice.

The rule's arithmetic (kinds of day, the band, its edges), both checks through a real GX context
on hand-made SQLite ``stg_invoices`` tables, then real CLI runs on SQLite and PostgreSQL (load ->
dbt -> GX -> Slack-compatible server): a short day and a re-sent day are one data-health alert
each, in the console, ``data_health_alerts`` and one digest; an ordinary delivery of the same
size raises none.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

gx = pytest.importorskip("great_expectations")

from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from balancewatch.warehouse import Warehouse  # noqa: E402
from monitors.checks.resent_expectation import resent_invoices  # noqa: E402
from monitors.checks.volume_expectation import ExpectDailyInvoiceVolumeNearBaseline  # noqa: E402
from monitors.checks.volume_rule import (  # noqa: E402
    DayFigures,
    VolumeRule,
    baseline_days,
    day_kind,
    judge,
)
from tests.deel_csv import invoice, organization, write_delivery  # noqa: E402
from tests.inprocess import run_cli as cli  # noqa: E402
from tests.slack_server import FakeSlack  # noqa: E402

_names = itertools.count()
ORGS = ("-4611686018427387904", "4611686018427387904")
D = date.fromisoformat


# --- the rule ------------------------------------------------------------------------------

def test_a_first_is_compared_with_earlier_firsts_and_a_weekday_with_its_weekday() -> None:
    assert baseline_days(D("2024-05-01"), 3, D("2023-01-01")) == [
        D("2024-04-01"), D("2024-03-01"), D("2024-02-01")]
    assert baseline_days(D("2024-01-01"), 2, D("2023-01-01")) == [
        D("2023-12-01"), D("2023-11-01")]
    # Thursday 2024-02-15: earlier Thursdays, 2024-02-01 (a Thursday and the 1st) left out
    assert baseline_days(D("2024-02-15"), 3, D("2023-01-01")) == [
        D("2024-02-08"), D("2024-01-25"), D("2024-01-18")]
    assert day_kind(D("2024-05-02")) == "Thursday" and day_kind(D("2024-06-01")) == (
        "1st of the month")
    assert baseline_days(D("2024-05-02"), 8, D("2024-04-10")) == [
        D("2024-04-25"), D("2024-04-18"), D("2024-04-11")]  # none before the first day


def figures(counts: dict[str, int], paid: float = 1000.0) -> dict[date, DayFigures]:
    return {D(d): DayFigures(n, paid * n) for d, n in counts.items()}


THURSDAYS = [(D("2024-05-02") - timedelta(days=7 * k)).isoformat() for k in range(1, 9)]


def test_the_band_edges_are_inside_and_a_short_or_doubled_day_is_outside() -> None:
    rule = VolumeRule()  # flat history: MAD 0, band = median +- 50 %
    for value, expected in ((50, []), (150, []), (49, ["too few"]), (151, ["too many"])):
        history = figures({d: 100 for d in THURSDAYS} | {"2024-05-02": value})
        found = judge([D("2024-05-02")], history, D("2024-01-01"), rule)
        assert [r["direction"] for r in found if r["measure"] == "invoices"] == expected, value
    short = judge([D("2024-05-02")], figures({d: 100 for d in THURSDAYS} | {"2024-05-02": 10}),
                  D("2024-01-01"), rule, {D("2024-05-02"): 7})
    assert [(r["measure"], r["direction"], r["observed"], r["low"], r["high"], r["load_id"])
            for r in short] == [("invoices", "too few", 10, 50, 150, 7),
                                ("paid_usd", "too few", 10_000, 50_000, 150_000, 7)]


def test_paid_usd_is_judged_from_below_only_and_a_noisy_history_widens_the_band() -> None:
    rule = VolumeRule()
    big_payments = {D(d): DayFigures(100, 100_000.0) for d in THURSDAYS}
    big_payments[D("2024-05-02")] = DayFigures(100, 900_000.0)  # a day of large payments
    assert judge([D("2024-05-02")], big_payments, D("2024-01-01"), rule) == []
    noisy = dict(zip(THURSDAYS, (60, 140, 70, 130, 80, 120, 90, 110), strict=True))
    # median 100, MAD 25: 5 x 1.4826 x 25 = 185 > the 50 % floor: 0 .. 285
    assert judge([D("2024-05-02")], figures(noisy | {"2024-05-02": 280}), D("2024-01-01"),
                 rule) == []


def test_too_little_history_is_not_judged() -> None:
    history = figures({d: 100 for d in THURSDAYS[:3]} | {"2024-05-02": 1})
    first_day = D(THURSDAYS[2])  # the warehouse's first invoice day: 3 earlier Thursdays
    assert judge([D("2024-05-02")], history, first_day, VolumeRule()) == []
    assert len(judge([D("2024-05-02")], history, first_day, VolumeRule(min_history_days=3))) == 2
    # covered Thursdays without invoices are Thursdays with 0 invoices: nothing to compare with
    assert judge([D("2024-05-02")], figures({"2024-05-02": 1}), first_day, VolumeRule(
        min_history_days=3)) == []


# --- the checks through GX on hand-made tables ---------------------------------------------

@pytest.fixture(scope="module")
def context():
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


COLUMNS = ("invoice_id", "organization_id", "created_at", "created_date", "amount", "currency",
           "transaction_id", "status", "amount_usd", "_load_id", "_previous_load_id")


def staged(path: Path, rows: list[tuple]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(f"create table stg_invoices ({', '.join(COLUMNS)})")
    conn.executemany(f"insert into stg_invoices values ({', '.join('?' * len(COLUMNS))})", rows)
    conn.commit()
    conn.close()
    return path


def row(n: int, day: str, org: int = 1, *, load: int = 1, tx: int | None = None,
        previous_load: int | None = None, amount: float = 100.0) -> tuple:
    return (n, org, f"{day}T10:00:{n % 60:02d}.000Z", day, amount, "EUR", tx, "paid",
            amount / 0.92, load, previous_load)


def validate(context, tmp_path: Path, rows: list[tuple], expectation) -> dict:
    db = staged(tmp_path / f"v{next(_names)}.db", rows)
    source = context.data_sources.add_sqlite(f"v{next(_names)}",
                                             connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset("stg_invoices", table_name="stg_invoices"
                                   ).add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(expectation)
    assert not result.exception_info["raised_exception"], result.exception_info
    return result.result["details"]


def test_resent_copies_are_counted_per_day_and_nothing_else_is(context, tmp_path) -> None:
    originals = [row(n, "2024-05-02", org=n % 3, tx=None if n % 2 else 7000 + n)
                 for n in range(1, 11)]
    copies = [(1000 + r[0], *r[1:9], 2, None) for r in originals[:4]]  # new ids, next load
    lookalikes = [
        (2001, 1, "2024-05-02T11:00:00.000Z", "2024-05-02", 100.0, "EUR", None, "paid", 1, 2,
         None),  # another created_at
        (2002, *originals[1][1:4], 101.0, *originals[1][5:9], 2, None),  # another amount
        (2003, *originals[2][1:6], 99, *originals[2][7:9], 2, None),  # another transaction
    ]
    details = validate(context, tmp_path, originals + copies + lookalikes, resent_invoices())
    assert details["flagged_count"] == 1
    assert [(r["day"], r["resent"], r["example_invoice_id"] - r["original_invoice_id"])
            for r in details["flagged"]] == [("2024-05-02", 4, 1000)]
    assert details["flagged"][0]["resent_usd"] == pytest.approx(4 * 100 / 0.92)
    assert validate(context, tmp_path, originals + lookalikes, resent_invoices())[
        "flagged"] == []


def test_volume_check_judges_first_time_invoices_from_the_window_start(context, tmp_path
                                                                      ) -> None:
    rows, n = [], 0
    for week in range(8, 0, -1):
        day = (D("2024-05-02") - timedelta(days=7 * week)).isoformat()
        for _ in range(20):
            n += 1
            rows.append(row(n, day))
    short = [row(10_000 + k, "2024-05-02", load=9) for k in range(3)]
    check = ExpectDailyInvoiceVolumeNearBaseline(window_start="2024-05-01")
    details = validate(context, tmp_path, rows + short, check)
    assert details["judged_days"] == 1
    assert [(r["day"], r["measure"], r["direction"], r["observed"], r["median"], r["load_id"])
            for r in details["flagged"]] == [
        ("2024-05-02", "invoices", "too few", 3, 20, 9),
        ("2024-05-02", "paid_usd", "too few", pytest.approx(3 * 100 / 0.92),
         pytest.approx(20 * 100 / 0.92), 9)]
    assert details["worst"] == ("invoices on 2024-05-02 (Thursday): 3, too few; expected 10 .. "
                                "30 (median 20 of 8 earlier Thursdays); delivered by load 9")
    ordinary = [row(10_000 + k, "2024-05-02", load=9) for k in range(20)]
    assert validate(context, tmp_path, rows + ordinary, check)["flagged"] == []


# --- end to end -----------------------------------------------------------------------------

START = D("2024-03-04")  # a Monday


def day_invoices(day: date, first_id: int, count: int = 20) -> list[dict[str, str]]:
    """``count`` payments of 92 EUR on ``day``, spread over two organizations."""
    return [invoice(INVOICE_ID=str(first_id + k), ORGANIZATION_ID=ORGS[k % 2], AMOUNT="92.00",
                    PAYMENT_AMOUNT="92", CREATED_AT=f"{day}T{k % 24:02d}:15:00.000Z")
            for k in range(count)]


def deliver(folder: Path, rows: list[dict[str, str]]) -> Path:
    orgs = [organization(ORGANIZATION_ID=o) for o in ORGS]
    return write_delivery(folder, orgs, rows)


def health(warehouse: Warehouse) -> list[tuple]:
    with warehouse.connection() as conn:
        return conn.execute(
            "select check_name, subject, episode_start, delivery_status from data_health_alerts"
            " where check_name <> 'freshness' order by 1, 2, 3").fetchall()


def test_end_to_end_a_short_and_a_resent_day_alert_once_an_ordinary_one_does_not(
    engine_warehouse: Warehouse, tmp_path: Path, slack: FakeSlack
) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": slack.state.token, "SLACK_CHANNEL": "#balance-alerts",
           "SLACK_API_URL": slack.api_url}
    env.pop("SLACK_WEBHOOK_URL", None)
    where = ("--warehouse", engine_warehouse.location())
    days = [START + timedelta(days=k) for k in range(43)]  # 2024-03-04 .. 2024-04-15
    base = [r for k, d in enumerate(days[:40]) for r in day_invoices(d, 10_000 + 100 * k)]
    done = cli("run", str(deliver(tmp_path / "base", base)), *where, "--today", "2024-04-13",
               env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DATA HEALTH" not in done.stdout and health(engine_warehouse) == []

    short_day, resent_day = days[40], days[41]  # 2024-04-13 (Saturday), 2024-04-14 (Sunday)
    resent = day_invoices(resent_day, 50_000)
    copies = [{**r, "INVOICE_ID": str(60_000 + k)} for k, r in enumerate(resent)]
    delivery = deliver(tmp_path / "bad", day_invoices(short_day, 40_000, count=2) + resent
                       + copies)
    posted = len(slack.posted)
    done = cli("run", str(delivery), *where, "--today", "2024-04-15", env=env)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert ("DATA HEALTH: invoices on 2024-04-13 (Saturday): 2, too few; expected 10 .. 30 "
            "(median 20 of 5 earlier Saturdays); delivered by load 2 [warning; new alert]") in out
    assert ("DATA HEALTH: paid USD on 2024-04-13 (Saturday): $200, too few; expected at least "
            "$1,000 (median $2,000 of 5 earlier Saturdays)") in out
    assert ("DATA HEALTH: invoices on 2024-04-14 (Sunday): 40, too many; expected 10 .. 30 "
            "(median 20 of 5 earlier Sundays)") in out
    assert ("DATA HEALTH: re-sent invoices on 2024-04-14: 20 invoice(s) re-sent under new "
            "INVOICE_IDs ($2,000.00 counted twice in the balances), e.g. 60000 repeats 50000"
            ) in out
    assert len(slack.posted) == posted + 1
    digest = str(slack.posted[-1])
    assert "Data health" in digest and "re-sent invoices on 2024-04-14" in digest
    assert "invoices on 2024-04-13 (Saturday): 2, too few" in digest
    assert health(engine_warehouse) == [
        ("resent_invoices", "invoices", "2024-04-14", "sent"),
        ("volume", "invoices", "2024-04-13", "sent"),
        ("volume", "invoices", "2024-04-14", "sent"),
        ("volume", "paid_usd", "2024-04-13", "sent"),
    ]

    ordinary = deliver(tmp_path / "ordinary", day_invoices(days[42], 70_000))
    done = cli("run", str(ordinary), *where, "--today", "2024-04-16", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DATA HEALTH" not in done.stdout  # the same size as every earlier Monday
    assert len(health(engine_warehouse)) == 4
    assert all("re-sent" not in str(body) for body in slack.posted[posted + 1:])
