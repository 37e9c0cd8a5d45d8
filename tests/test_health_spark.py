"""The data-health checks on Spark: freshness on the nothing-new path, an inverted FX rate, a
short day (issue 23).

One sequence of real CLI runs on the session's Spark Thrift Server (load -> dbt-spark -> GX): a
steady EUR delivery passes; three days later, with nothing new, the warehouse is stale (one
data-health alert, without dbt or GX); then a delivery whose newest day is short and carries an
inverted EUR rate exits 1, names the currency and rate, says the day is short, and resolves the
staleness. SQLite and PostgreSQL run the same checks in tests/test_freshness.py,
tests/test_fx_sanity.py and tests/test_volume.py.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from balancewatch.warehouse import SPARK
from tests.conftest import ENGINES, fresh_warehouse
from tests.deel_csv import invoice, organization, write_delivery
from tests.inprocess import run_cli
from tests.test_freshness import probe

pytestmark = [pytest.mark.spark,
              pytest.mark.skipif(SPARK not in ENGINES,
                                 reason="BALANCEWATCH_TEST_ENGINES excludes spark")]
ORGS = ("-4611686018427387904", "4611686018427387904")
START = date(2024, 3, 4)  # a Monday


def eur_day(day: date, first_id: int, count: int, rate: str = "0.92000000"
            ) -> list[dict[str, str]]:
    return [invoice(INVOICE_ID=str(first_id + k), ORGANIZATION_ID=ORGS[k % 2], FX_RATE=rate,
                    CREATED_AT=f"{day}T{k:02d}:30:00.000Z") for k in range(count)]


def deliver(folder: Path, rows: list[dict[str, str]]) -> str:
    orgs = [organization(ORGANIZATION_ID=o) for o in ORGS]
    return str(write_delivery(folder, orgs, rows))


def test_freshness_fx_and_volume_checks_on_spark(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    days = [START + timedelta(days=k) for k in range(37)]
    with fresh_warehouse(SPARK, tmp_path) as warehouse:
        where = ("--warehouse", warehouse.location())
        base = deliver(tmp_path / "base", [r for k, d in enumerate(days[:35])
                                           for r in eur_day(d, 1000 + 100 * k, 6)])
        done = run_cli("run", base, *where, "--today", str(days[35]), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "DATA HEALTH" not in done.stdout and "FX rates" not in done.stdout

        status, out = probe("run", base, *where, "--today", str(days[36] + timedelta(2)),
                            env=env)
        assert status == 0 and "run: nothing new" in out and "probe: 0 none" in out, out
        assert (f"DATA HEALTH: invoices are 4 day(s) behind: newest invoice day {days[34]}, "
                f"today {days[36] + timedelta(2)} (allowance 2 day(s)) [warning; new alert]"
                ) in out

        bad = deliver(tmp_path / "bad", eur_day(days[35], 9000, 6)
                      + eur_day(days[36], 9100, 1, rate="1.08695652"))
        done = run_cli("run", bad, *where, "--today", str(days[36] + timedelta(1)), env=env)
        out = done.stdout
        assert done.returncode == 1, out + done.stderr
        assert (f"worst: EUR on {days[36]}: rate 1.08696 (inverted), expected 0.92 (+18.1%), "
                "1 invoice(s), e.g. 9100") in out
        assert (f"DATA HEALTH: invoices on {days[36]} (Tuesday): 1, too few; expected 3 .. 9 "
                "(median 6 of 5 earlier Tuesdays)") in out
        assert "DATA HEALTH RESOLVED: invoices are up to date again" in out
