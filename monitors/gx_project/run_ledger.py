"""What one monitor run knows, shared between ``run.py`` and the checkpoint actions.

The monitor runs two checkpoints. The actions of the last one (record alerts, send the Slack
digest) need what the run knows beyond their own checkpoint: the evaluated window, the as-of date,
and the failures of the checkpoint that ran before. ``run.py`` opens a :class:`MonitorRun` with
:func:`active_run`; the actions find it with :func:`current_run` and fill in what they did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from balancewatch.clock import utc_now
from balancewatch.warehouse import Warehouse
from monitors.alerts.digest import CriticalFailure, Digest
from monitors.docs.site import SITE_DIR
from monitors.findings.recording import Evaluation, Recorded
from monitors.findings.results import FailedExpectation, SuiteSummary, SwingFinding
from monitors.findings.watermark import Window


@dataclass
class MonitorRun:
    """One run of the monitor: its inputs, and what its checkpoints and actions found and did."""

    warehouse: Warehouse
    as_of: str | None
    window: Window | None
    site_root: Path  # this warehouse's validation results and Data Docs site
    report: str  # this run's report page, relative to the site (runs/<run time>.html)
    evaluation: Evaluation
    notify_slack: bool = True
    suites: list[SuiteSummary] = field(default_factory=list)
    finding: SwingFinding | None = None
    anomaly_finding: SwingFinding | None = None  # the anomaly rule's (None: off, or not run)
    recorded: Recorded | None = None  # what recording did (None: not reached)
    critical: list[FailedExpectation] = field(default_factory=list)
    notify_line: str | None = None
    started_at: str = field(default_factory=utc_now)  # alerts first seen before: earlier runs

    @property
    def docs_index(self) -> Path:
        return self.site_root / SITE_DIR / "index.html"

    @property
    def report_file(self) -> Path:
        return self.site_root / SITE_DIR / self.report

    def critical_so_far(self, more: list[SuiteSummary] = ()) -> list[FailedExpectation]:
        """Critical failures of the suites seen so far (plus ``more``)."""
        return [
            f for s in [*self.suites, *more] for f in s.failures if f.severity == "critical"
        ]

    def digest(self, docs_url: str | None = None) -> Digest:
        """The run as a digest (swings and resolutions are filled in from the outbox)."""
        window = self.window
        evaluated = bool(window and window.days)
        return Digest(
            as_of=self.as_of,
            first_day=window.first_day if evaluated else None,
            last_day=self.as_of if evaluated else None,
            days_evaluated=window.days if window else 0,
            critical=tuple(
                CriticalFailure(f.suite, f.check, f.observed)
                for f in self.critical
            ),
            docs_url=docs_url or str(self.report_file),
            min_usd=self.finding.min_usd if self.finding else 0.0,
            run_started=self.started_at,
        )


_active: list[MonitorRun] = []


@contextmanager
def active_run(run: MonitorRun) -> Iterator[MonitorRun]:
    """Make ``run`` the one the checkpoint actions see while the block runs."""
    _active.append(run)
    try:
        yield run
    finally:
        _active.remove(run)


def current_run() -> MonitorRun | None:
    """The monitor run in progress, or None when a checkpoint runs outside the monitor."""
    return _active[-1] if _active else None
