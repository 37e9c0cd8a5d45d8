"""The monitor stage end to end on small hand-made warehouses: watermark, alerts, exit codes,
console text, and the Data Docs site (including an offline check in headless Chromium)."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

pytest.importorskip("great_expectations")

from monitors.checks.suites import STG_INVOICES_COLUMNS, STG_ORGANIZATIONS_COLUMNS  # noqa: E402
from monitors.docs.site import SITE_DIR, stored_results  # noqa: E402
from monitors.run import run_monitor  # noqa: E402

SIGN = {"paid": 1, "refunded": -1}
ORGS = (101, 102, 103, 104)


def day(n: int) -> str:
    """Day n of the fixture calendar (day 1 = 2024-03-01)."""
    return (date(2024, 3, 1) + timedelta(days=n - 1)).isoformat()


def steady_invoices(last_day: int) -> list[tuple]:
    """(invoice_id, org, day, status, amount_usd): a 1% daily payment per org, no swings."""
    rows = [(1000 + org, org, day(1), "paid", 10_000.0) for org in ORGS]
    rows += [(100_000 + org * 1000 + d, org, day(d), "paid", 100.0)
             for org in ORGS for d in range(2, last_day + 1)]
    return rows


def write_warehouse(path: Path, invoices: list[tuple], loads: dict[int, int] | None = None) -> None:
    """(Re)write raw, staging and fact tables from ``invoices``; monitor tables are kept.

    ``loads`` maps invoice ids to the load that wrote them (default: load 1)."""
    loads = loads or {}
    conn = sqlite3.connect(path)
    for table in ("invoices", "organizations", "stg_invoices", "stg_organizations",
                  "fact_daily_balance", "dim_organizations", "fact_invoices"):
        conn.execute(f"drop table if exists {table}")
    conn.execute("create table invoices (invoice_id integer primary key, _load_id integer)")
    conn.execute("create table organizations (organization_id integer primary key,"
                 " _load_id integer)")
    conn.execute("create table dim_organizations (organization_id integer primary key,"
                 " has_invoices integer, is_orphan integer, legal_entity_country_code integer,"
                 " active_contract_count integer, first_payment_date text,"
                 " last_payment_date text)")
    # typed columns, as dbt's table materialization declares them (views would give NullType)
    for table, columns in (("stg_invoices", STG_INVOICES_COLUMNS),
                           ("stg_organizations", STG_ORGANIZATIONS_COLUMNS)):
        typed = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        conn.execute(f"create table {table} ({typed})")
    conn.execute("create table fact_daily_balance (organization_id integer, balance_date text,"
                 " daily_change_usd real, balance_usd real, previous_balance_usd real)")
    conn.execute("create table fact_invoices (invoice_id integer, organization_id integer,"
                 " status text, currency text, amount real, balance_effect_usd real,"
                 " created_at text, created_date text, _load_id integer)")
    for inv_id, org, d, status, usd in invoices:
        paid = status == "paid"
        conn.execute("insert into invoices values (?, ?)", (inv_id, loads.get(inv_id, 1)))
        conn.execute("insert into fact_invoices values (?, ?, ?, 'USD', ?, ?, ?, ?, ?)",
                     (inv_id, org, status, usd, SIGN.get(status, 0) * usd,
                      f"{d}T12:00:00.000000Z", d, loads.get(inv_id, 1)))
        conn.execute(
            f"insert into stg_invoices values ({', '.join('?' * len(STG_INVOICES_COLUMNS))})",
            (inv_id, None, None, org, 1, status, "USD", usd, 1.0, usd,
             "USD" if paid else None, "wire" if paid else None, usd if paid else None,
             1.0 if paid else None, usd if paid else None, f"{d}T12:00:00.000000Z", d,
             loads.get(inv_id, 1), None, None, None, None, None),  # never replaced
        )
    for org in ORGS:
        conn.execute("insert into organizations values (?, 1)", (org,))
        conn.execute("insert into dim_organizations values (?, 1, 0, 7, 2, null, null)", (org,))
        conn.execute("insert into stg_organizations values (?, ?, ?, ?, ?, ?, ?, ?)",
                     (org, "2023-01-01T00:00:00.000000Z", "2023-01-01", None, None, 7, 2, 1))
    as_of = max(row[2] for row in invoices)
    for org in ORGS:
        mine = [r for r in invoices if r[1] == org]
        current, balance, previous = date.fromisoformat(min(r[2] for r in mine)), 0.0, None
        while current.isoformat() <= as_of:
            d = current.isoformat()
            change = sum(SIGN.get(r[3], 0) * r[4] for r in mine if r[2] == d)
            balance += change
            conn.execute("insert into fact_daily_balance values (?, ?, ?, ?, ?)",
                         (org, d, change, balance, previous))
            previous, current = balance, current + timedelta(days=1)
    conn.commit()
    conn.close()


def run(warehouse: Path, project: Path, **kwargs):
    out = io.StringIO()
    kwargs.setdefault("notify_slack", False)
    report = run_monitor(warehouse, project_root=project, out=out, **kwargs)
    return report, out.getvalue()


def alerts(warehouse: Path, rule: str = "balance_swing") -> list[tuple]:
    """The recorded alerts of ``rule`` (these tests follow the swing rule; a day the anomaly rule
    flags too has a second row, ``rule = 'anomaly'``)."""
    conn = sqlite3.connect(warehouse)
    rows = conn.execute("select organization_id, balance_date, rule, severity, delivery_status "
                        "from balance_alerts where rule = ? order by 2, 1", (rule,)).fetchall()
    conn.close()
    return rows


def watermark(warehouse: Path) -> str | None:
    conn = sqlite3.connect(warehouse)
    row = conn.execute("select last_evaluated_date from monitor_state").fetchone()
    conn.close()
    return row[0] if row else None


def test_new_days_only_catch_up_and_no_duplicate_alerts(tmp_path, project):
    wh = tmp_path / "w.db"
    invoices = steady_invoices(40) + [(1, 101, day(35), "refunded", 8_000.0)]  # day 35: -57%
    write_warehouse(wh, invoices)

    report, out = run(wh, project)  # first run: the last 30 days, 11 .. 40
    assert report.exit_code == 0
    assert (report.window.first_day, report.window.as_of, report.window.days) == (
        day(11), day(40), 30)
    assert alerts(wh) == [(101, day(35), "balance_swing", "warning", "pending")]
    # -57 % where org 101 moves about +1 % a day: an anomaly too, recorded beside the swing and
    # counted (and shown) once
    assert alerts(wh, "anomaly") == [(101, day(35), "anomaly", "warning", "pending")]
    assert "BALANCE SWINGS: 1 day(s) moved more than 50%" in out
    assert "1 new alert(s) recorded" in out
    assert "  stg_invoices         passed  22/22 met" in out
    assert "fact_daily_balance   passed  10/12 met  (0 critical, 2 warning, 0 info failed)" in out
    assert watermark(wh) == day(40)

    report, out = run(wh, project)  # nothing new
    assert report.window.days == 0 and report.new_alerts == 0
    assert f"BALANCE SWINGS: no new days to evaluate (as of {day(40)})" in out.splitlines()
    assert "new alert(s) recorded" not in out

    # a delivery with three new days; a swing on the first of them (previous day evaluated before)
    invoices += [(100_000 + o * 1000 + d, o, day(d), "paid", 100.0) for o in ORGS
                 for d in (41, 42, 43)]
    invoices.append((2, 102, day(41), "refunded", 12_000.0))  # day 41: sign flip
    loads = {inv[0]: 2 for inv in invoices if inv[2] >= day(41)}  # a delivery is a new load
    write_warehouse(wh, invoices, loads)
    report, out = run(wh, project)
    assert (report.window.first_day, report.window.days) == (day(41), 3)
    assert report.new_alerts == 1 and len(alerts(wh)) == 2

    # two deliveries without a monitor run, then one run catches up on all five days
    invoices += [(100_000 + o * 1000 + d, o, day(d), "paid", 100.0) for o in ORGS
                 for d in range(44, 49)]
    invoices.append((3, 103, day(46), "paid", 50_000.0))  # day 46: big payment
    loads.update({inv[0]: 3 for inv in invoices if inv[2] >= day(44)})
    write_warehouse(wh, invoices, loads)
    report, out = run(wh, project)
    assert (report.window.first_day, report.window.days) == (day(44), 5)
    assert [a[:2] for a in alerts(wh)] == [(101, day(35)), (102, day(41)), (103, day(46))]

    # --since re-evaluates old days without duplicating their alerts
    report, out = run(wh, project, since=day(30))
    assert report.window.days == 19 and report.swing_total == 3 and report.new_alerts == 0
    assert len(alerts(wh)) == 3 and watermark(wh) == day(48)


def execute(warehouse: Path, sql: str) -> None:
    conn = sqlite3.connect(warehouse)
    conn.execute(sql)
    conn.commit()
    conn.close()


def test_after_a_passing_run_only_new_loads_and_restated_days_are_checked(tmp_path, project):
    wh = tmp_path / "w.db"
    invoices = steady_invoices(10)
    write_warehouse(wh, invoices)
    report, out = run(wh, project)
    assert report.exit_code == 0 and "checking whole tables (no run has passed yet)" in out

    # load 2 brings day 11; an old row of load 1 is broken afterwards: not this run's business
    invoices += [(100_000 + o * 1000 + 11, o, day(11), "paid", 100.0) for o in ORGS]
    loads = {inv[0]: 2 for inv in invoices if inv[2] == day(11)}
    write_warehouse(wh, invoices, loads)
    execute(wh, "update stg_invoices set amount = -5 where invoice_id = 201003")
    report, out = run(wh, project)
    assert report.exit_code == 0
    assert f"since the last passing run: load 2, balances from {day(10)}" in out
    report, out = run(wh, project, full_check=True)  # the whole tables: the old row is found
    assert report.exit_code == 1 and "checking whole tables (--full-check)" in out
    assert "critical Column values to be between (amount)" in out

    # load 3: day 12, and a late refund of org 101 on day 5 (restates 101's days 5 .. 12)
    invoices += [(100_000 + o * 1000 + 12, o, day(12), "paid", 100.0) for o in ORGS]
    invoices.append((7, 101, day(5), "refunded", 50.0))
    loads.update({inv[0]: 3 for inv in invoices if inv[2] == day(12) or inv[0] == 7})
    write_warehouse(wh, invoices, loads)
    execute(wh, "update fact_daily_balance set balance_usd = balance_usd + 1 "
                f"where organization_id = 102 and balance_date = '{day(6)}'")  # not restated
    report, out = run(wh, project)
    assert report.exit_code == 0
    assert "and 6 restated day(s) of 1 organization(s)" in out  # days 5 .. 10

    # load 4: day 13 with a bad new row, and a broken restated day: both found, nothing passes
    invoices += [(100_000 + o * 1000 + 13, o, day(13), "paid", 100.0) for o in ORGS]
    invoices.append((8, 101, day(8), "refunded", 10.0))
    loads.update({inv[0]: 4 for inv in invoices if inv[2] == day(13) or inv[0] == 8})
    write_warehouse(wh, invoices, loads)
    execute(wh, "update stg_invoices set amount = -5 where invoice_id = 203013")
    execute(wh, "update fact_daily_balance set balance_usd = balance_usd + 1 "
                f"where organization_id = 101 and balance_date = '{day(9)}'")
    report, out = run(wh, project)
    assert report.exit_code == 1
    assert "critical Column values to be between (amount)" in out
    assert "Roll-forward" in out
    report, out = run(wh, project)  # a failing run does not move the scope: checked again
    assert report.exit_code == 1 and "since the last passing run: load 4," in out


def test_more_swings_than_the_result_lists_are_all_recorded(tmp_path, project, monkeypatch):
    wh = tmp_path / "w.db"
    invoices = steady_invoices(10) + [(10 + o, o, day(9), "refunded", 9_000.0) for o in ORGS]
    write_warehouse(wh, invoices)
    report, out = run(wh, project, top=2)
    assert report.swing_total == 4 and report.new_alerts == 4
    assert "... and 2 more" in out


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("update stg_invoices set invoice_id = null where rowid = 1",
         "critical Column values to not be null (invoice_id)"),
        ("insert into fact_daily_balance select * from fact_daily_balance where rowid = 5",
         "critical The key (balance_date, organization_id) is unique: 1 unexpected row(s)"),
        ("update stg_invoices set amount = -5 where rowid = 2",
         "critical Column values to be between (amount)"),
    ],
)
def test_critical_failure_exits_1_and_records_nothing(tmp_path, project, breakage, expected):
    wh = tmp_path / "w.db"
    write_warehouse(wh, steady_invoices(10) + [(1, 101, day(9), "refunded", 9_000.0)])
    conn = sqlite3.connect(wh)
    conn.execute(breakage)
    conn.commit()
    conn.close()
    report, out = run(wh, project)
    assert report.exit_code == 1
    assert expected in out
    assert "alerts not recorded, watermark not moved" in out
    assert alerts(wh) == [] and watermark(wh) is None


def test_missing_warehouse_exits_2_and_creates_nothing(tmp_path, project):
    wh = tmp_path / "nope.db"
    report, out = run(wh, project)
    assert report.exit_code == 2
    assert f"monitor: warehouse not found: {wh}" in out
    assert not wh.exists()


def test_missing_models_and_bad_since_exit_2(tmp_path, project):
    wh = tmp_path / "w.db"
    sqlite3.connect(wh).execute("create table invoices (invoice_id integer)").connection.close()
    report, out = run(wh, project)
    assert report.exit_code == 2
    assert "has no stg_invoices, stg_organizations, fact_daily_balance" in out
    write_warehouse(wh, steady_invoices(5))
    for since in ("2024-13-01", "yesterday", "2024-3-1"):
        report, out = run(wh, project, since=since)
        assert report.exit_code == 2 and "--since must be a day YYYY-MM-DD" in out


def test_docs_index_lists_runs_offline_and_old_runs_are_pruned(tmp_path, project):
    wh = tmp_path / "w.db"
    write_warehouse(wh, steady_invoices(5))
    for _ in range(3):
        assert run(wh, project, keep_runs=2)[0].exit_code == 0
    site_root = tmp_path / "w-docs"  # beside the warehouse, never in the project's gx/
    assert not (project / "gx" / "uncommitted").exists()
    entries = stored_results(site_root)
    assert len(entries) == 6  # 3 suites x the 2 newest runs
    index = (site_root / SITE_DIR / "index.html").read_text()
    assert index.count('<tr class="run">') == 6
    assert index.count('<tr class="report">') == 2  # one run report per run, pruned alike
    assert "<script" not in index and "http" not in index
    for entry in entries:
        assert (site_root / SITE_DIR / entry.page).is_file()


def test_docs_index_renders_in_headless_chromium_without_network(tmp_path, project):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (CI installs it: scripts/ensure-system-packages.sh)")
    wh = tmp_path / "w.db"
    write_warehouse(wh, steady_invoices(5) + [(1, 101, day(5), "refunded", 9_000.0)])
    assert run(wh, project)[0].exit_code == 0
    index = tmp_path / "w-docs" / SITE_DIR / "index.html"
    # networking off: a fresh network namespace when allowed (root in CI), and in any case a
    # proxy that refuses every connection, so no CDN script could load
    offline = ["unshare", "--net"] if _can_unshare_net() else []
    dom = subprocess.run(
        [*offline, chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
         f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", index.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert dom.count('<tr class="run">') == 3
    assert "fact_daily_balance" in dom and "1 warning(s)" in dom


def _can_unshare_net() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


def test_an_expectation_that_raised_counts_as_critical_whatever_its_severity():
    from types import SimpleNamespace

    from monitors.findings.results import summarize_suite

    config = SimpleNamespace(type="expect_daily_balance_swings_within_threshold",
                             severity="warning", kwargs={}, description=None)
    raised = SimpleNamespace(success=False, expectation_config=config, result={},
                             exception_info={"raised_exception": True,
                                             "exception_message": "no such column: balance_usd"})
    summary = summarize_suite(SimpleNamespace(suite_name="fact_daily_balance", results=[raised]))
    assert summary.failed("critical") == 1
    assert summary.failures[0].observed == "raised: no such column: balance_usd"
