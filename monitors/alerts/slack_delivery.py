"""Where a digest goes: Slack's Web API or an incoming webhook, via slack-sdk, with bounded retries.

The delivery never raises: every outcome, including a fault, comes back as a
:class:`DeliveryOutcome` whose ``problem`` is a sentence for the operator. Secrets (the bot token,
the webhook URL) are never part of that sentence, of ``repr()``, or of any log line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from monitors.alerts.slack_blocks import SlackMessage

DEFAULT_API_URL = "https://slack.com/api/"
HISTORY_PAGES = 10  # of 200 messages: how far back a digest in flight is looked for
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class SlackSettings:
    """Slack connection settings, read from the environment only."""

    bot_token: str | None = field(default=None, repr=False)
    channel: str | None = None
    webhook_url: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    max_attempts: int = 4
    backoff_seconds: float = 1.0
    max_retry_after_seconds: float = 30.0
    timeout_seconds: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> SlackSettings:
        """``SLACK_BOT_TOKEN`` + ``SLACK_CHANNEL``, or ``SLACK_WEBHOOK_URL``; ``SLACK_API_URL``."""
        env = os.environ if env is None else env
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN") or None,
            channel=env.get("SLACK_CHANNEL") or None,
            webhook_url=env.get("SLACK_WEBHOOK_URL") or None,
            api_url=env.get("SLACK_API_URL") or DEFAULT_API_URL,
            **overrides,
        )

    @property
    def mode(self) -> str | None:
        """``web_api``, ``webhook``, or ``None`` when Slack is not configured."""
        if self.bot_token and self.channel:
            return "web_api"
        if self.webhook_url:
            return "webhook"
        return None

    def incomplete(self) -> str | None:
        """A sentence naming a half-done configuration (a token without a channel, ...)."""
        if self.bot_token and not self.channel and not self.webhook_url:
            return "SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: Slack delivery is off"
        if self.channel and not self.bot_token and not self.webhook_url:
            return "SLACK_CHANNEL is set but SLACK_BOT_TOKEN is not: Slack delivery is off"
        return None


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one message."""

    delivered: bool
    message_ts: str | None = None
    attempts: int = 0
    problem: str | None = None
    channel_id: str | None = None  # Web API: the channel's id (uploads need it, not its name)


class _Retry(Exception):
    """A transient fault: try again after ``wait`` seconds (None = exponential backoff)."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class _GiveUp(Exception):
    """A fault that retrying will not fix."""


def _post_web_api(settings: SlackSettings, message: SlackMessage) -> str:
    client = _client(settings)
    try:
        response = client.chat_postMessage(
            channel=settings.channel, text=message.text, blocks=message.blocks,
            thread_ts=message.thread_ts, metadata=message.metadata,
        )
    except SlackApiError as err:
        _raise_for(err)
    return f"{response.get('ts') or ''} {response.get('channel') or ''}"


def _client(settings: SlackSettings) -> WebClient:
    return WebClient(token=settings.bot_token, base_url=settings.api_url,
                     timeout=int(settings.timeout_seconds), retry_handlers=[])


def _raise_for(err: SlackApiError) -> None:
    """A Web API error as the retry policy sees it: transient (_Retry) or final (_GiveUp)."""
    status = err.response.status_code
    error = err.response.get("error") if isinstance(err.response.data, dict) else None
    if status == 429:
        raise _Retry("rate limited", _retry_after(err.response.headers)) from None
    if status >= 500:
        raise _Retry(f"HTTP {status}") from None
    raise _GiveUp(f"Slack answered ok=false: {error or f'HTTP {status}'}") from None


def find_posted(settings: SlackSettings, channel_id: str, metadata: dict[str, Any],
                oldest: float, *, sleep: Sleep = time.sleep) -> tuple[str | None, str | None]:
    """The ``ts`` of the channel's message posted after ``oldest`` (epoch seconds) whose
    metadata is ``metadata``, via ``conversations.history`` (scope ``channels:history``, or
    ``groups:history`` for a private channel): (its ts or None, a problem or None)."""

    def search() -> str:
        client, cursor = _client(settings), None
        for _ in range(HISTORY_PAGES):
            try:
                page = client.conversations_history(
                    channel=channel_id, oldest=f"{oldest:.6f}", include_all_metadata=True,
                    limit=200, cursor=cursor)
            except SlackApiError as err:
                _raise_for(err)
            for found in page.get("messages") or []:
                carried = found.get("metadata") or {}
                if all(carried.get(k) == metadata[k] for k in ("event_type", "event_payload")):
                    return str(found.get("ts") or "")
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return ""

    ts, _, problem = with_retries(settings, search, sleep)
    return ts or None, problem


def _post_webhook(settings: SlackSettings, message: SlackMessage) -> str:
    client = WebhookClient(
        settings.webhook_url, timeout=int(settings.timeout_seconds), retry_handlers=[]
    )
    response = client.send(text=message.text, blocks=message.blocks)
    if response.status_code == 200:
        return "webhook"
    if response.status_code == 429:
        raise _Retry("rate limited", _retry_after(response.headers))
    if response.status_code >= 500:
        raise _Retry(f"HTTP {response.status_code}")
    raise _GiveUp(f"the webhook refused the message: HTTP {response.status_code} {response.body}")


def _retry_after(headers: Mapping[str, Any]) -> float:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0


T = TypeVar("T")


def with_retries(
    settings: SlackSettings, attempt: Callable[[], T], sleep: Sleep = time.sleep
) -> tuple[T | None, int, str | None]:
    """Call ``attempt`` under the delivery policy: transient faults (429 under the Retry-After
    cap, 5xx, connection errors) retried up to ``max_attempts`` times with exponential backoff,
    a refusal final. Returns (its value, attempts, None) or (None, attempts, a problem); never
    raises."""
    last = "no attempt made"
    for number in range(1, settings.max_attempts + 1):
        try:
            return attempt(), number, None
        except _GiveUp as err:
            return None, number, str(err)
        except _Retry as err:
            last, wait = err.reason, err.wait
        except (URLError, SlackRequestError, OSError) as err:
            last, wait = f"cannot reach Slack ({_reason(err)})", None
        except Exception as err:  # noqa: BLE001 - an unexpected answer (a missing field...)
            return None, number, f"unexpected answer from Slack ({type(err).__name__})"
        if wait is not None and wait > settings.max_retry_after_seconds:
            return None, number, (
                f"Slack asked to wait {wait:.0f} s (Retry-After), over the "
                f"{settings.max_retry_after_seconds:.0f} s cap"
            )
        if number < settings.max_attempts:
            sleep(wait if wait is not None else settings.backoff_seconds * 2 ** (number - 1))
    return None, settings.max_attempts, f"gave up after {settings.max_attempts} attempts: {last}"


def send_message(
    message: SlackMessage, settings: SlackSettings, *, sleep: Sleep = time.sleep
) -> DeliveryOutcome:
    """Post one message, retrying transient faults a bounded number of times. Never raises."""
    post = _post_web_api if settings.mode == "web_api" else _post_webhook
    if settings.mode is None:
        return DeliveryOutcome(False, problem="Slack is not configured")
    posted, attempts, problem = with_retries(settings, lambda: post(settings, message), sleep)
    if posted is None:
        return DeliveryOutcome(False, attempts=attempts, problem=problem)
    ts, _, channel = posted.partition(" ")
    return DeliveryOutcome(True, ts, attempts, channel_id=channel or None)


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """``text`` with every occurrence of the given secrets replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _reason(err: Exception) -> str:
    """A short cause that never contains a URL (a webhook URL is a secret)."""
    cause = getattr(err, "reason", err)
    if isinstance(cause, TimeoutError):
        return "timed out"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    if isinstance(cause, str):
        return "invalid Slack URL"
    return type(cause).__name__
