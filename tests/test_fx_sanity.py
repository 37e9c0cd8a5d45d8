"""FX-rate sanity (issue 23, item 3): an invoice's rate against its currency's trailing median.

The rule through a real GX context on hand-made SQLite tables (band, strictness, history,
inversion, one bad invoice among good ones), then the monitor end to end: a hand-made warehouse
whose second load inverts EUR on one day exits 1 and names it, and the CLI on SQLite and
PostgreSQL (load -> dbt -> GX) with a clean delivery and then an inverted one.
"""

from __future__ import annotations

import itertools
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

gx = pytest.importorskip("great_expectations")

from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from balancewatch.warehouse import Warehouse  # noqa: E402
from monitors.checks.fx_rate_expectation import fx_rate_sanity  # noqa: E402
from monitors.checks.fx_rate_query import DEFAULT_FX_RULE, FxRule  # noqa: E402
from tests.deel_csv import invoice, organization, write_delivery  # noqa: E402
from tests.inprocess import run_cli as cli  # noqa: E402
from tests.test_monitor_run import run, steady_invoices, write_warehouse  # noqa: E402

_names = itertools.count()
ORG = "-4611686018427387904"


def day(n: int) -> str:
    """Day n of the fixture calendar (day 1 = 2024-03-01)."""
    return (date(2024, 3, 1) + timedelta(days=n - 1)).isoformat()


@pytest.fixture(scope="module")
def context():
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def make_invoices(path: Path, rates: list[tuple[str, str, float]]) -> Path:
    """A ``stg_invoices`` table with one invoice per (currency, day, rate) given."""
    conn = sqlite3.connect(path)
    conn.execute("create table stg_invoices (invoice_id integer, currency text, "
                 "created_date text, fx_rate real)")
    conn.executemany("insert into stg_invoices values (?, ?, ?, ?)",
                     [(n, c, d, r) for n, (c, d, r) in enumerate(rates, start=1)])
    conn.commit()
    conn.close()
    return path


def history(currency: str, rate: float, days: int) -> list[tuple[str, str, float]]:
    """One invoice a day at ``rate`` on days 1 .. ``days``."""
    return [(currency, day(n), rate) for n in range(1, days + 1)]


def flagged(context, tmp_path: Path, rates: list[tuple[str, str, float]],
            rule: FxRule = DEFAULT_FX_RULE) -> list[dict]:
    """Validate the whole table; the flagged (currency, day, kind) rows."""
    db = make_invoices(tmp_path / f"fx{next(_names)}.db", rates)
    source = context.data_sources.add_sqlite(f"fx{next(_names)}",
                                             connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset("stg_invoices", table_name="stg_invoices"
                                   ).add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(fx_rate_sanity(rule))
    assert not result.exception_info["raised_exception"], result.exception_info
    details = result.result["details"]
    assert result.success == (details["flagged_count"] == 0)
    return details["flagged"]


def test_a_rate_40_percent_off_is_flagged_10_percent_is_not(context, tmp_path) -> None:
    rows = flagged(context, tmp_path, history("EUR", 0.92, 10) + [("EUR", day(11), 0.92 * 1.4)]
                   + history("GBP", 0.8, 10) + [("GBP", day(11), 0.8 * 1.1)])
    assert [(r["currency"], r["day"], r["kind"], r["invoices"]) for r in rows] == [
        ("EUR", day(11), "off", 1)]
    assert rows[0]["rate"] == pytest.approx(1.288) and rows[0]["expected_rate"] == 0.92
    assert rows[0]["deviation_pct"] == pytest.approx(40.0)


def test_exactly_at_the_band_is_not_flagged(context, tmp_path) -> None:
    at_band = history("PLN", 2.0, 10) + [("PLN", day(11), 2.5), ("PLN", day(12), 1.5)]
    assert flagged(context, tmp_path, at_band) == []  # +25 % and -25 %: not strictly more
    above = history("PLN", 2.0, 10) + [("PLN", day(11), 2.5001)]
    assert [r["day"] for r in flagged(context, tmp_path, above)] == [day(11)]


def test_an_inverted_rate_is_flagged_although_inside_the_band(context, tmp_path) -> None:
    rows = flagged(context, tmp_path, history("EUR", 0.92, 10) + [("EUR", day(11), 1.087)])
    assert [(r["currency"], r["day"], r["kind"]) for r in rows] == [("EUR", day(11), "inverted")]
    assert rows[0]["deviation_pct"] == pytest.approx(18.15, abs=0.01)  # under the 25 % band


def test_one_wrong_invoice_among_right_ones_is_caught(context, tmp_path) -> None:
    day_11 = [("JPY", day(11), 148.0)] * 5 + [("JPY", day(11), 1 / 148.0)]
    rows = flagged(context, tmp_path, history("JPY", 148.0, 10) + day_11)
    assert [(r["kind"], r["invoices"], r["example_invoice_id"]) for r in rows] == [
        ("inverted", 1, 16)]


def test_without_enough_history_a_day_is_not_judged(context, tmp_path) -> None:
    short = history("EUR", 0.92, 4) + [("EUR", day(5), 1.5)]
    assert flagged(context, tmp_path, short) == []  # 4 days of history (5 needed)
    # history older than the window does not count either
    old = history("EUR", 0.92, 10) + [("EUR", day(45), 1.5)]
    assert flagged(context, tmp_path, old) == []
    assert [r["day"] for r in flagged(context, tmp_path, short, FxRule(min_history_days=4))] == [
        day(5)]


def test_usd_and_ordinary_jitter_raise_nothing(context, tmp_path) -> None:
    jitter = [("EUR", day(n), 0.92 * (1 + 0.03 * (-1) ** n)) for n in range(1, 31)]
    assert flagged(context, tmp_path, history("USD", 1.0, 30) + history("USDC", 1.0, 30)
                   + jitter + history("CHF", 0.98, 30)) == []


def _set_rates(path: Path, rates: dict[int, tuple[str, float]]) -> None:
    """Give the hand-made warehouse's invoices a currency and rate: {invoice_id: (cur, rate)}."""
    conn = sqlite3.connect(path)
    conn.executemany("update stg_invoices set currency = ?, fx_rate = ? where invoice_id = ?",
                     [(c, r, i) for i, (c, r) in rates.items()])
    conn.commit()
    conn.close()


def test_an_inverted_rate_in_a_new_load_fails_the_run_and_names_it(tmp_path, project) -> None:
    wh = tmp_path / "w.db"
    invoices = steady_invoices(20)
    eur = {inv[0]: ("EUR", 0.92) for inv in invoices if inv[1] == 101}
    write_warehouse(wh, invoices)
    _set_rates(wh, eur)
    report, out = run(wh, project)
    assert report.exit_code == 0, out

    new = [(500 + n, 101, day(n), "paid", 100.0) for n in (21, 22)]
    write_warehouse(wh, invoices + new, loads={500 + n: 2 for n in (21, 22)})
    _set_rates(wh, {**eur, 521: ("EUR", 0.92), 522: ("EUR", 1.087)})
    report, out = run(wh, project)
    assert report.exit_code == 1, out
    assert ("critical FX rates are sane: no invoice's rate is inverted or more than 25% off "
            "its currency's trailing median") in out
    assert (f"1 currency-day(s) flagged; worst: EUR on {day(22)}: rate 1.087 (inverted), "
            "expected 0.92 (+18.1%), 1 invoice(s), e.g. 522") in out
    assert "1 critical expectation(s) failed: alerts not recorded" in out


def delivery(folder: Path, days: list[str], first_id: int, rate: str = "0.92000000") -> Path:
    """One organization paying in EUR on each of ``days``; the last invoice at ``rate``."""
    rates = ["0.92000000"] * (len(days) - 1) + [rate]
    return write_delivery(folder, [organization(ORGANIZATION_ID=ORG)], [
        invoice(INVOICE_ID=str(first_id + i), ORGANIZATION_ID=ORG, FX_RATE=r,
                CREATED_AT=f"{d}T10:00:00.000Z")
        for i, (d, r) in enumerate(zip(days, rates, strict=True))])


def test_end_to_end_an_ordinary_delivery_passes_an_inverted_one_fails(
    engine_warehouse: Warehouse, tmp_path: Path
) -> None:
    where = ("--warehouse", engine_warehouse.location())
    days = [f"2024-04-{n:02d}" for n in range(1, 29)]
    done = cli("run", str(delivery(tmp_path / "d1", days, 1)), *where, "--today", "2024-04-29")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FX rates" not in done.stdout
    done = cli("run", str(delivery(tmp_path / "d2", ["2024-04-29", "2024-04-30"], 100,
                                   rate="1.08695652")), *where, "--today", "2024-05-01")
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("worst: EUR on 2024-04-30: rate 1.08696 (inverted), expected 0.92 (+18.1%), "
            "1 invoice(s), e.g. 101") in done.stdout
