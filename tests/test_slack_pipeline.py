"""The whole monitor on the shipped sample, sending to a Slack-compatible server over HTTP.

One digest per run for the planted swings, nothing on a re-run, the exit status untouched by
Slack faults, and the bot token found nowhere on disk or in the output. On both engines (SQLite,
PostgreSQL): the sample is loaded and built once per engine, and each test works on a copy.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from balancewatch.build import build
from balancewatch.settings import SAMPLE_DIR
from balancewatch.warehouse import Warehouse
from loaders import load_delivery
from monitors.gx_project.context import REPO_ROOT
from monitors.run import run_monitor
from tests.conftest import copied_warehouse, fresh_warehouse
from tests.slack_server import FakeSlack

LARGEST_PLANTED = (
    "-8868877026281107500"  # data/sample/PLANTED.md: +300% in EUR, the largest USD move
)


@pytest.fixture(scope="module")
def built_sample(
    module_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    """The shipped sample loaded and built once per engine for this module."""
    root = tmp_path_factory.mktemp(f"sample-{module_engine}")
    with fresh_warehouse(module_engine, root) as warehouse:
        load_delivery(SAMPLE_DIR, warehouse)
        assert build(warehouse, target_path=root / "dbt-target") == 0
        yield warehouse


@pytest.fixture
def warehouse(built_sample: Warehouse, tmp_path: Path) -> Iterator[Warehouse]:
    with copied_warehouse(built_sample, tmp_path) as copy:
        yield copy


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        for name in ("SLACK_WEBHOOK_URL", "BALANCEWATCH_DOCS_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SLACK_BOT_TOKEN", server.state.token)
        monkeypatch.setenv("SLACK_CHANNEL", "#balance-alerts")
        monkeypatch.setenv("SLACK_API_URL", server.api_url)
        yield server


def monitor(warehouse: Warehouse, project: Path) -> tuple[int, str]:
    out = io.StringIO()
    report = run_monitor(warehouse, project_root=project, out=out)
    return report.exit_code, out.getvalue()


def delivery_states(warehouse: Warehouse) -> dict[str, int]:
    conn = warehouse.connect()
    try:
        rows = conn.execute(
            "select delivery_status, count(*) from balance_alerts group by 1"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def alert_days(warehouse: Warehouse) -> tuple[int, int, int]:
    """Days with a swing alert, days with an anomaly alert only, and days with any alert."""
    conn = warehouse.connect()
    try:
        rules = {}
        for org, day, rule in conn.execute(
                "select organization_id, balance_date, rule from balance_alerts").fetchall():
            rules.setdefault((org, day), set()).add(rule)
    finally:
        conn.close()
    swings = sum(1 for r in rules.values() if "balance_swing" in r)
    return swings, len(rules) - swings, len(rules)


def test_one_digest_for_the_planted_swings_then_nothing(
    warehouse: Warehouse, project: Path, slack: FakeSlack
) -> None:
    status, out = monitor(warehouse, project)
    assert status == 0
    assert len(slack.posted) == 1
    digest = slack.posted[0]
    rows = sum(delivery_states(warehouse).values())  # a row per (organization, day, rule)
    swings, anomalies, alerts = alert_days(warehouse)  # ... a digest line per day
    assert digest["text"].startswith(f"balancewatch: {swings} balance swing(s), "
                                     f"{anomalies} balance anomaly(ies)")
    swings = next(
        b for b in digest["blocks"] if "Balance swings" in b.get("text", {}).get("text", "")
    )
    assert (
        swings["text"]["text"]
        .splitlines()[1]
        .startswith(f"1. *org {LARGEST_PLANTED}* · 2024-04-20")
    )
    assert f"slack (web api): sent 1 digest with {alerts} alert(s)" in out
    assert delivery_states(warehouse) == {"sent": rows}
    requests = len(slack.requests)  # the digest, and the uploads of its charts

    status, out = monitor(warehouse, project)
    assert status == 0
    assert "slack (web api): nothing new to send" in out
    assert len(slack.posted) == 1 and len(slack.requests) == requests


@pytest.mark.parametrize(
    "kind, options, line",
    [
        ("error", {"error": "invalid_auth"}, "Slack answered ok=false: invalid_auth"),
        ("error", {"error": "channel_not_found"}, "Slack answered ok=false: channel_not_found"),
        ("rate_limited", {"retry_after": 3600}, "Slack asked to wait 3600 s (Retry-After)"),
    ],
)
def test_slack_fault_keeps_exit_status_and_next_run_delivers(
    warehouse: Warehouse, project: Path, slack: FakeSlack, kind: str, options: dict, line: str
) -> None:
    slack.fail_next(kind, **options)
    status, out = monitor(warehouse, project)
    assert status == 0
    assert f"slack: NOT delivered: {line}" in out
    assert set(delivery_states(warehouse)) == {"pending"}
    assert slack.posted == []

    status, out = monitor(warehouse, project)  # no new days, but the pending alerts go out
    assert status == 0
    assert len(slack.posted) == 1
    assert set(delivery_states(warehouse)) == {"sent"}


def test_bot_token_is_nowhere_on_disk_or_in_output(
    warehouse: Warehouse,
    project: Path,
    slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    token = "xoxb-LEAKCHECK-7f3a9c1e5b2d4f60"
    slack.state.token = token
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    status, out = monitor(warehouse, project)
    monitor(warehouse, project)
    slack.state.token = "xoxb-other"  # the next run is refused: the error path must not leak it
    monitor(warehouse, project)
    assert status == 0 and len(slack.posted) == 1
    captured = capsys.readouterr()
    assert token not in out + captured.out + captured.err + caplog.text
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    leaks += [
        p for p in (REPO_ROOT / "gx").rglob("*") if p.is_file() and token.encode() in p.read_bytes()
    ]
    assert leaks == []


def test_charts_of_the_top_swings_go_into_the_digest_thread_once_despite_faults(
    warehouse: Warehouse, project: Path, slack: FakeSlack
) -> None:
    slack.fail_next("server_error", status=503, path="files.completeUploadExternal")
    slack.fail_next("rate_limited", retry_after=0, path="files.getUploadURLExternal")
    status, out = monitor(warehouse, project)
    assert status == 0 and "5 chart(s) in its thread" in out
    digest_ts = next(ts for ts, body in slack.state.messages.items() if "thread_ts" not in body)
    shared = slack.state.uploads
    assert len(shared) == 5 and len({f.filename for f in shared}) == 5  # none twice
    assert {f.thread_ts for f in shared} == {digest_ts}
    assert all(f.content.startswith(b"\x89PNG") and len(f.content) > 10_000 for f in shared)
    assert any(LARGEST_PLANTED in f.filename for f in shared)  # the largest swing is charted
    monitor(warehouse, project)  # nothing due: no second upload
    assert len(slack.state.uploads) == 5
