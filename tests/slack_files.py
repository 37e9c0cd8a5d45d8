"""The files API of the test Slack server: ``files.getUploadURLExternal``, the upload itself,
``files.completeUploadExternal`` (what slack-sdk's ``files_upload_v2`` calls, in that order).

Only a completed file is shared (``SlackState.uploads``); an upload never completed is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SharedFile:
    """A file completed by ``files.completeUploadExternal`` into a channel: what Slack shows."""

    file_id: str
    filename: str
    title: str | None
    content: bytes
    channel_id: str
    thread_ts: str | None


def upload_bytes(raw: bytes, content_type: str) -> bytes:
    """The file in an upload: the body itself, or the file part of a multipart form."""
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        return raw
    boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
    parts = []
    for part in raw.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, body = part.partition(b"\r\n\r\n")
        parts.append((head, body[:-2] if body.endswith(b"\r\n") else body))
    files = [body for head, body in parts if b"filename=" in head]
    return (files or [body for _, body in parts] or [b""])[0]


class FilesApi:
    """Request handlers mixed into the server's handler (``self.server.state`` is its state)."""

    server: Any

    def _refuse(self, error: str) -> int:
        self._answer(200, {"ok": False, "error": error})
        return 200

    def _get_upload_url(self, record: Any) -> int:
        state, body = self.server.state, record.body
        if not self._authorized():
            return self._refuse("invalid_auth")
        if not body.get("filename") or not str(body.get("length", "")).isdigit():
            return self._refuse("invalid_arguments")
        with state.lock:
            state.next_file += 1
            file_id = f"F{state.next_file:04d}"
            state.pending[file_id] = {"filename": body["filename"], "bytes": None}
        url = "http://{}:{}/upload/{}".format(*self.server.server_address[:2], file_id)
        self._answer(200, {"ok": True, "upload_url": url, "file_id": file_id})
        return 200

    def _upload(self, record: Any) -> int:
        with self.server.state.lock:
            pending = self.server.state.pending.get(self.path.rsplit("/", 1)[-1])
            if pending is not None:
                pending["bytes"] = record.body
        status = 404 if pending is None else 200
        self._answer(status, "file_not_found" if pending is None else f"OK - {len(record.body)}")
        return status

    def _complete_upload(self, record: Any) -> int:
        state = self.server.state
        if not self._authorized():
            return self._refuse("invalid_auth")
        try:
            files = record.body.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            ids = [(str(f["id"]), f.get("title")) for f in files]
        except (TypeError, KeyError, ValueError, AttributeError):
            return self._refuse("invalid_arguments")
        channel, thread_ts = record.body.get("channel_id"), record.body.get("thread_ts")
        if channel is not None and channel not in state.channels:
            return self._refuse("channel_not_found")
        if thread_ts and thread_ts not in state.messages:
            return self._refuse("thread_not_found")
        with state.lock:
            if not ids or any(state.pending.get(i, {}).get("bytes") is None for i, _ in ids):
                return self._refuse("file_not_found")  # unknown, never uploaded, or completed
            done = [(i, title, state.pending.pop(i)) for i, title in ids]
            if channel is not None:
                state.uploads.extend(
                    SharedFile(i, p["filename"], title, p["bytes"], channel, thread_ts)
                    for i, title, p in done
                )
        shown = [
            {"id": i, "name": p["filename"], "title": title, "size": len(p["bytes"])}
            for i, title, p in done
        ]
        self._answer(200, {"ok": True, "files": shown})
        return 200

