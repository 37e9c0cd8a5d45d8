"""``balance_alerts`` as an outbox: each alert reaches Slack exactly once, whatever the faults.

On both engines: the outbox is SQL through the warehouse's connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from balancewatch.warehouse import Connection
from monitors.alerts.digest import Digest
from monitors.alerts.outbox import notify
from monitors.alerts.slack_delivery import SlackSettings
from monitors.findings.alert_records import ALERTS_DDL
from tests.conftest import fresh_warehouse
from tests.slack_server import FakeSlack, refused_url

RUN = Digest(as_of="2024-04-30", first_day="2024-04-30", last_day="2024-04-30", days_evaluated=1)


def add_alert(
    conn: Connection, org: int, day: str, previous: float, balance: float,
    found: str = "2024-05-01T00:00:00Z",
) -> None:
    change = balance - previous
    with conn.transaction():
        conn.execute(
            "insert into balance_alerts (organization_id, balance_date, rule, previous_balance_usd,"
            " balance_usd, change_pct, change_usd, severity, first_seen_at) "
            "values (?, ?, 'balance_swing', ?, ?, ?, ?, 'warning', ?)",
            (org, day, previous, balance, 100 * change / abs(previous), change, found),
        )


@pytest.fixture
def conn(engine: str, tmp_path: Path) -> Iterator[Connection]:
    with fresh_warehouse(engine, tmp_path) as warehouse:
        warehouse.create()
        connection = warehouse.connect()
        connection.execute(ALERTS_DDL)
        # the charts of sent alerts read their balance around the day
        connection.execute("create table fact_daily_balance (organization_id bigint, "
                           "balance_date text, balance_usd double precision)")
        connection.executemany(
            "insert into fact_daily_balance values (?, ?, ?)",
            [(1, "2024-04-29", 1000.0), (1, "2024-04-30", 100.0), (2, "2024-04-29", 50.0),
             (2, "2024-04-30", 500.0), (3, "2024-04-30", 10.0), (3, "2024-05-01", 100.0)],
        )
        add_alert(connection, 1, "2024-04-30", 1000.0, 100.0)
        add_alert(connection, 2, "2024-04-30", 50.0, 500.0)
        yield connection
        connection.close()


def settings_for(slack: FakeSlack, **overrides: object) -> SlackSettings:
    values = dict(
        bot_token=slack.state.token,
        channel="#balance-alerts",
        api_url=slack.api_url,
        max_attempts=3,
        backoff_seconds=0.01,
        max_retry_after_seconds=2,
    )
    values.update(overrides)
    return SlackSettings(**values)


def statuses(conn: Connection) -> list[tuple]:
    return conn.execute(
        "select organization_id, delivery_status, message_ts from balance_alerts order by 1"
    ).fetchall()


def no_sleep(seconds: float) -> None:
    pass


def test_pending_alerts_go_out_in_one_digest_and_are_marked_sent(
    conn: Connection, slack: FakeSlack
) -> None:
    result = notify(conn, RUN, settings_for(slack))
    assert (result.sent_alerts, result.pending_alerts, result.problem) == (2, 0, None)
    assert len(slack.posted) == 1
    assert "2 balance swing(s)" in slack.posted[0]["text"]
    assert statuses(conn) == [(1, "sent", "1700000001.000100"), (2, "sent", "1700000001.000100")]


def test_second_run_sends_nothing(conn: Connection, slack: FakeSlack) -> None:
    first = notify(conn, RUN, settings_for(slack))
    assert first.charts_uploaded == 2 and len(slack.state.uploads) == 2  # into the digest thread
    requests = len(slack.requests)  # 1 digest + 3 calls per chart upload
    again = notify(conn, RUN, settings_for(slack))
    assert again.line() == "slack (web api): nothing new to send"
    assert len(slack.posted) == 1 and len(slack.requests) == requests == 7


def test_only_new_alerts_go_in_the_next_digest(conn: Connection, slack: FakeSlack) -> None:
    notify(conn, RUN, settings_for(slack))
    add_alert(conn, 3, "2024-05-01", 10.0, 100.0)
    result = notify(conn, RUN, settings_for(slack))
    assert result.sent_alerts == 1
    assert "org 3 on 2024-05-01" in slack.posted[1]["text"]
    assert "org 1 " not in slack.posted[1]["text"]


FAULTS = {
    # fault -> (scripted answers, delivered in this run?)
    "429 within cap": ([("rate_limited", {"retry_after": 1})], True),
    "429 beyond cap": ([("rate_limited", {"retry_after": 60})], False),
    "500 then ok": ([("server_error", {})], True),
    "500 persistent": ([("server_error", {})] * 3, False),
    "invalid_auth": ([("error", {"error": "invalid_auth"})], False),
    "channel_not_found": ([("error", {"error": "channel_not_found"})], False),
    "slow answer": ([("slow", {"seconds": 0.3})], True),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_fault_matrix_every_alert_delivered_exactly_once(
    fault: str, conn: Connection, slack: FakeSlack
) -> None:
    answers, delivered_now = FAULTS[fault]
    for kind, options in answers:
        slack.fail_next(kind, **options)
    first = notify(conn, RUN, settings_for(slack), sleep=no_sleep)
    if delivered_now:
        assert first.problem is None and first.sent_alerts == 2
    else:
        assert first.problem is not None and first.pending_alerts == 2
        assert {row[1] for row in statuses(conn)} == {"pending"}
        assert slack.posted == []
    second = notify(conn, RUN, settings_for(slack), sleep=no_sleep)  # the fault has cleared
    assert second.problem is None
    assert len(slack.posted) == 1, "each alert reaches the channel exactly once"
    assert {row[1] for row in statuses(conn)} == {"sent"}


def test_refused_connection_keeps_alerts_pending_with_one_clear_line(
    conn: Connection,
) -> None:
    settings = SlackSettings(
        bot_token="xoxb-x",
        channel="#c",
        api_url=refused_url(),
        max_attempts=2,
        backoff_seconds=0.01,
    )
    result = notify(conn, RUN, settings, sleep=no_sleep)
    assert result.line() == (
        "slack: NOT delivered: gave up after 2 attempts: cannot reach Slack (Connection refused); "
        "2 alert(s) stay pending and will be sent by the next run"
    )
    assert {row[1] for row in statuses(conn)} == {"pending"}


def test_without_slack_settings_alerts_stay_recorded_for_the_console(
    conn: Connection,
) -> None:
    result = notify(conn, RUN, SlackSettings())
    assert result.line() == ("slack: not configured, nothing sent; 2 alert(s) in balance_alerts "
                             "were never sent (`balancewatch alerts list --status pending`)")
    assert {row[1] for row in statuses(conn)} == {"pending"}


def test_webhook_delivery_marks_alerts_sent(conn: Connection, slack: FakeSlack) -> None:
    result = notify(conn, RUN, SlackSettings(webhook_url=slack.webhook_url))
    assert result.sent_alerts == 2
    assert statuses(conn) == [(1, "sent", "webhook"), (2, "sent", "webhook")]


def resolve_alert(conn: Connection, org: int, sentence: str) -> None:
    """What recording does when a sent alert's day no longer swings."""
    from monitors.findings.alert_records import resolve
    from monitors.findings.results import Resolution

    with conn.transaction():
        resolve(conn, [Resolution(org, "2024-04-30", "balance_swing", None, None, sentence)],
                sent={(org, "2024-04-30", "balance_swing")})


def test_a_resolution_is_posted_once_in_its_digest_thread_despite_faults(
    conn: Connection, slack: FakeSlack
) -> None:
    notify(conn, RUN, settings_for(slack))  # both alerts sent in digest 1700000001.000100
    resolve_alert(conn, 2, "no longer a swing: 50.00 → 60.00 USD after load 3")
    slack.fail_next("server_error", times=3, status=503)  # the whole next run's digest fails
    failed = notify(conn, RUN, settings_for(slack), sleep=no_sleep)
    assert failed.problem and failed.pending_resolutions == 1
    assert slack.state.replies == {}
    slack.fail_next("server_error", times=1, status=500)  # one retry, then through
    result = notify(conn, RUN, settings_for(slack), sleep=no_sleep)
    assert (result.sent_resolutions, result.pending_resolutions, result.problem) == (1, 0, None)
    replies = slack.state.replies["1700000001.000100"]
    assert len(replies) == 1 and "org 2* · 2024-04-30" in str(replies[0]["blocks"])
    assert "after load 3" in replies[0]["text"]
    notify(conn, RUN, settings_for(slack), sleep=no_sleep)  # nothing left: no second reply
    assert len(slack.state.replies["1700000001.000100"]) == 1
    digest = slack.posted[-2]  # the run's digest says where the resolution went
    assert "1 alert(s) resolved in the thread" in str(digest["blocks"])


def test_webhook_mode_lists_resolutions_in_the_next_digest(
    conn: Connection, slack: FakeSlack
) -> None:
    webhook = SlackSettings(webhook_url=slack.webhook_url, max_attempts=2, backoff_seconds=0.01)
    notify(conn, RUN, webhook)
    resolve_alert(conn, 1, "no longer a swing: 1,000.00 → 900.00 USD after load 5")
    result = notify(conn, RUN, webhook)
    assert result.sent_resolutions == 1 and slack.state.replies == {}
    assert "resolved: org 1 on 2024-04-30: no longer a swing" in slack.posted[-1]["text"]
    again = notify(conn, RUN, webhook)
    assert again.line() == "slack (webhook): nothing new to send"


# A run on 2024-05-10: orgs 1 and 2 were found on 05-01 (9 days before: beyond the 7-day
# cut-off), org 3 on 05-08 by an earlier run (Slack was off), org 4 by this run.
BACKLOG_RUN = replace(RUN, run_started="2024-05-10T06:00:00Z")


def add_backlog(conn: Connection) -> None:
    add_alert(conn, 3, "2024-05-07", 10.0, 100.0, found="2024-05-08T06:00:02Z")
    add_alert(conn, 4, "2024-05-09", 400.0, 40.0, found="2024-05-10T06:00:03Z")
    conn.executemany("insert into fact_daily_balance values (?, ?, ?)",  # for their charts
                     [(3, "2024-05-06", 10.0), (3, "2024-05-07", 100.0),
                      (4, "2024-05-08", 400.0), (4, "2024-05-09", 40.0)])


def test_old_unsent_alerts_are_counted_and_earlier_ones_labelled(
    conn: Connection, slack: FakeSlack
) -> None:
    add_backlog(conn)
    result = notify(conn, BACKLOG_RUN, settings_for(slack))
    assert (result.sent_alerts, result.backlog, result.problem) == (4, 2, None)
    assert "(2 older one(s) counted, not listed)" in result.line()
    message = slack.posted[0]
    blocks = json.dumps(message["blocks"], ensure_ascii=False)
    assert "2 balance swing(s), 2 older unsent" in message["text"]
    assert "*Balance swings on new days*" in blocks and "*org 4*" in blocks
    assert "*Found by earlier runs, not sent until now*" in blocks
    assert "*org 3* · 2024-05-07" in blocks and "found 2024-05-08" in blocks
    assert "found 2024-05-10" not in blocks  # this run's own alert is not labelled
    assert "*org 1*" not in blocks and "*org 2*" not in blocks
    assert ("2 older alert(s), found by runs before 2024-05-03 and never sent, are not listed "
            "here: `balancewatch alerts list --found-before 2024-05-03`") in blocks
    assert {s for _, s, _ in statuses(conn)} == {"sent"}  # the count told about them: once
    assert notify(conn, BACKLOG_RUN, settings_for(slack)).line() == (
        "slack (web api): nothing new to send")


def test_the_backlog_cut_off_is_a_setting(
    conn: Connection, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_backlog(conn)
    monkeypatch.setenv("BALANCEWATCH_BACKLOG_DAYS", "30")
    result = notify(conn, BACKLOG_RUN, settings_for(slack))
    blocks = json.dumps(slack.posted[0]["blocks"], ensure_ascii=False)
    assert result.backlog == 0 and "older" not in slack.posted[0]["text"]
    assert "*org 1* · 2024-04-30" in blocks and "found 2024-05-01" in blocks


def test_a_bad_backlog_setting_is_named_and_nothing_is_marked(
    conn: Connection, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALANCEWATCH_BACKLOG_DAYS", "a week")
    with pytest.raises(ValueError, match="BALANCEWATCH_BACKLOG_DAYS must be a whole number"):
        notify(conn, BACKLOG_RUN, settings_for(slack))
    assert slack.posted == [] and {s for _, s, _ in statuses(conn)} == {"pending"}


def lose_the_answer(conn: Connection, slack: FakeSlack, channel: str) -> None:
    """A digest Slack posts after its client stopped waiting (as when the run dies first)."""
    slack.state.next_ts = int(time.time())  # Slack's message times are epoch seconds
    slack.fail_next("slow", seconds=1.5, path="chat.postMessage")
    first = notify(conn, RUN, settings_for(slack, channel=channel, timeout_seconds=1,
                                           max_attempts=1))
    assert first.sent_alerts == 0 and first.problem  # the run never heard Slack's answer
    deadline = time.monotonic() + 30
    while not slack.posted and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(slack.posted) == 1  # ... yet Slack shows it


def test_a_digest_slack_posted_but_never_answered_is_marked_sent_not_sent_again(
    conn: Connection, slack: FakeSlack
) -> None:
    lose_the_answer(conn, slack, "C0BALANCE")
    [ts] = slack.state.messages
    second = notify(conn, RUN, settings_for(slack, channel="C0BALANCE"))
    assert len(slack.posted) == 1
    assert statuses(conn) == [(1, "sent", ts), (2, "sent", ts)]
    assert "marked sent, not sent again" in second.line()
    assert second.charts_uploaded == 2  # the charts still go into its thread
    history = [r for r in slack.requests if r.path == "/api/conversations.history"]
    assert len(history) == 1 and history[0].body["channel"] == "C0BALANCE"
    asked = len(slack.requests)
    notify(conn, RUN, settings_for(slack, channel="C0BALANCE"))  # nothing in flight any more
    assert len(slack.posted) == 1 and len(slack.requests) == asked


def test_a_digest_in_flight_that_cannot_be_looked_up_is_sent_again_and_says_so(
    conn: Connection, slack: FakeSlack
) -> None:
    lose_the_answer(conn, slack, "#balance-alerts")  # a name: Slack's history needs the id
    second = notify(conn, RUN, settings_for(slack))
    assert len(slack.posted) == 2 and second.sent_alerts == 2  # at least once, never lost
    assert "could not check whether the digest of an interrupted run was posted" in second.line()
