"""Uploading chart files into a Slack thread over real HTTP: once, retried, clear problems."""

from __future__ import annotations

import json
from urllib.request import Request, urlopen

import pytest

from monitors.alerts.slack_blocks import SlackMessage
from monitors.alerts.slack_delivery import SlackSettings, send_message
from monitors.alerts.slack_uploads import WEBHOOK_PROBLEM, UploadOutcome, upload_file
from tests.slack_server import FakeSlack, SharedFile, Sleeps, refused_url

CONTENT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # binary, with \r\n and NUL bytes
GET_URL, UPLOAD, COMPLETE = "files.getUploadURLExternal", "/upload/", "files.completeUploadExternal"
STEPS = {GET_URL: GET_URL, UPLOAD: "the file upload", COMPLETE: COMPLETE}


def web_api(slack: FakeSlack, **overrides: object) -> SlackSettings:
    settings = dict(
        bot_token=slack.state.token, channel="C0BALANCE", api_url=slack.api_url,
        backoff_seconds=0.5,
    )
    settings.update(overrides)
    return SlackSettings(**settings)


def thread(slack: FakeSlack) -> str:
    """The ts of a digest posted to the fake Slack (the thread a chart goes into)."""
    outcome = send_message(SlackMessage(text="digest", blocks=[]), web_api(slack))
    assert outcome.delivered and outcome.message_ts
    return outcome.message_ts


def upload(settings: SlackSettings, thread_ts: str, **kw: object) -> UploadOutcome:
    options: dict = dict(
        channel_id="C0BALANCE", thread_ts=thread_ts, content=CONTENT,
        filename="balance-42-2026-11-15.png", title="Organization 42", sleep=Sleeps(),
    )
    options.update(kw)
    return upload_file(settings, **options)


def api_paths(slack: FakeSlack) -> list[str]:
    return [r.path for r in slack.requests if "chat.postMessage" not in r.path]


def test_upload_is_shared_once_in_the_thread_with_identical_bytes(slack: FakeSlack) -> None:
    ts = thread(slack)
    outcome = upload(web_api(slack), ts)
    assert outcome == UploadOutcome(True, attempts=1, file_id="F0001")
    assert slack.uploads == [SharedFile(
        "F0001", "balance-42-2026-11-15.png", "Organization 42", CONTENT, "C0BALANCE", ts
    )]
    assert api_paths(slack) == [f"/api/{GET_URL}", "/upload/F0001", f"/api/{COMPLETE}"]
    get_url, sent, complete = slack.requests[1:]
    assert get_url.body == {"filename": "balance-42-2026-11-15.png", "length": str(len(CONTENT))}
    assert sent.body == CONTENT and "Authorization" not in sent.headers
    assert json.loads(complete.body["files"]) == [{"id": "F0001", "title": "Organization 42"}]
    assert complete.headers["Authorization"] == f"Bearer {slack.state.token}"
    assert slack.state.replies == {}  # a file is not a chat reply: posted messages are as before


@pytest.mark.parametrize("path", [GET_URL, UPLOAD, COMPLETE])
@pytest.mark.parametrize(
    ("kind", "options", "waits"),
    [("rate_limited", {"retry_after": 0}, [0.0]), ("server_error", {"status": 503}, [0.5])],
)
def test_transient_fault_on_each_call_retries_and_shares_exactly_one_file(
    slack: FakeSlack, path: str, kind: str, options: dict, waits: list[float]
) -> None:
    ts = thread(slack)
    slack.fail_next(kind, path=path, **options)
    sleeps = Sleeps()
    outcome = upload(web_api(slack), ts, sleep=sleeps)
    # a fault on the URL request is answered before a file id is handed out
    file_id = "F0001" if path == GET_URL else "F0002"
    assert outcome == UploadOutcome(True, attempts=2, file_id=file_id)
    assert sleeps == waits
    assert [(f.file_id, f.content, f.thread_ts) for f in slack.uploads] == [(file_id, CONTENT, ts)]
    assert len([p for p in api_paths(slack) if COMPLETE in p]) == (2 if path == COMPLETE else 1)
    if path != GET_URL:  # the first file was uploaded or asked for but never completed
        assert "F0001" in slack.state.pending


def test_persistent_server_errors_give_up_after_max_attempts(slack: FakeSlack) -> None:
    ts = thread(slack)
    slack.fail_next("server_error", times=10, status=503, path=COMPLETE)
    sleeps = Sleeps()
    outcome = upload(web_api(slack, max_attempts=3), ts, sleep=sleeps)
    assert outcome.problem == f"gave up after 3 attempts: HTTP 503 from {COMPLETE}"
    assert (outcome.delivered, outcome.attempts, sleeps) == (False, 3, [0.5, 1.0])
    assert slack.uploads == [] and len(slack.state.pending) == 3


@pytest.mark.parametrize("path", [GET_URL, UPLOAD, COMPLETE])
def test_retry_after_beyond_cap_gives_up_without_waiting(slack: FakeSlack, path: str) -> None:
    ts = thread(slack)
    slack.fail_next("rate_limited", retry_after=120, path=path)
    sleeps = Sleeps()
    outcome = upload(web_api(slack, max_retry_after_seconds=30), ts, sleep=sleeps)
    assert outcome.problem == "Slack asked to wait 120 s (Retry-After), over the 30 s cap"
    assert (outcome.attempts, sleeps, slack.uploads) == (1, [], [])


@pytest.mark.parametrize("path", [GET_URL, COMPLETE])
@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
def test_ok_false_gives_up_at_once(slack: FakeSlack, path: str, error: str) -> None:
    ts = thread(slack)
    slack.fail_next("error", error=error, path=path)
    outcome = upload(web_api(slack), ts)
    assert outcome.problem == f"Slack answered ok=false to {path}: {error}"
    assert (outcome.delivered, outcome.attempts, slack.uploads) == (False, 1, [])


def test_upload_url_refusing_the_bytes_gives_up(slack: FakeSlack) -> None:
    ts = thread(slack)
    slack.fail_next("error", error="invalid_upload", path=UPLOAD)
    outcome = upload(web_api(slack), ts)
    assert outcome.problem == "the file upload was refused: HTTP 403"
    assert (outcome.attempts, slack.uploads) == (1, [])


def test_real_refusals_from_the_server(slack: FakeSlack) -> None:
    ts = thread(slack)
    wrong = upload(web_api(slack, bot_token="xoxb-wrong"), ts)
    assert wrong.problem == f"Slack answered ok=false to {GET_URL}: invalid_auth"
    elsewhere = upload(web_api(slack), ts, channel_id="C0UNKNOWN")
    assert elsewhere.problem == f"Slack answered ok=false to {COMPLETE}: channel_not_found"
    assert slack.uploads == []


def test_unknown_thread_gives_up(slack: FakeSlack) -> None:
    thread(slack)
    outcome = upload(web_api(slack), "1699999999.000100")
    assert outcome.problem == f"Slack answered ok=false to {COMPLETE}: thread_not_found"
    assert (outcome.delivered, outcome.attempts, slack.uploads) == (False, 1, [])


def test_webhook_settings_upload_nothing(slack: FakeSlack) -> None:
    settings = SlackSettings(webhook_url=slack.webhook_url)
    outcome = upload(settings, "1700000001.000100")
    assert outcome == UploadOutcome(False, attempts=0, problem=WEBHOOK_PROBLEM)
    assert slack.requests == []
    unset = upload(SlackSettings(), "1700000001.000100")
    assert unset.problem == "Slack is not configured" and slack.requests == []


def test_empty_file_is_not_sent(slack: FakeSlack) -> None:
    outcome = upload(web_api(slack), "1700000001.000100", content=b"")
    assert outcome.problem == "nothing to upload: balance-42-2026-11-15.png is empty"
    assert slack.requests == []


def test_refused_connection_retries_then_reports() -> None:
    settings = SlackSettings(bot_token="xoxb-x", channel="C0", api_url=refused_url(),
                             max_attempts=2, backoff_seconds=0.25)
    sleeps = Sleeps()
    outcome = upload_file(settings, channel_id="C0", thread_ts="1.2", content=b"x",
                          filename="a.png", title="a", sleep=sleeps)
    assert outcome.problem == "gave up after 2 attempts: cannot reach Slack (Connection refused)"
    assert sleeps == [0.25]


def test_token_never_appears_in_the_problem(slack: FakeSlack) -> None:
    ts = thread(slack)
    token = slack.state.token
    slack.fail_next("error", error=f"invalid_auth for {token}", path=COMPLETE)
    outcome = upload(web_api(slack), ts)
    assert outcome.problem == f"Slack answered ok=false to {COMPLETE}: invalid_auth for ***"
    assert token not in repr(outcome)
    slack.fail_next("server_error", times=5, path=GET_URL)
    outcome = upload(web_api(slack, max_attempts=2), ts)
    assert outcome.problem and token not in outcome.problem


def test_server_accepts_a_multipart_upload(slack: FakeSlack) -> None:
    """The fake's upload URL takes a multipart form as well as raw bytes."""
    answer = urlopen(Request(  # noqa: S310 - loopback test server
        f"{slack.api_url}{GET_URL}", data=b"filename=a.png&length=3",
        headers={"Authorization": f"Bearer {slack.state.token}"},
    ))
    url = json.loads(answer.read())["upload_url"]
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n\x00\r\n\r\n--XyZ--\r\n")
    posted = urlopen(Request(url, data=body,  # noqa: S310
                             headers={"Content-Type": "multipart/form-data; boundary=XyZ"}))
    assert posted.read() == b"OK - 3"
    assert slack.state.pending["F0001"]["bytes"] == b"\x00\r\n"
