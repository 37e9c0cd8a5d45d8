"""One log file per command: all it printed, plus the detail printed only with ``--verbose``.

:func:`run_log` copies the process's stdout and stderr into ``<folder>/<UTC time>-<command>.log``
while a command runs (the last line the command prints names the file). :func:`detail` is a line
an operator needs only when digging (GX's per-suite lines, the context's start-up time): on the
terminal with ``--verbose``, in the log always. Known secrets never reach the file: they are
written as ``***``. The newest :data:`KEEP_LOGS` files are kept.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

KEEP_LOGS = 30
_files: list[TextIO] = []  # the log being written (innermost last)
_secrets: list[tuple[str, ...]] = []


def _redact(text: str) -> str:
    for secret in _secrets[-1] if _secrets else ():
        text = text.replace(secret, "***")
    return text


class _Tee(io.TextIOBase):
    """A text stream that writes to the terminal's stream and to the log file."""

    def __init__(self, stream: TextIO, file: TextIO) -> None:
        self._stream, self._file = stream, file

    def write(self, text: str) -> int:
        self._stream.write(text)
        self._file.write(_redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()
        self._file.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")


def detail(line: str, *, verbose: bool, out: TextIO | None = None) -> None:
    """Print ``line`` when ``verbose``; else write it to the active log only (if any)."""
    if verbose:
        print(line, file=out or sys.stdout)
    elif _files:
        _files[-1].write(_redact(line) + "\n")


@contextmanager
def run_log(folder: Path, command: str, secrets: Iterable[str | None] = (),
            keep: Callable[[], bool] = lambda: True) -> Iterator[Path]:
    """Copy stdout and stderr into a new log file in ``folder`` while the block runs; afterwards
    ``keep()`` False (the command left no warehouse behind) removes it and the folders made."""
    made = [p for p in (folder, folder.parent) if not p.exists()]  # logs/, <warehouse>-docs/
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"{stamp}-{command}.log"
    saved = sys.stdout, sys.stderr
    with path.open("w", encoding="utf-8") as file:
        _files.append(file)
        _secrets.append(tuple(s for s in secrets if s))
        sys.stdout, sys.stderr = _Tee(saved[0], file), _Tee(saved[1], file)
        try:
            yield path
        finally:
            sys.stdout, sys.stderr = saved
            _files.pop()
            _secrets.pop()
    if not keep():
        path.unlink()
        for empty in made:
            empty.rmdir()
        return
    for old in sorted(folder.glob("*.log"))[:-KEEP_LOGS]:
        old.unlink(missing_ok=True)
