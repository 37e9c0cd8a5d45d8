"""Checkpoint actions of the balancewatch checkpoints (saved in ``gx/checkpoints/*.json``).

An exception raised inside an action escapes ``checkpoint.run()`` and skips the actions after it,
so every action here catches its own faults and reports them in its result instead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from great_expectations.checkpoint.actions import ActionContext, ValidationAction
from great_expectations.checkpoint.checkpoint import CheckpointResult

from monitors.docs_site import DEFAULT_KEEP_RUNS, prune_results, write_static_index

logger = logging.getLogger(__name__)
KEEP_RUNS_ENV = "BALANCEWATCH_DOCS_KEEP_RUNS"


class StaticDocsIndexAction(ValidationAction):
    """After GX updated Data Docs: prune old runs and write an index that works offline.

    ``keep_runs`` (runs kept per suite) can be overridden at run time with the environment
    variable ``BALANCEWATCH_DOCS_KEEP_RUNS`` (changing the field in memory would make GX refuse
    to run the checkpoint as "changed since it was last saved").
    """

    type: Literal["balancewatch_static_docs_index"] = "balancewatch_static_docs_index"
    keep_runs: int = DEFAULT_KEEP_RUNS

    def run(
        self, checkpoint_result: CheckpointResult, action_context: ActionContext | None = None
    ) -> dict:
        try:
            gx_root = Path(self._resolve_context().context.root_directory)
            keep = int(os.environ.get(KEEP_RUNS_ENV) or self.keep_runs)
            pruned = prune_results(gx_root, keep)
            index = write_static_index(gx_root)
        except Exception as exc:  # noqa: BLE001 - must not escape checkpoint.run()
            logger.warning("static Data Docs index not written: %s", exc)
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {"index": str(index), "pruned_results": pruned}
