"""The whole pipeline on Spark gives the answer SQLite gives, and its Slack digest, on the sample.

The sample is loaded, built and monitored once on SQLite (no Slack) and once on the session's
Spark Thrift Server, sending to a Slack-compatible server on 127.0.0.1. Spark must hold the same
``fact_daily_balance`` (balances within 1e-6 USD), flag the same swings, send one digest with the
largest planted swing first, and add nothing on a re-run. The late-data sequence runs on Spark in
tests/test_late_data.py, the loader's rejections in tests/test_loader_engines.py.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from balancewatch.build import build
from balancewatch.settings import SAMPLE_DIR
from balancewatch.warehouse import SPARK, SQLITE, Warehouse
from loaders import load_delivery
from monitors.run import run_monitor
from tests.conftest import ENGINES, fresh_warehouse
from tests.slack_server import FakeSlack
from tests.test_dbt_spark import assert_same_models
from tests.test_slack_pipeline import LARGEST_PLANTED

pytestmark = pytest.mark.skipif(SPARK not in ENGINES,
                                reason="BALANCEWATCH_TEST_ENGINES excludes spark")
TOLERANCE_USD = 1e-6
FACT = ("select organization_id, balance_date, daily_change_usd, balance_usd, "
        "previous_balance_usd from fact_daily_balance order by organization_id, balance_date")
ALERTS = ("select organization_id, balance_date, rule, change_usd, detected_as, delivery_status "
          "from balance_alerts order by organization_id, balance_date, rule")


@dataclass
class Runs:
    lite: Warehouse
    spark: Warehouse
    project: Path
    slack: FakeSlack
    spark_out: str
    spark_exit: int


def fetch(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.connection() as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("spark-pipeline")
    from balancewatch.settings import GX_DIR
    from monitors.gx_project.setup import sync

    project = root / "project"
    sync(GX_DIR, project / "gx")
    with (
        pytest.MonkeyPatch.context() as env,
        FakeSlack() as slack,
        fresh_warehouse(SQLITE, root / "sqlite") as lite,
        fresh_warehouse(SPARK, root / "spark") as spark,
    ):
        for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "SLACK_WEBHOOK_URL",
                     "BALANCEWATCH_DOCS_URL"):
            env.delenv(name, raising=False)
        load_delivery(SAMPLE_DIR, lite)
        assert build(lite, target_path=root / "dbt-sqlite") == 0
        assert run_monitor(lite, project_root=project, out=io.StringIO()).exit_code == 0
        env.setenv("SLACK_BOT_TOKEN", slack.state.token)
        env.setenv("SLACK_CHANNEL", "#balance-alerts")
        env.setenv("SLACK_API_URL", slack.api_url)
        load_delivery(SAMPLE_DIR, spark)
        assert build(spark, target_path=root / "dbt-spark") == 0
        out = io.StringIO()
        report = run_monitor(spark, project_root=project, out=out)
        yield Runs(lite, spark, project, slack, out.getvalue(), report.exit_code)


def test_fact_daily_balance_on_spark_equals_sqlite_within_a_micro_dollar(runs: Runs) -> None:
    lite, spark = fetch(runs.lite, FACT), fetch(runs.spark, FACT)
    assert len(lite) == len(spark) > 70_000
    for a, b in zip(lite, spark, strict=True):
        assert (int(a[0]), a[1]) == (int(b[0]), b[1])
        for x, y in zip(a[2:], b[2:], strict=True):
            assert (x is None) == (y is None), (a, b)
            if x is not None:
                assert abs(x - y) <= TOLERANCE_USD, (a, b)


def test_every_model_on_spark_equals_sqlite(runs: Runs) -> None:
    compared = assert_same_models(runs.lite, runs.spark)
    assert compared == {"stg_organizations": 300, "stg_invoices": 23_689,
                        "fact_invoices": 23_689, "dim_organizations": 338,
                        "fact_daily_balance": 76_466}


def test_spark_flags_the_same_swings_and_sends_one_digest(runs: Runs) -> None:
    assert runs.spark_exit == 0, runs.spark_out
    lite, spark = fetch(runs.lite, ALERTS), fetch(runs.spark, ALERTS)
    # data/sample/PLANTED.md's swings in the first run's 30 days, and the anomalies (16 of them
    # on the same days: one digest line each)
    assert [r[2] for r in lite].count("balance_swing") == 31
    assert [r[2] for r in lite].count("anomaly") == 21
    assert [(int(r[0]), r[1], r[2], r[4]) for r in spark] == [
        (int(r[0]), r[1], r[2], r[4]) for r in lite]
    for a, b in zip(lite, spark, strict=True):
        assert abs(a[3] - b[3]) <= TOLERANCE_USD
    assert {r[5] for r in spark} == {"sent"}
    assert len(runs.slack.posted) == 1
    digest = runs.slack.posted[0]
    assert digest["text"].startswith("balancewatch: 31 balance swing(s), 5 balance anomaly(ies)")
    swings = next(
        b for b in digest["blocks"] if "Balance swings" in b.get("text", {}).get("text", "")
    )
    assert swings["text"]["text"].splitlines()[1].startswith(
        f"1. *org {LARGEST_PLANTED}* · 2024-04-20")


def test_a_re_run_on_spark_adds_nothing_and_sends_nothing(runs: Runs) -> None:
    before = fetch(runs.spark, ALERTS)
    posted = len(runs.slack.posted)
    out = io.StringIO()
    report = run_monitor(runs.spark, project_root=runs.project, out=out)
    assert report.exit_code == 0 and report.new_alerts == 0, out.getvalue()
    assert "slack (web api): nothing new to send" in out.getvalue()
    assert fetch(runs.spark, ALERTS) == before
    assert len(runs.slack.posted) == posted
    # the delivery again through the CLI: every file loaded before, nothing to do
    done = subprocess.run(
        [sys.executable, "-m", "balancewatch", "run", str(SAMPLE_DIR), "--warehouse",
         runs.spark.location()], capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing new:" in done.stdout
    assert fetch(runs.spark, ALERTS) == before and len(runs.slack.posted) == posted
