"""The swing rule's settings live in dbt/dbt_project.yml: the materiality floor removes small
swings and keeps large ones, and a changed setting is applied or refused, never run stale."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("great_expectations")

from tests.test_monitor_run import alerts, day, run, steady_invoices, write_warehouse  # noqa: E402

# Hand-computed on the fixture calendar (each org: 10,000 USD on day 1, then +100 a day):
#   org 101, day 9: 10,700 -> 1,800 after a 9,000 refund: -83.2 %, -8,900 USD
#   org 104, day 5: 10,300 ->   400 after a 10,000 refund: -96.1 %, -9,900 USD
#   org 104, day 9:    700 -> 1,800 after a 1,000 payment: +157.1 %, +1,100 USD
INVOICES = steady_invoices(10) + [
    (1, 101, day(9), "refunded", 9_000.0),
    (2, 104, day(5), "refunded", 10_000.0),
    (3, 104, day(9), "paid", 1_000.0),
]
ALL_THREE = {(101, day(9)), (104, day(5)), (104, day(9))}


def with_vars(project: Path, **variables: float) -> Path:
    """The project with a dbt_project.yml holding these vars (the monitor reads only vars)."""
    lines = ["name: balancewatch", "vars:"] + [f"  {k}: {v}" for k, v in variables.items()]
    (project / "dbt").mkdir(exist_ok=True)
    (project / "dbt" / "dbt_project.yml").write_text("\n".join(lines) + "\n")
    return project


def recorded_anything(warehouse: Path) -> bool:
    conn = sqlite3.connect(warehouse)
    try:
        names = {r[0] for r in conn.execute("select name from sqlite_master")}
    finally:
        conn.close()
    return bool(names & {"balance_alerts", "monitor_state", "monitor_scope"})


def swings(warehouse: Path) -> set[tuple[int, str]]:
    return {(org, d) for org, d, *_ in alerts(warehouse)}


def test_without_a_floor_every_percentage_swing_is_alerted(tmp_path, project) -> None:
    write_warehouse(tmp_path / "w.db", INVOICES)
    assert run(tmp_path / "w.db", project)[0].exit_code == 0
    assert swings(tmp_path / "w.db") == ALL_THREE


def test_the_floor_removes_the_small_swings_and_keeps_the_large_ones(tmp_path, project) -> None:
    from monitors.gx_project.setup import setup

    with_vars(project, balance_swing_threshold=0.5, balance_swing_min_usd=5000)
    setup(project)  # `make gx` on this project
    write_warehouse(tmp_path / "w.db", INVOICES)
    report, out = run(tmp_path / "w.db", project)
    assert report.exit_code == 0
    assert swings(tmp_path / "w.db") == {(101, day(9)), (104, day(5))}  # 1,100 USD < 5,000
    assert "moved more than 50% and at least $5,000.00 day over day" in out


def test_a_changed_threshold_refuses_to_run_until_applied(tmp_path, project) -> None:
    from monitors.gx_project.setup import setup

    write_warehouse(tmp_path / "w.db", INVOICES)
    with_vars(project, balance_swing_threshold=0.9)
    report, out = run(tmp_path / "w.db", project)
    assert report.exit_code == 2 and not recorded_anything(tmp_path / "w.db")
    assert "dbt/dbt_project.yml says 0.9, gx/ holds 0.5" in out and "run `make gx`" in out
    setup(project)
    report, out = run(tmp_path / "w.db", project)
    assert report.exit_code == 0
    assert swings(tmp_path / "w.db") == {(104, day(5)), (104, day(9))}  # -83.2 % is not > 90 %
