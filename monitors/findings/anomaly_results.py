"""The anomaly rule's results beside the swing rule's: its alerts, and one alert per day.

(Split from :mod:`monitors.findings.results`, whose types it uses.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monitors.findings.results import (
    ANOMALY_RULE,
    ANOMALY_TYPE,
    SWING_RULE,
    Baseline,
    SwingAlert,
    SwingFinding,
    raised_info,
)


def merge_rules(alerts: list[SwingAlert]) -> list[SwingAlert]:
    """One alert per (organization, day), in the order of ``alerts``: a day flagged by several
    rules is one alert (the swing's, when there is one) naming the others in ``also``, with the
    anomaly rule's baseline (the ops team reads one line, not two saying the same thing)."""
    by_day: dict[tuple[int, str], list[SwingAlert]] = {}
    for alert in alerts:
        by_day.setdefault((alert.organization_id, alert.balance_date), []).append(alert)
    merged, seen = [], set()
    for alert in alerts:
        day = (alert.organization_id, alert.balance_date)
        if day in seen:
            continue
        seen.add(day)
        group = by_day[day]
        if len(group) == 1:
            merged.append(alert)
            continue
        first = next((a for a in group if a.rule == SWING_RULE), group[0])
        others = tuple(dict.fromkeys(a.rule for a in group if a.rule != first.rule))
        baseline = first.baseline or next((a.baseline for a in group if a.baseline), None)
        merged.append(replace(first, also=others, baseline=baseline))
    return merged


def anomaly_alert(a: dict[str, Any]) -> SwingAlert:
    """One row of the anomaly expectation's result as an alert of rule ``anomaly``."""
    return SwingAlert(
        organization_id=a["entity_id"], balance_date=a["day"],
        previous_balance_usd=a["previous_balance"], balance_usd=a["balance"],
        change_usd=a["change_usd"], change_pct=a["change_pct"], rule=ANOMALY_RULE,
        baseline=Baseline(a["day_kind"], a["median_pct"], a["spread_pct"],
                          int(a["history_days"]), a["score"]),
    )


ANOMALY_SETTINGS = ("threshold", "min_scale", "min_history_days", "history_days",
                    "history_firsts")


def anomaly_finding(validation: Any) -> SwingFinding | None:
    """The anomaly expectation's result in a suite's validation result, if it ran cleanly."""
    for r in validation.results:
        config = r.expectation_config
        if config.type != ANOMALY_TYPE or raised_info(r):
            continue
        details = (r.result or {}).get("details") or {}
        return SwingFinding(
            total=int(details.get("anomaly_count") or 0),
            top=tuple(anomaly_alert(a) for a in details.get("anomalies") or []),
            threshold=float(details.get("threshold") or 0.0),
            window_start=details.get("window_start"),
            min_usd=float(details.get("min_abs_change_usd") or 0.0),
            rule=ANOMALY_RULE,
            settings=tuple((k, details.get(k)) for k in ANOMALY_SETTINGS),
        )
    return None
