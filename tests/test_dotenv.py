"""An uncommitted .env supplies settings; the real environment wins; values are never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from balancewatch.dotenv import load_dotenv


def test_reads_keys_keeps_existing_and_never_prints_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# Slack\n"
        "export SLACK_BOT_TOKEN='xoxb-from-file-123'\n"
        'SLACK_CHANNEL="#ops"\n'
        "SLACK_API_URL=http://127.0.0.1:9/api/\n"
        "this line is broken xoxb-broken-456\n"
    )
    environ = {"SLACK_CHANNEL": "#already-set"}
    loaded = load_dotenv(env_file, environ)
    assert loaded == ["SLACK_BOT_TOKEN", "SLACK_API_URL"]
    assert environ == {
        "SLACK_CHANNEL": "#already-set",
        "SLACK_BOT_TOKEN": "xoxb-from-file-123",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    captured = capsys.readouterr()
    assert captured.err == ".env:5: ignored: not a KEY=value line\n"
    assert "xoxb" not in captured.out + captured.err


def test_missing_file_is_fine(tmp_path: Path) -> None:
    assert load_dotenv(tmp_path / ".env", {}) == []
