"""The digest's Slack rendering: golden payloads and Slack's size limits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from monitors.alerts.digest import CriticalFailure, Digest, SwingAlert
from monitors.alerts.slack_blocks import MAX_BLOCKS, MAX_TEXT, render_slack

GOLDEN = Path(__file__).parent / "golden"


def swing(org: int, day: str, previous: float, balance: float) -> SwingAlert:
    change = balance - previous
    return SwingAlert(org, day, previous, balance, change, 100.0 * change / abs(previous))


FEW = Digest(
    as_of="2024-04-30",
    first_day="2024-04-28",
    last_day="2024-04-30",
    days_evaluated=3,
    swings=(
        swing(-4611686018427387904, "2024-04-29", 1000.0, 100.0),
        swing(77, "2024-04-30", 20_000.0, -5_000.0),
        swing(12, "2024-04-28", 300.0, 960.0),
    ),
    critical=(
        CriticalFailure(
            "fact_daily_balance",
            "Column values to not be null (organization_id)",
            "3 unexpected",
        ),
    ),
    docs_url="https://docs.example.test/balancewatch/index.html",
)


def many_swings(count: int) -> Digest:
    swings = tuple(
        swing(-(10**18) - i, f"2024-04-{1 + i % 30:02d}", 1000.0 + i, 5000.0 + 7 * i)
        for i in range(count)
    )
    return Digest(
        "2024-04-30", "2024-04-01", "2024-04-30", 30, swings, docs_url="/tmp/docs/index.html"
    )


def check_golden(name: str, payload: dict) -> None:
    """Compare with the reviewed file; BALANCEWATCH_UPDATE_GOLDEN=1 rewrites it for review."""
    path = GOLDEN / name
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("BALANCEWATCH_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_few_alerts_golden_payload() -> None:
    check_golden("slack_few_alerts.json", render_slack(FEW).as_payload())


def test_hundreds_of_alerts_golden_payload() -> None:
    check_golden("slack_many_alerts.json", render_slack(many_swings(400)).as_payload())


def test_critical_failures_come_before_swings_and_swings_rank_by_usd() -> None:
    blocks = render_slack(FEW).blocks
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[0].startswith(":rotating_light: *Critical checks failed*")
    swing_lines = texts[1].splitlines()[1:]
    assert [line.split("*org ")[1].split("*")[0] for line in swing_lines] == [
        "77",
        "-4611686018427387904",
        "12",
    ]
    assert "$20,000.00 → -$5,000.00 (*-125.0%*, -$25,000.00)" in swing_lines[0]


@pytest.mark.parametrize("count", [0, 1, 20, 21, 400, 5000])
def test_any_number_of_alerts_fits_slack_limits(count: int) -> None:
    message = render_slack(many_swings(count))
    assert len(message.blocks) <= MAX_BLOCKS
    assert len(message.text) <= MAX_TEXT
    for block in message.blocks:
        texts = (
            [block["text"]["text"]]
            if "text" in block
            else [e["text"] for e in block.get("elements", [])]
        )
        assert all(len(t) <= MAX_TEXT for t in texts)
    tail = [b for b in message.blocks if b["type"] == "context"]
    if count > 20:
        assert any(
            f"…and {count - 20} more swing(s)" in e["text"] for b in tail for e in b["elements"]
        )


def test_local_docs_path_is_shown_as_text_hosted_docs_as_link() -> None:
    local = render_slack(many_swings(1)).blocks[-1]["elements"][0]["text"]
    assert local == ("This run's report, on the machine that ran it: `/tmp/docs/index.html` "
                     "(set BALANCEWATCH_DOCS_URL to link a hosted copy)")
    hosted = render_slack(FEW).blocks[-1]["elements"][0]["text"]
    assert hosted == ("<https://docs.example.test/balancewatch/index.html|Open this run's report> "
                      "(invoices, charts, checks)")


def test_fallback_text_names_the_largest_swing_first() -> None:
    lines = render_slack(FEW).text.splitlines()
    assert lines[0] == "balancewatch: 1 critical check(s) failed, 3 balance swing(s)"
    assert lines[1] == "3 day(s) evaluated: 2024-04-28 to 2024-04-30 · as of 2024-04-30"
    assert lines[3] == "org 77 on 2024-04-30: $20,000.00 -> -$5,000.00 (-125.0%, -$25,000.00)"
