"""How a monitor run looks in a terminal: one line per suite, and the balance-swing alert block."""

from __future__ import annotations

from monitors.alerts.digest import (
    anomaly_why,
    cause_line,
    format_pct,
    format_usd,
    is_anomaly,
    restated_by,
    rules_label,
)
from monitors.findings.anomaly_results import merge_rules
from monitors.findings.results import (
    ANOMALY_TYPE,
    SWING_RULE,
    SWING_TYPE,
    FailedExpectation,
    Resolution,
    SuiteSummary,
    SwingAlert,
)
from monitors.findings.watermark import Window


def suite_lines(summary: SuiteSummary, seconds: float | None = None) -> list[str]:
    """``  stg_invoices  PASSED  19/20 met  (0 critical, 1 warning, 0 info failed)  0.8 s``
    followed by one indented line per failed expectation."""
    critical = summary.failed("critical")
    status = "FAILED" if critical else "passed"
    timing = f"  {seconds:.1f} s" if seconds is not None else ""
    lines = [
        f"  {summary.suite:<20} {status:<7} {summary.passed}/{summary.evaluated} met  "
        f"({critical} critical, {summary.failed('warning')} warning, "
        f"{summary.failed('info')} info failed){timing}"
    ]
    lines += [f"      report   {note}" for note in summary.reported]
    return lines + [_failure_line(f) for f in _by_severity(summary.failures)]


def _failure_line(f: FailedExpectation) -> str:
    """``      warning  Paid invoices carry payment currency, method and amount: 3 unexpected``"""
    return f"      {f.severity:<8} {f.check}: {f.observed}"


def _by_severity(failures: list) -> list:
    order = ("critical", "warning", "info")
    return sorted(failures, key=lambda f: order.index(f.severity) if f.severity in order else 3)


def checks_summary(suites: list[SuiteSummary]) -> list[str]:
    """The quiet run's account of the checks: one line for every suite, then each critical or
    warning failure other than the swings (the alert block has those)."""
    met, evaluated = sum(s.passed for s in suites), sum(s.evaluated for s in suites)
    critical, warning = (sum(s.failed(level) for s in suites) for level in ("critical", "warning"))
    status = "FAILED" if critical else "passed"
    lines = [f"  checks {status}: {len(suites)} suite(s), {met}/{evaluated} expectations met "
             f"({critical} critical, {warning} warning failed)"]
    shown = [f for s in suites for f in s.failures
             if f.severity in ("critical", "warning")
             and f.expectation_type not in (SWING_TYPE, ANOMALY_TYPE)]
    return lines + [_failure_line(f) for f in _by_severity(shown)]


VERBOSE_TOP = 10  # `--verbose` lists this many rows a group; a quiet run fewer, without whys


def _swing_rows(swings: list[SwingAlert], top: int, *, late: bool = False) -> list[str]:
    ranked = merge_rules(sorted(swings, key=lambda s: (-abs(s.change_usd), s.balance_date,
                                                       s.organization_id, s.rule != SWING_RULE)))
    shown = ranked[:top]
    lines = []
    if shown:
        lines.append(
            f"  {'organization':>21}  {'day':<10}  {'previous':>15}  {'balance':>15}"
            f"  {'change %':>9}  {'change USD':>15}" + ("  restated by" if late else "")
        )
    for s in shown:
        line = (
            f"  {s.organization_id:>21}  {s.balance_date:<10}  "
            f"{format_usd(s.previous_balance_usd):>15}  {format_usd(s.balance_usd):>15}  "
            f"{format_pct(s.change_pct):>9}  {format_usd(s.change_usd):>15}"
        )
        if late:
            line += f"  {restated_by(s)}"
        if is_anomaly(s):
            line += f"  [{rules_label(s)}]"
        lines.append(line)
        why = anomaly_why(s)
        if why and (top >= VERBOSE_TOP or s.rule != SWING_RULE):
            lines.append(f"  {'':>21}  why: {why}")
        if s.causes:
            lines.append(f"  {'':>21}  cause: {cause_line(s)}")
    if len(ranked) > len(shown):
        lines.append(f"  ... and {len(ranked) - len(shown)} more (all in the report and "
                     "`balancewatch alerts list`)")
    return lines


def alert_block(
    swings: list[SwingAlert], window: Window, threshold: float, *,
    new_alerts: int | None, late: list[SwingAlert] = (), resolved: list[Resolution] = (),
    top: int = 10, min_usd: float = 0.0, anomalies: list[SwingAlert] | None = None,
    anomaly_threshold: float | None = None,
) -> list[str]:
    """The alert block every run prints, in groups: swings on the new days (a swing the anomaly
    rule flagged too says so, and why, on its own line), anomalies on the new days that are not
    swings (``anomalies`` None: the rule is off), swings and anomalies found in late data (days
    evaluated before, restated since), and alerts resolved."""
    swing_days = {(s.organization_id, s.balance_date) for s in swings}
    if window.days:
        head = (
            f"BALANCE SWINGS: {len(swings)} day(s) moved more than {100 * threshold:g}% "
            + (f"and at least {format_usd(min_usd)} " if min_usd else "")
            + f"day over day ({window.first_day} .. {window.as_of}, {window.days} day(s) "
            "evaluated)"
        )
        if new_alerts is not None:  # of which the late-data group holds the rest
            head += f"; {new_alerts - len(merge_rules(list(late)))} new alert(s) recorded"
    else:
        head = f"BALANCE SWINGS: no new days to evaluate (as of {window.as_of})"
    also = [a for a in anomalies or [] if (a.organization_id, a.balance_date) in swing_days]
    lines = [head, *_swing_rows([*swings, *also], top)]
    if anomalies is not None and window.days:
        alone = [a for a in anomalies if (a.organization_id, a.balance_date) not in swing_days]
        largest = merge_rules(sorted(alone, key=lambda a: -abs(a.change_usd)))[:1]
        lines.append(
            f"BALANCE ANOMALIES: {len(anomalies)} day(s) far from their organization's own "
            f"history (score > {anomaly_threshold:g}"
            + (f", at least {format_usd(min_usd)}" if min_usd else "")
            + f"); {len(also)} of them swings too (shown above), {len(alone)} not swings"
            + (":" if alone and top >= VERBOSE_TOP else "")
            # a quiet run: the largest of them, and why, on the same line (all in the report)
            + "".join(f"; largest: org {a.organization_id} on {a.balance_date}: {anomaly_why(a)}"
                      for a in largest if top < VERBOSE_TOP)
        )
        if top >= VERBOSE_TOP:
            lines += _swing_rows(alone, top)
    if late:
        merged = merge_rules(list(late))
        what = ("swing(s) or anomaly(ies)" if any(is_anomaly(s) for s in merged)
                else "swing(s)")
        lines += [
            f"LATE DATA: {len(merged)} {what} on days evaluated before, "
            "found after a load restated them: each a new alert",
            *_swing_rows(late, top, late=True),
        ]
    if resolved:
        anomalous = any(r.rule != SWING_RULE for r in resolved)
        lines.append(f"RESOLVED: {len(resolved)} alert(s) whose day no longer swings"
                     + (" or is no longer an anomaly" if anomalous else ""))
        lines += [f"  org {r.organization_id} on {r.balance_date}: {r.sentence}"
                  for r in resolved[:top]]
        if len(resolved) > top:
            lines.append(f"  ... and {len(resolved) - top} more (all in the report and "
                         "`balancewatch alerts list`)")
    return lines
