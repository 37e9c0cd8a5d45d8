"""The second core in ``balancewatch run``: the build in a child process while this one starts GX.

Importing Great Expectations and opening its file context costs a few seconds that do not depend
on the data. ``run`` forks after the load: the child runs the build stage (its output goes where
this process's goes, the run's log included) and exits with its status; meanwhile this process
imports GX and opens the context, then waits for the child. The monitor stage then uses that
context. Without ``os.fork`` (or when the context cannot be opened here) the stages run one after
the other as before; a failing context open is reported by the monitor itself.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from balancewatch.exit_codes import BAD_INPUT
from balancewatch.settings import REPO_ROOT, export_site_root
from balancewatch.warehouse import Warehouse

Build = Callable[[], tuple[int, float]]  # runs the build stage: (exit status, seconds)


def _open_context(warehouse: Warehouse) -> Any | None:
    try:
        export_site_root(warehouse)  # the context's stores read ${BALANCEWATCH_SITE_ROOT}
        from monitors.gx_project.context import open_context

        return open_context(REPO_ROOT)
    except Exception:  # noqa: BLE001 - the monitor opens it again and reports what is wrong
        return None


def build_while_gx_starts(build: Build, warehouse: Warehouse) -> tuple[int, float, Any | None]:
    """(build status, build seconds, an open GX context or None)."""
    if not hasattr(os, "fork"):
        return (*build(), None)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    started = time.perf_counter()
    child = os.fork()
    if child == 0:  # the build; then leave without this process's clean-up (the parent's)
        status = BAD_INPUT
        try:
            status, _ = build()
        except BaseException:  # noqa: BLE001 - shown as it would be without the fork
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            # what multiprocessing runs in its own children before os._exit: finalizers such as
            # dbt's semaphores' (else the resource tracker warns that they leaked)
            from multiprocessing import util

            util._exit_function()
            os._exit(status)
    try:
        context = _open_context(warehouse)
    finally:
        _, wait_status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(wait_status), time.perf_counter() - started, context
