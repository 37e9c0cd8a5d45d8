"""A Slack-API-compatible HTTP server for tests: real sockets on 127.0.0.1, scriptable faults.

Serves ``chat.postMessage`` (a ``thread_ts`` reply must name the ``ts`` of a message it
posted; replies are recorded per thread) and ``auth.test`` of the Web API (``/api/...``) and
incoming webhooks (``/services/...``), records every request, and answers from a queue of
scripted faults first: 429 with Retry-After, 5xx, ``ok: false`` with an error code, or a slow
answer (a fault with a ``path`` applies only to a request whose path contains it). Uploads as
``files_upload_v2`` makes them: ``files.getUploadURLExternal`` (a file id and an upload URL),
``/upload/<id>`` (raw or multipart bytes) and ``files.completeUploadExternal``, which shares the
files in a channel or thread: only those count (``state.uploads``). ``conversations.history``
(a GET with a query or a form POST: Slack takes either, slack-sdk posts a form) pages through a
channel's top-level messages, newest first, with their ``metadata`` when
``include_all_metadata`` is set, as Slack does (message ``ts`` count up from ``state.next_ts``:
set it to now for Slack-like times). ``hold_next_post()`` makes the next top-level
``chat.postMessage`` count as posted and then not answer until the test releases it: Slack
accepted the message, its client never heard.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.slack_files import FilesApi, SharedFile, upload_bytes


@dataclass
class Fault:
    """One scripted answer: ``kind`` is rate_limited, server_error, error or slow."""

    kind: str
    retry_after: int = 1
    status: int = 500
    error: str = "internal_error"
    seconds: float = 0.0
    path: str | None = None  # only requests whose path contains this (None: any request)


@dataclass
class Recorded:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    body: Any
    answered: int = 0


@dataclass
class Hold:
    """A ``chat.postMessage`` held after Slack accepted it: ``accepted`` is set once the message
    counts as posted; the answer is written only after ``release`` is set (or never, if the
    client is gone by then)."""

    accepted: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class SlackState:
    token: str = "local-demo-token"  # deliberately not shaped like a real Slack token
    channels: set[str] = field(default_factory=lambda: {"#balance-alerts", "C0BALANCE"})
    webhook_path: str = "/services/T000/B000/XXXX"
    faults: list[Fault] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    posted: list[Any] = field(default_factory=list)
    messages: dict[str, Any] = field(default_factory=dict)  # ts -> body of each Web API post
    replies: dict[str, list[Any]] = field(default_factory=dict)  # thread_ts -> bodies in order
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_ts: int = 1_700_000_000
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> not completed
    uploads: list[SharedFile] = field(default_factory=list)  # completed and shared, in order
    next_file: int = 0
    hold: Hold | None = None  # the next top-level chat.postMessage is held (then disarmed)

    def take_fault(self, path: str = "") -> Fault | None:
        """The first scripted fault for a request to ``path`` (removed from the queue)."""
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.path is None or fault.path in path:
                    return self.faults.pop(index)
            return None


def _parse_body(raw: bytes, content_type: str) -> Any:
    if "json" in content_type:
        return json.loads(raw or b"{}")
    return {key: values[0] for key, values in parse_qs(raw.decode()).items()}


class _Handler(FilesApi, BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        ctype = "text/plain" if isinstance(payload, str) else "application/json; charset=utf-8"
        self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        upload = self.path.startswith("/upload/")
        body = upload_bytes(raw, content_type) if upload else _parse_body(raw, content_type)
        record = Recorded(self.path, dict(self.headers), body)
        with state.lock:
            state.requests.append(record)
        webhook = self.path.startswith("/services/")
        fault = state.take_fault(self.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None:
            record.answered = self._fault(fault, webhook or upload)
            return
        if webhook:
            record.answered = self._webhook(record)
        elif upload:
            record.answered = self._upload(record)
        elif self.path == "/api/auth.test":
            record.answered = self._auth_test()
        elif self.path == "/api/chat.postMessage":
            record.answered = self._post_message(record)
        elif self.path == "/api/files.getUploadURLExternal":
            record.answered = self._get_upload_url(record)
        elif self.path == "/api/files.completeUploadExternal":
            record.answered = self._complete_upload(record)
        elif self.path == "/api/conversations.history":
            record.answered = self._history(record.body)
        else:
            self._answer(404, {"ok": False, "error": "unknown_method"})
            record.answered = 404

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server.state
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        record = Recorded(url.path, dict(self.headers), query)
        with state.lock:
            state.requests.append(record)
        fault = state.take_fault(url.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None:
            record.answered = self._fault(fault, False)
        elif url.path == "/api/conversations.history":
            record.answered = self._history(query)
        else:
            self._answer(404, {"ok": False, "error": "unknown_method"})
            record.answered = 404

    def _history(self, query: dict[str, str]) -> int:
        """``conversations.history``: a channel's top-level messages newest first, ``oldest`` /
        ``latest`` exclusive unless ``inclusive``, ``limit`` per page with a ``next_cursor``."""
        state = self.server.state
        if not self._authorized():
            return self._refuse("invalid_auth")
        if query.get("channel") != "C0BALANCE":  # an id, never a name, as in Slack
            return self._refuse("channel_not_found")
        inclusive = query.get("inclusive") in ("1", "true")
        oldest, latest = float(query.get("oldest") or 0), float(query.get("latest") or 9e12)
        metadata = query.get("include_all_metadata") in ("1", "true")
        with state.lock:
            found = [
                (ts, body) for ts, body in sorted(state.messages.items(), reverse=True)
                if not body.get("thread_ts") and (
                    oldest <= float(ts) <= latest if inclusive else oldest < float(ts) < latest)
            ]
        start = int(query.get("cursor") or 0)
        limit = min(int(query.get("limit") or 100), 999)
        page = found[start:start + limit]
        messages = []
        for ts, body in page:
            message = {"type": "message", "user": "U0BALANCEWATCH", "bot_id": "B0BALANCE",
                       "text": body.get("text", ""), "ts": ts, "blocks": body.get("blocks", [])}
            if metadata and body.get("metadata"):
                message["metadata"] = body["metadata"]
            messages.append(message)
        more = start + limit < len(found)
        self._answer(200, {"ok": True, "messages": messages, "has_more": more,
                           "pin_count": 0, "channel_actions_ts": None,
                           "channel_actions_count": 0,
                           "response_metadata": {"next_cursor": str(start + limit) if more
                                                 else ""}})
        return 200

    def _fault(self, fault: Fault, webhook: bool) -> int:
        """Answer ``fault``; ``webhook``: in plain text (webhooks, upload URLs), else as JSON."""
        if fault.kind == "rate_limited":
            body = "rate_limited" if webhook else {"ok": False, "error": "ratelimited"}
            self._answer(429, body, {"Retry-After": str(fault.retry_after)})
            return 429
        if fault.kind == "server_error":
            self._answer(
                fault.status,
                "upstream failure" if webhook else {"ok": False, "error": "fatal_error"},
            )
            return fault.status
        if webhook:
            self._answer(404 if fault.error == "channel_not_found" else 403, fault.error)
            return 403
        self._answer(200, {"ok": False, "error": fault.error})
        return 200

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.server.state.token}"

    def _auth_test(self) -> int:
        if not self._authorized():
            self._answer(200, {"ok": False, "error": "invalid_auth"})
        else:
            self._answer(
                200, {"ok": True, "team": "test", "user": "balancewatch", "team_id": "T000"}
            )
        return 200

    def _post_message(self, record: Recorded) -> int:
        state = self.server.state
        if not self._authorized():
            self._answer(200, {"ok": False, "error": "invalid_auth"})
            return 200
        channel = record.body.get("channel")
        if channel not in state.channels:
            self._answer(200, {"ok": False, "error": "channel_not_found"})
            return 200
        thread_ts = record.body.get("thread_ts")
        if thread_ts and thread_ts not in state.messages:
            self._answer(200, {"ok": False, "error": "thread_not_found"})
            return 200
        with state.lock:
            state.next_ts += 1
            ts = f"{state.next_ts}.000100"
            state.posted.append(record.body)
            state.messages[ts] = record.body
            if thread_ts:
                state.replies.setdefault(thread_ts, []).append(record.body)
            hold, state.hold = (state.hold, None) if not thread_ts else (None, state.hold)
        if hold is not None:
            hold.accepted.set()
            hold.release.wait(300)
            try:
                self._answer(200, {"ok": True, "channel": "C0BALANCE", "ts": ts,
                                   "message": {"ts": ts}})
            except OSError:  # the client is gone: it never heard that Slack accepted it
                pass
            return 200
        self._answer(200, {"ok": True, "channel": "C0BALANCE", "ts": ts, "message": {"ts": ts}})
        return 200

    def _refuse(self, error: str) -> int:
        self._answer(200, {"ok": False, "error": error})
        return 200

    def _webhook(self, record: Recorded) -> int:
        state = self.server.state
        if self.path != state.webhook_path:
            self._answer(404, "no_service")
            return 404
        with state.lock:
            state.posted.append(record.body)
        self._answer(200, "ok")
        return 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: SlackState, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


class FakeSlack:
    """Start with ``with FakeSlack() as slack:``; point clients at ``api_url`` / ``webhook_url``."""

    def __init__(self, port: int = 0) -> None:
        self.state = SlackState()
        self._server = _Server(self.state, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{self.state.webhook_path}"

    def fail_next(self, kind: str, times: int = 1, **options: Any) -> None:
        """Answer the next ``times`` requests with a fault instead of normally.

        ``path="files.completeUploadExternal"`` (any part of a path): only such requests.
        """
        with self.state.lock:
            self.state.faults.extend(Fault(kind, **options) for _ in range(times))

    def hold_next_post(self) -> Hold:
        """Hold the answer to the next top-level ``chat.postMessage`` (it counts as posted)."""
        hold = Hold()
        with self.state.lock:
            self.state.hold = hold
        return hold

    @property
    def posted(self) -> list[Any]:
        """Messages accepted (what a Slack channel would show)."""
        return list(self.state.posted)

    @property
    def requests(self) -> list[Recorded]:
        return list(self.state.requests)

    @property
    def uploads(self) -> list[SharedFile]:
        """Files completed into a channel (what Slack would show), in order."""
        return list(self.state.uploads)


class Sleeps(list):
    """Records the waits instead of sleeping, so the retry policy is visible and tests are fast."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def refused_url() -> str:
    """A loopback URL nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"
