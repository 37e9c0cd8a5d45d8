"""Chart files into a Slack thread with slack-sdk's ``files_upload_v2``: once, bounded retries.

``files_upload_v2`` makes three requests: ``files.getUploadURLExternal`` (a file id and an upload
URL), a POST of the bytes to that URL, and ``files.completeUploadExternal``, which shares the file
in the channel's thread. A file shows in Slack only once completed, so a retry after any failed
step starts the whole sequence again with a new file id: an uploaded-but-never-completed file is
never shown, and the chart appears once. Faults are handled as in
:mod:`monitors.alerts.slack_delivery` (429 with a Retry-After under the cap, 5xx and connection
errors: retry; ``ok: false``: give up). Nothing raises and the token is never part of a problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from monitors.alerts.slack_delivery import (
    DeliveryOutcome,
    SlackSettings,
    Sleep,
    _GiveUp,
    _Retry,
    _retry_after,
    redact,
    with_retries,
)

WEBHOOK_PROBLEM = "not delivered: webhooks cannot upload files"
UPLOAD_STEP = "the file upload"  # the POST of the bytes to the URL Slack handed out


@dataclass(frozen=True)
class UploadOutcome(DeliveryOutcome):
    """What happened to one file; ``file_id`` is the shared file's id when ``delivered``."""

    file_id: str | None = None


def upload_file(
    settings: SlackSettings,
    *,
    channel_id: str,
    thread_ts: str,
    content: bytes,
    filename: str,
    title: str,
    sleep: Sleep = time.sleep,
) -> UploadOutcome:
    """Share ``content`` as ``filename`` in the thread ``thread_ts`` of ``channel_id``.

    Retries transient faults up to ``settings.max_attempts`` times; never raises.
    """
    if settings.mode == "webhook":
        return UploadOutcome(False, problem=WEBHOOK_PROBLEM)
    if not settings.bot_token:
        return UploadOutcome(False, problem="Slack is not configured")
    if not content:
        return UploadOutcome(False, problem=f"nothing to upload: {filename} is empty")

    def attempt() -> str:
        return _upload_once(
            settings, channel_id=channel_id, thread_ts=thread_ts, content=content,
            filename=filename, title=title,
        )

    file_id, attempts, problem = with_retries(settings, attempt, sleep)
    if problem is None:
        return UploadOutcome(True, attempts=attempts, file_id=file_id or None)
    return UploadOutcome(False, attempts=attempts, problem=redact(problem, (settings.bot_token,)))


def _upload_once(
    settings: SlackSettings, *, channel_id: str, thread_ts: str, content: bytes, filename: str,
    title: str,
) -> str:
    """One full sequence (URL, bytes, completion); the shared file's id, or _Retry / _GiveUp."""
    client = WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=int(settings.timeout_seconds),
        retry_handlers=[],
    )
    try:
        response = client.files_upload_v2(
            channel=channel_id, thread_ts=thread_ts, content=content, filename=filename,
            title=title,
        )
    except SlackApiError as err:
        raise _api_fault(err) from None
    except HTTPError as err:  # only the upload step uses urllib directly: a 4xx/5xx raises
        raise _http_fault(err.code, err.headers, UPLOAD_STEP) from None
    except SlackRequestError as err:
        if not str(err).startswith("Failed to upload a file"):
            raise  # not the upload step (a bad URL...): handled like send_message does
        raise _Retry(f"{UPLOAD_STEP} answered a status other than 200") from None
    shared = response.get("file")
    return str(shared.get("id") or "") if isinstance(shared, dict) else ""


def _api_fault(err: SlackApiError) -> Exception:
    """A Web API error as _Retry (429, 5xx) or _GiveUp (ok: false), naming the method."""
    response = err.response
    method = str(getattr(response, "api_url", "") or "").rstrip("/").rsplit("/", 1)[-1]
    method = method or "the Web API"
    status = response.status_code
    if status == 429 or status >= 500:
        return _http_fault(status, response.headers, method)
    error = response.get("error") if isinstance(response.data, dict) else None
    return _GiveUp(f"Slack answered ok=false to {method}: {error or f'HTTP {status}'}")


def _http_fault(status: int, headers: Any, step: str) -> Exception:
    """429: _Retry after Retry-After; 5xx: _Retry with backoff; anything else: _GiveUp."""
    if status == 429:
        return _Retry(f"rate limited by {step}", _retry_after(headers or {}))
    if status >= 500:
        return _Retry(f"HTTP {status} from {step}")
    return _GiveUp(f"{step} was refused: HTTP {status}")
