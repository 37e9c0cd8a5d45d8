"""The cause line under a swing adds up: the largest invoice, then "… and N more invoices ($X)"
for the rest of the day, on the console and in the Slack digest."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("great_expectations")

from monitors.alerts.digest import Digest  # noqa: E402
from monitors.alerts.slack_blocks import render_slack  # noqa: E402
from monitors.findings.results import Cause, SwingAlert  # noqa: E402
from tests.test_monitor_run import day, run, steady_invoices, write_warehouse  # noqa: E402


def cause_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith("cause:")]


def test_a_day_of_four_invoices_names_the_largest_and_adds_up_the_other_three(
    tmp_path: Path, project: Path
) -> None:
    invoices = steady_invoices(5) + [
        (9001, 101, day(6), "paid", 85_572.30),
        (9002, 101, day(6), "paid", 60_000.00),
        (9003, 101, day(6), "paid", 70_000.00),
        (9004, 101, day(6), "paid", 59_933.60),
        (9005, 102, day(6), "refunded", 10_300.00),  # one invoice: nothing more to add
    ] + [(9100 + org, org, day(6), "paid", 100.0) for org in (103, 104)]
    write_warehouse(tmp_path / "w.db", invoices)
    report, out = run(tmp_path / "w.db", project, since=day(6))
    assert report.exit_code == 0, out
    assert cause_lines(out) == [
        "cause: invoice 9001 paid USD 85,572.30 = +$85,572.30 … and 3 more invoices "
        "(+$189,933.60)",
        "cause: invoice 9005 refunded USD 10,300.00 = -$10,300.00",
    ]


def test_the_rest_of_the_day_keeps_its_sign_and_says_invoice_for_one() -> None:
    swing = SwingAlert(7, "2024-03-06", 1_000.0, 100.0, -900.0, -90.0, invoice_count=2,
                       causes=(Cause(1, "refunded", "USD", 1_000.0, -1_000.0,
                                     "2024-03-06T01:00:00Z"),))
    digest = Digest(as_of="2024-03-06", first_day="2024-03-06", last_day="2024-03-06",
                    days_evaluated=1, swings=(swing,))
    text = str(render_slack(digest))
    assert ("_cause: invoice 1 refunded USD 1,000.00 = -$1,000.00 … and 1 more invoice "
            "(+$100.00)_") in text
