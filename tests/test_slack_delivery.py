"""Sending over real HTTP to a Slack-compatible server: retries, caps and clear problems."""

from __future__ import annotations

import pytest

from monitors.alerts.slack_blocks import SlackMessage
from monitors.alerts.slack_delivery import SlackSettings, send_message
from tests.slack_server import FakeSlack, Sleeps, refused_url

MESSAGE = SlackMessage(text="balancewatch: 1 balance swing(s)", blocks=[{"type": "divider"}])


def web_api(slack: FakeSlack, **overrides: object) -> SlackSettings:
    settings = dict(
        bot_token=slack.state.token,
        channel="#balance-alerts",
        api_url=slack.api_url,
        backoff_seconds=0.5,
    )
    settings.update(overrides)
    return SlackSettings(**settings)


def test_posts_once_and_returns_message_ts(slack: FakeSlack) -> None:
    outcome = send_message(MESSAGE, web_api(slack))
    assert (outcome.delivered, outcome.attempts, outcome.problem) == (True, 1, None)
    assert outcome.message_ts == "1700000001.000100"
    assert slack.posted == [
        {"channel": "#balance-alerts", "text": MESSAGE.text, "blocks": MESSAGE.blocks}
    ]
    assert slack.requests[0].headers["Authorization"] == "Bearer local-demo-token"


def test_rate_limit_waits_retry_after_then_delivers(slack: FakeSlack) -> None:
    slack.fail_next("rate_limited", retry_after=7)
    sleeps = Sleeps()
    outcome = send_message(MESSAGE, web_api(slack), sleep=sleeps)
    assert (outcome.delivered, outcome.attempts) == (True, 2)
    assert sleeps == [7.0]
    assert len(slack.posted) == 1


def test_rate_limit_beyond_cap_gives_up_without_waiting(slack: FakeSlack) -> None:
    slack.fail_next("rate_limited", retry_after=120)
    sleeps = Sleeps()
    outcome = send_message(MESSAGE, web_api(slack, max_retry_after_seconds=30), sleep=sleeps)
    assert not outcome.delivered
    assert outcome.problem == "Slack asked to wait 120 s (Retry-After), over the 30 s cap"
    assert sleeps == [] and slack.posted == [] and len(slack.requests) == 1


def test_server_errors_back_off_exponentially_then_deliver(slack: FakeSlack) -> None:
    slack.fail_next("server_error", times=2, status=503)
    sleeps = Sleeps()
    outcome = send_message(MESSAGE, web_api(slack), sleep=sleeps)
    assert (outcome.delivered, outcome.attempts) == (True, 3)
    assert sleeps == [0.5, 1.0]
    assert len(slack.posted) == 1


def test_persistent_server_errors_give_up_after_max_attempts(slack: FakeSlack) -> None:
    slack.fail_next("server_error", times=10)
    sleeps = Sleeps()
    outcome = send_message(MESSAGE, web_api(slack, max_attempts=3), sleep=sleeps)
    assert not outcome.delivered
    assert outcome.problem == "gave up after 3 attempts: HTTP 500"
    assert sleeps == [0.5, 1.0] and len(slack.requests) == 3 and slack.posted == []


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
def test_ok_false_is_reported_once_and_not_retried(slack: FakeSlack, error: str) -> None:
    slack.fail_next("error", error=error)
    outcome = send_message(MESSAGE, web_api(slack), sleep=Sleeps())
    assert not outcome.delivered
    assert outcome.problem == f"Slack answered ok=false: {error}"
    assert len(slack.requests) == 1


def test_wrong_token_is_invalid_auth_from_the_server(slack: FakeSlack) -> None:
    outcome = send_message(MESSAGE, web_api(slack, bot_token="xoxb-wrong"), sleep=Sleeps())
    assert outcome.problem == "Slack answered ok=false: invalid_auth"


def test_slow_answer_within_timeout_is_delivered_once(slack: FakeSlack) -> None:
    slack.fail_next("slow", seconds=0.6)
    outcome = send_message(MESSAGE, web_api(slack, timeout_seconds=10))
    assert (outcome.delivered, outcome.attempts) == (True, 1)
    assert len(slack.posted) == 1


def test_refused_connection_retries_then_reports() -> None:
    settings = SlackSettings(
        bot_token="xoxb-x",
        channel="#c",
        api_url=refused_url(),
        max_attempts=2,
        backoff_seconds=0.25,
    )
    sleeps = Sleeps()
    outcome = send_message(MESSAGE, settings, sleep=sleeps)
    assert not outcome.delivered
    assert outcome.problem == "gave up after 2 attempts: cannot reach Slack (Connection refused)"
    assert sleeps == [0.25]


def test_webhook_delivers_and_handles_faults(slack: FakeSlack) -> None:
    settings = SlackSettings(webhook_url=slack.webhook_url, backoff_seconds=0.5)
    slack.fail_next("rate_limited", retry_after=2)
    sleeps = Sleeps()
    outcome = send_message(MESSAGE, settings, sleep=sleeps)
    assert (outcome.delivered, outcome.message_ts, sleeps) == (True, "webhook", [2.0])
    assert slack.posted == [{"text": MESSAGE.text, "blocks": MESSAGE.blocks}]
    slack.fail_next("error", error="invalid_token")
    refused = send_message(MESSAGE, settings, sleep=sleeps)
    assert refused.problem == "the webhook refused the message: HTTP 403 invalid_token"


def test_settings_come_from_environment_and_hide_secrets() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-secret-123",
        "SLACK_CHANNEL": "#ops",
        "SLACK_WEBHOOK_URL": "https://hooks.example.test/services/SECRET",
    }
    settings = SlackSettings.from_env(env)
    assert settings.mode == "web_api" and settings.api_url == "https://slack.com/api/"
    assert "secret" not in repr(settings).lower()
    assert SlackSettings.from_env({"SLACK_WEBHOOK_URL": "https://x.test/h"}).mode == "webhook"
    assert SlackSettings.from_env({}).mode is None
    half = SlackSettings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})
    assert half.mode is None
    assert (
        half.incomplete()
        == "SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: Slack delivery is off"
    )
