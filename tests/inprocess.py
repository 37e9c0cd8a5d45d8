"""``balancewatch`` commands run in the test's own interpreter, as a user's shell would see them.

A command in a fresh interpreter pays for importing dbt and Great Expectations (about 10 s on the
test machine) every time; here they are imported once per test worker. Output is captured at the
file descriptors, as a shell would see it: ``balancewatch run`` forks its build into a child
(balancewatch/overlap.py) whose output goes to the same descriptors. What a command leaves in
``os.environ`` (the warehouse it exported for dbt and GX, its site) is put back afterwards, so a
run cannot leak into the next. Tests that need a separate process (a kill, a lock held by another
process, "imports neither dbt nor GX") keep using ``subprocess``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    """What ``subprocess.run(..., capture_output=True, text=True)`` would have returned."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> Done:
    """``balancewatch ARGS`` with ``env`` as the whole environment (default: the current one)."""
    from balancewatch.cli import main

    saved_env = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        saved_fds, saved_streams = (os.dup(1), os.dup(2)), (sys.stdout, sys.stderr)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            status = main(list(args))
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.close()  # flushes; the descriptors stay open (closefd=False)
            sys.stdout, sys.stderr = saved_streams
            for fd, saved in zip((1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            os.environ.clear()
            os.environ.update(saved_env)
        out.seek(0)
        err.seek(0)
        return Done(status, out.read().decode(), err.read().decode())
