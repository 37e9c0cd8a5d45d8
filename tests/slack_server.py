"""A Slack-API-compatible HTTP server for tests: real sockets on 127.0.0.1, scriptable faults.

Serves ``chat.postMessage`` (a ``thread_ts`` reply must name the ``ts`` of a message it
posted; replies are recorded per thread) and ``auth.test`` of the Web API (``/api/...``) and
incoming webhooks (``/services/...``), records every request, and answers from a queue of
scripted faults first: 429 with Retry-After, 5xx, ``ok: false`` with an error code, or a slow
answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Fault:
    """One scripted answer: ``kind`` is rate_limited, server_error, error or slow."""

    kind: str
    retry_after: int = 1
    status: int = 500
    error: str = "internal_error"
    seconds: float = 0.0


@dataclass
class Recorded:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    body: Any
    answered: int = 0


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

    def take_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


def _parse_body(raw: bytes, content_type: str) -> Any:
    if "json" in content_type:
        return json.loads(raw or b"{}")
    return {key: values[0] for key, values in parse_qs(raw.decode()).items()}


class _Handler(BaseHTTPRequestHandler):
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
        record = Recorded(
            self.path, dict(self.headers), _parse_body(raw, self.headers.get("Content-Type", ""))
        )
        with state.lock:
            state.requests.append(record)
        webhook = self.path.startswith("/services/")
        fault = state.take_fault()
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None:
            record.answered = self._fault(fault, webhook)
            return
        if webhook:
            record.answered = self._webhook(record)
        elif self.path == "/api/auth.test":
            record.answered = self._auth_test()
        elif self.path == "/api/chat.postMessage":
            record.answered = self._post_message(record)
        else:
            self._answer(404, {"ok": False, "error": "unknown_method"})
            record.answered = 404

    def _fault(self, fault: Fault, webhook: bool) -> int:
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
        self._answer(200, {"ok": True, "channel": "C0BALANCE", "ts": ts, "message": {"ts": ts}})
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
        """Answer the next ``times`` requests with a fault instead of normally."""
        with self.state.lock:
            self.state.faults.extend(Fault(kind, **options) for _ in range(times))

    @property
    def posted(self) -> list[Any]:
        """Messages accepted (what a Slack channel would show)."""
        return list(self.state.posted)

    @property
    def requests(self) -> list[Recorded]:
        return list(self.state.requests)


def refused_url() -> str:
    """A loopback URL nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def main() -> None:
    """``python -m tests.slack_server [PORT]``: a local Slack for demos; prints what it receives."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    with FakeSlack(port) as slack:
        print(
            f"fake Slack listening; in another shell run:\n"
            f"  SLACK_API_URL={slack.api_url} SLACK_BOT_TOKEN={slack.state.token} "
            f"SLACK_CHANNEL='#balance-alerts' make pipeline\n"
            f"or SLACK_WEBHOOK_URL={slack.webhook_url} make pipeline\n(Ctrl-C to stop)",
            flush=True,
        )
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                for message in slack.posted[seen:]:
                    print("-" * 72 + "\n" + str(message.get("text", "")), flush=True)
                seen = len(slack.posted)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
