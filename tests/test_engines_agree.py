"""SQLite and PostgreSQL give the same answer on the shipped sample.

The same loader, dbt models and GX suites run on both engines: ``fact_daily_balance`` must hold the
same rows (balances within 1e-6 USD) and the monitor must flag the same swings.
"""

from __future__ import annotations

import io
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from balancewatch.build import build
from balancewatch.settings import SAMPLE_DIR
from balancewatch.warehouse import POSTGRES, SQLITE, Warehouse
from loaders import load_delivery
from monitors.gx_project.context import REPO_ROOT
from monitors.gx_project.setup import _committed_files
from monitors.run import run_monitor
from tests.conftest import ENGINES, copied_warehouse, fresh_warehouse
from tests.test_dbt_helpers import (
    DELIVERY_1,
    DELIVERY_2,
    DELIVERY_3,
    MODELS,
    daily_balance,
    table,
)
from tests.test_dbt_models import EXPECTED_AFTER_DELIVERY_2, assert_balances

pytestmark = pytest.mark.skipif(
    POSTGRES not in ENGINES, reason="BALANCEWATCH_TEST_ENGINES excludes postgres"
)
TOLERANCE_USD = 1e-6


@pytest.fixture(scope="module")
def sample_on_both(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[dict[str, Warehouse]]:
    """The sample loaded, built and monitored (no Slack) on each engine."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "SLACK_WEBHOOK_URL"):
        monkeypatch_module.delenv(name, raising=False)
    root = tmp_path_factory.mktemp("engines")
    project = root / "project"
    for rel, path in _committed_files(REPO_ROOT / "gx").items():
        (project / "gx" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, project / "gx" / rel)
    with (
        fresh_warehouse(SQLITE, root / SQLITE) as lite,
        fresh_warehouse(POSTGRES, root / POSTGRES) as pg,
    ):
        for warehouse in (lite, pg):
            load_delivery(SAMPLE_DIR, warehouse)
            assert build(warehouse, target_path=root / f"dbt-{warehouse.kind}") == 0
            report = run_monitor(warehouse, project_root=project, out=io.StringIO())
            assert report.exit_code == 0, report.message
        yield {SQLITE: lite, POSTGRES: pg}


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def fetch(warehouse: Warehouse, sql: str) -> list[tuple]:
    conn = warehouse.connect()
    try:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def test_fact_daily_balance_is_identical_within_a_micro_dollar(
    sample_on_both: dict[str, Warehouse],
) -> None:
    sql = (
        "select organization_id, balance_date, daily_change_usd, balance_usd, "
        "previous_balance_usd from fact_daily_balance order by organization_id, balance_date"
    )
    lite, pg = (fetch(sample_on_both[k], sql) for k in (SQLITE, POSTGRES))
    assert len(lite) == len(pg) > 70_000
    for a, b in zip(lite, pg, strict=True):
        assert a[:2] == b[:2]
        for x, y in zip(a[2:], b[2:], strict=True):
            assert (x is None) == (y is None), (a, b)
            if x is not None:
                assert abs(x - y) <= TOLERANCE_USD, (a, b)


def test_the_same_swings_are_flagged(sample_on_both: dict[str, Warehouse]) -> None:
    sql = (
        "select organization_id, balance_date, rule, change_usd "
        "from balance_alerts order by 1, 2, 3"
    )
    lite, pg = (fetch(sample_on_both[k], sql) for k in (SQLITE, POSTGRES))
    rules = Counter(r[2] for r in lite)
    # data/sample/PLANTED.md's swings in the first run's 30 days, and the anomaly rule's days
    assert rules == {"balance_swing": 31, "anomaly": 21}
    assert [r[:3] for r in lite] == [r[:3] for r in pg]
    for a, b in zip(lite, pg, strict=True):
        assert abs(a[3] - b[3]) <= TOLERANCE_USD


def test_the_same_watermark(sample_on_both: dict[str, Warehouse]) -> None:
    sql = "select rule, last_evaluated_date from monitor_state"
    assert fetch(sample_on_both[SQLITE], sql) == fetch(sample_on_both[POSTGRES], sql)



def test_incremental_build_on_postgresql_equals_full_refresh_and_the_expected_balances(
    tmp_path: Path,
) -> None:
    """The dbt tests' deliveries (tests/test_dbt_models.py), on PostgreSQL; the third one holds
    organizations only and turns orphans into non-orphans."""
    with fresh_warehouse(POSTGRES, tmp_path) as pg:
        for delivery in (DELIVERY_1, DELIVERY_2, DELIVERY_3):
            load_delivery(delivery, pg, show_progress=False)
            assert build(pg, target_path=tmp_path / "dbt") == 0
        assert_balances(daily_balance(pg), EXPECTED_AFTER_DELIVERY_2)
        with copied_warehouse(pg, tmp_path / "copy") as refreshed:
            assert build(refreshed, full_refresh=True, target_path=tmp_path / "dbt") == 0
            for model in MODELS:
                assert table(pg, model) == table(refreshed, model), model


def test_a_password_in_the_url_is_never_printed_or_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The trust-auth test server ignores the password; what matters is where it could leak."""
    secret = "pw-LEAKCHECK-31c9"
    project = tmp_path / "project"
    for rel, path in _committed_files(REPO_ROOT / "gx").items():
        (project / "gx" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, project / "gx" / rel)
    with fresh_warehouse(POSTGRES, tmp_path) as pg:
        url = pg.location().replace("postgres@", f"postgres:{secret}@")
        from balancewatch.cli import main

        assert main(["load", str(SAMPLE_DIR), "--warehouse", url]) == 0
        assert build(url, target_path=tmp_path / "dbt") == 0
        out = io.StringIO()
        assert run_monitor(url, project_root=project, out=out).exit_code == 0
    captured = capsys.readouterr()
    assert secret not in out.getvalue() + captured.out + captured.err + caplog.text
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaks == []


def test_postgresql_has_planner_statistics_for_every_loaded_and_built_table(
    sample_on_both: dict[str, Warehouse],
) -> None:
    """Without them the first run's FX-rate check planned against "empty" tables and took 23 s
    instead of 0.1 s on the sample (loaders/bulk.py, dbt/macros/statistics.sql)."""
    analyzed = dict(fetch(sample_on_both[POSTGRES],
                          "select relname, last_analyze is not null from pg_stat_user_tables "
                          "where schemaname = 'main'"))
    tables = ("invoices", "organizations", "stg_invoices", "stg_organizations", "fact_invoices",
              "dim_organizations", "fact_daily_balance")
    assert {name: analyzed.get(name) for name in tables} == dict.fromkeys(tables, True)
