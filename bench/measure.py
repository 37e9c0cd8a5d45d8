"""Run one command as a child process and measure it: wall seconds, exit code, peak RSS."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    """What one child process cost."""

    command: list[str]
    exit_code: int
    seconds: float
    peak_rss_mb: float  # ru_maxrss of this child alone (not of its own children)
    log: str  # path of the file holding its stdout and stderr

    def tail(self, lines: int = 15) -> str:
        """The last lines of the child's output (for failure messages)."""
        text = Path(self.log).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def run_measured(
    command: Sequence[str],
    log: Path,
    *,
    stdin: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Measurement:
    """Run ``command`` to completion, output to ``log``; measure it with ``os.wait4``.

    ``wait4`` reports the resource usage of exactly this child, so the peak RSS is the stage's
    own, not the maximum over every process the benchmark ever started.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    source = stdin if stdin is not None else Path(os.devnull)
    with log.open("wb") as out, source.open("rb") as inp:
        started = time.perf_counter()
        child = subprocess.Popen(
            list(command), stdin=inp, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
    return Measurement(
        command=list(command),
        exit_code=child.returncode,
        seconds=seconds,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        log=str(log),
    )
