"""``make slack-demo``: a local Slack-compatible server that shows what Slack would show.

Every message as its Block Kit blocks (header, sections, context lines), each thread reply under
the message it answers, and each file shared into a thread (name, size, where). The command it
prints runs the pipeline on a fresh warehouse, so the demo's alerts are new.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from tests.slack_server import FakeSlack


def render_blocks(message: dict[str, Any]) -> list[str]:
    """A message's blocks as terminal lines (its plain-text fallback when it has none)."""
    lines = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"# {block['text']['text']}")
        elif kind == "section":
            lines += block["text"]["text"].splitlines()
        elif kind == "context":
            lines += [f"  ({e.get('text', '')})" for e in block.get("elements", [])]
        elif kind == "divider":
            lines.append("-" * 40)
    return lines or str(message.get("text", "")).splitlines()


def main() -> None:
    """``python -m tests.slack_demo [PORT]``."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    fresh = f"warehouse/slack-demo-{datetime.now(UTC):%Y%m%dT%H%M%S}.db"
    with FakeSlack(port) as slack:
        print(f"fake Slack listening; in another shell run:\n"
              f"  SLACK_API_URL={slack.api_url} SLACK_BOT_TOKEN={slack.state.token} "
              f"SLACK_CHANNEL='#balance-alerts' make pipeline WAREHOUSE={fresh}\n"
              f"or SLACK_WEBHOOK_URL={slack.webhook_url} make pipeline WAREHOUSE={fresh}\n"
              "(Ctrl-C to stop)", flush=True)
        seen = shared = 0
        try:
            while True:
                time.sleep(0.2)
                for message in slack.posted[seen:]:
                    thread = message.get("thread_ts")
                    head = f"reply in the thread of {thread}" if thread else "message"
                    indent = "    " if thread else ""
                    print(f"{'=' * 72}\n{head}:", flush=True)
                    for line in render_blocks(message):
                        print(indent + line, flush=True)
                for f in slack.uploads[shared:]:
                    print(f"    file in the thread of {f.thread_ts}: {f.filename} "
                          f"({len(f.content):,} bytes, {f.title})", flush=True)
                seen, shared = len(slack.posted), len(slack.uploads)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
