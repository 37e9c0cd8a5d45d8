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
from great_expectations.exceptions import MissingConfigVariableError

from balancewatch.settings import SITE_ROOT_ENV
from monitors.alerts.outbox import notify
from monitors.alerts.slack_delivery import DEFAULT_API_URL, SlackSettings, redact
from monitors.docs.assets import offline_site
from monitors.docs.site import (
    DEFAULT_KEEP_RUNS,
    SITE_DIR,
    prune_results,
    stored_results,
    write_static_index,
)
from monitors.findings.anomaly_results import anomaly_finding
from monitors.findings.recording import record_swings
from monitors.findings.results import (
    FailedExpectation,
    summarize_suite,
    swing_finding,
)
from monitors.gx_project.run_ledger import current_run

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
            root = Path(os.environ[SITE_ROOT_ENV])  # this warehouse's site (set by the monitor)
            keep = int(os.environ.get(KEEP_RUNS_ENV) or self.keep_runs)
            pruned = prune_results(root, keep)
            index = write_static_index(root)
            offline_site(root / SITE_DIR, stored_results(root))
        except Exception as exc:  # noqa: BLE001 - must not escape checkpoint.run()
            logger.warning("static Data Docs index not written: %s", exc)
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {"index": str(index), "pruned_results": pruned}


def _resolve(value: str) -> str | None:
    """``${VAR}`` from the environment (or GX's config variables); None when unset or empty."""
    from great_expectations.data_context.data_context.context_factory import project_manager

    try:
        resolved = project_manager.get_config_provider().substitute_config(value)
    except MissingConfigVariableError:
        return None
    return resolved or None


class RecordAlertsAction(ValidationAction):
    """Record the run's swings and anomalies in ``balance_alerts`` and advance the watermark.

    Runs only inside ``balancewatch monitor`` (which knows the evaluated window); a checkpoint
    run by hand records nothing and says so in its result.
    """

    type: Literal["balancewatch_record_alerts"] = "balancewatch_record_alerts"

    def run(
        self, checkpoint_result: CheckpointResult, action_context: ActionContext | None = None
    ) -> dict:
        run = current_run()
        if run is None:
            return {"skipped": "not run by balancewatch monitor: no window, nothing recorded"}
        try:
            results = list(checkpoint_result.run_results.values())
            summaries = [summarize_suite(v) for v in results]
            finding = next((f for f in map(swing_finding, results) if f is not None), None)
            anomalies = [f for f in map(anomaly_finding, results) if f is not None]
            run.critical = run.critical_so_far(summaries)
            run.finding = finding
            run.anomaly_finding = anomalies[0] if anomalies else None
            run.recorded = record_swings(
                run.warehouse, finding, run.evaluation, trusted=not run.critical,
                others=anomalies,
            )
        except Exception as exc:  # noqa: BLE001 - must not escape checkpoint.run()
            logger.warning("alerts not recorded: %s", exc)
            run.critical.append(
                FailedExpectation(
                    "balance_alerts",
                    "record_alerts",
                    "critical",
                    "recording",
                    f"raised: {type(exc).__name__}: {exc}",
                    "Recording this run's alerts in balance_alerts",
                )
            )
            return {"error": f"{type(exc).__name__}: {exc}"}
        recorded = run.recorded
        return {"new_alerts": recorded.new_alerts, "late_data_alerts": len(recorded.late),
                "resolved_alerts": len(recorded.resolved), "critical_failures": len(run.critical)}


class SlackDigestAction(ValidationAction):
    """Send one Slack digest per run: critical failures, then every pending alert by USD.

    Settings are ``${VAR}`` references resolved at run time and never stored resolved:
    ``SLACK_BOT_TOKEN`` + ``SLACK_CHANNEL`` (Web API, base URL ``SLACK_API_URL``) or
    ``SLACK_WEBHOOK_URL``; ``BALANCEWATCH_DOCS_URL`` is a hosted Data Docs site to link to.
    Never raises: a Slack fault leaves the alerts pending for the next run.
    """

    type: Literal["balancewatch_slack_digest"] = "balancewatch_slack_digest"
    bot_token: str = "${SLACK_BOT_TOKEN}"
    channel: str = "${SLACK_CHANNEL}"
    webhook_url: str = "${SLACK_WEBHOOK_URL}"
    api_url: str = "${SLACK_API_URL}"
    docs_base_url: str = "${BALANCEWATCH_DOCS_URL}"
    max_attempts: int = 4
    backoff_seconds: float = 1.0
    max_retry_after_seconds: float = 30.0
    timeout_seconds: float = 15.0

    def settings(self) -> SlackSettings:
        """The resolved settings (kept out of ``repr`` and never written anywhere)."""
        return SlackSettings(
            bot_token=_resolve(self.bot_token),
            channel=_resolve(self.channel),
            webhook_url=_resolve(self.webhook_url),
            api_url=_resolve(self.api_url) or DEFAULT_API_URL,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            max_retry_after_seconds=self.max_retry_after_seconds,
            timeout_seconds=self.timeout_seconds,
        )

    def run(
        self, checkpoint_result: CheckpointResult, action_context: ActionContext | None = None
    ) -> dict:
        run = current_run()
        if run is None or not run.notify_slack:
            return {"skipped": "Slack digest not requested for this run"}
        try:
            base = _resolve(self.docs_base_url)
            docs_url = f"{base.rstrip('/')}/{run.report}" if base else None
            conn = run.warehouse.connect()
            try:
                result = notify(conn, run.digest(docs_url), self.settings())
            finally:
                conn.close()
            run.notify_line = result.line()
        except Exception as exc:  # noqa: BLE001 - a Slack fault must not change the exit status
            secrets = (_resolve(self.bot_token), _resolve(self.webhook_url))
            run.notify_line = redact(
                f"slack: digest not sent: {type(exc).__name__}: {exc}", secrets
            )
            return {"error": run.notify_line}
        return {"sent_alerts": result.sent_alerts, "pending_alerts": result.pending_alerts}
