"""What ``balancewatch alerts`` prints: the alerts table, a day's page, and their JSON.

An alert is one row of ``balance_alerts``: one per (organization, day, rule), the rule named as a
person reads it, ``swing`` or ``anomaly`` (:data:`~monitors.findings.results.RULE_NAMES`). The
table has a row per rule, and its last line counts alerts as a run does: a day both rules
flagged is one alert (``2 alert(s); 1 of them flagged by both rules (a row each)``), so ``alerts
list --status pending`` ends with the number a run without Slack says "were never sent".

Every id (organization, invoice, load) and the country-code hash is a JSON *string*: they are
64-bit integers, and a reader that holds numbers as doubles (``jq``, JavaScript) would round
``718824783273183028`` to ``718824783273183000``. Amounts stay numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from monitors.alerts.digest import anomaly_why
from monitors.findings.results import Baseline, Cause, OrganizationContext, SwingAlert

COLUMNS = ("organization_id", "balance_date", "rule", "previous_balance_usd", "balance_usd",
           "change_usd", "change_pct", "status", "detected_as", "first_seen_at", "sent_at",
           "updated_at", "resolved_at", "resolution", "muted_reason")
#: the anomaly rule's baseline (NULL for a swing): not in the list's JSON, in ``show``'s
BASELINE = ("day_kind", "median_pct", "spread_pct", "history_days", "score")
ID_FIELDS = frozenset({"organization_id", "invoice_id", "changed_by_load_id",
                       "legal_entity_country_code"})
HEADER = (f"{'organization':>21}  {'day':<10}  {'rule':<7}  {'previous USD':>15}  "
          f"{'balance USD':>15}  {'change':>9}  {'status':<12}  found as")


@dataclass(frozen=True)
class AlertPage:
    """One alert (one rule's, of a day) as ``alerts show`` presents it."""

    alert: dict[str, Any]  # COLUMNS and BASELINE -> value
    causes: tuple[Cause, ...]
    context: OrganizationContext | None
    acks: list[tuple[str, str, str, str | None]]  # (when, who, note, verdict)


def ids_as_strings(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its ids (:data:`ID_FIELDS`) as strings."""
    return {k: str(v) if k in ID_FIELDS and v is not None else v for k, v in record.items()}


def line(a: dict[str, Any]) -> str:
    """An alert's row under :data:`HEADER`."""
    pct = "n/a" if a["change_pct"] is None else f"{a['change_pct']:+,.1f}%"
    return (f"{a['organization_id']:>21}  {a['balance_date']}  {a['rule']:<7}  "
            f"{a['previous_balance_usd']:>15,.2f}  {a['balance_usd']:>15,.2f}  {pct:>9}  "
            f"{a['status']:<12}  {a['detected_as']}")


def count_line(rows: list[dict[str, Any]]) -> str:
    """``3 alert(s)``, a day both rules flagged counted once (as a run counts them), and how
    many such days have a row per rule."""
    rules: dict[tuple[Any, str], int] = {}
    for r in rows:
        day = (r["organization_id"], r["balance_date"])
        rules[day] = rules.get(day, 0) + 1
    both = sum(1 for n in rules.values() if n > 1)
    return f"{len(rules)} alert(s)" + (
        f"; {both} of them flagged by both rules (a row each)" if both else "")


def table(rows: list[dict[str, Any]]) -> list[str]:
    """``alerts list``: the header, a row per alert and rule, the count."""
    return [HEADER, *map(line, rows), count_line(rows)]


def rows_json(rows: list[dict[str, Any]]) -> str:
    """``alerts list --json``: one array, an object per row (per alert and rule)."""
    return json.dumps([ids_as_strings({c: r[c] for c in COLUMNS}) for r in rows], indent=1)


def baseline(a: dict[str, Any]) -> Baseline | None:
    """The anomaly rule's baseline of the row (None for a swing)."""
    if a["day_kind"] is None:
        return None
    return Baseline(a["day_kind"], a["median_pct"], a["spread_pct"], int(a["history_days"]),
                    a["score"])


def why(a: dict[str, Any]) -> str | None:
    """Why the anomaly rule flagged the day, in the console's and Slack's words (None: a swing)."""
    b = baseline(a)
    if b is None:
        return None
    return anomaly_why(SwingAlert(a["organization_id"], a["balance_date"],
                                  a["previous_balance_usd"], a["balance_usd"], a["change_usd"],
                                  a["change_pct"], baseline=b))


def history(page: AlertPage) -> list[dict[str, Any]]:
    """The alert's events, oldest first: found, sent, figures updated, resolved, acknowledged."""
    a = page.alert
    events = [{"at": a["first_seen_at"], "event": "found", "detail": a["detected_as"]},
              {"at": a["sent_at"], "event": "sent"},
              {"at": a["updated_at"], "event": "figures_updated"},
              {"at": a["resolved_at"], "event": "resolved", "detail": a["resolution"]}]
    events += [{"at": at, "event": "acknowledged", "by": by, "note": note, "verdict": verdict}
               for at, by, note, verdict in page.acks]
    return sorted((e for e in events if e["at"]), key=lambda e: e["at"])


def _history_line(event: dict[str, Any]) -> str:
    what = {"found": f"found ({event.get('detail')})", "sent": "sent",
            "figures_updated": "figures updated", "resolved": f"resolved: {event.get('detail')}"}
    if event["event"] == "acknowledged":
        verdict = f" ({event['verdict']})" if event["verdict"] else ""
        return f"  {event['at']}  acknowledged by {event['by']}: {event['note']}{verdict}"
    return f"  {event['at']}  {what[event['event']]}"


def _histories(pages: list[AlertPage]) -> list[str]:
    """Every rule's events, oldest first; with several rules an event is tagged with the rules
    it happened to (``[swing + anomaly]`` when the same to both, as a day's ack is)."""
    rules: dict[str, list[str]] = {}
    for page in pages:
        for event in history(page):
            rules.setdefault(_history_line(event), []).append(page.alert["rule"])
    ordered = sorted(rules, key=lambda text: text.split()[0])  # stable: by time, then rule
    if len(pages) == 1:
        return ordered
    return [f"{text} [{' + '.join(rules[text])}]" for text in ordered]


def page_lines(pages: list[AlertPage]) -> list[str]:
    """``alerts show``: the day's alerts (a row per rule) under the list's header, the anomaly
    rule's why under its row; then the cause (per rule when the rules' differ), the
    organization, the history, and a mute's reason."""
    lines = [HEADER]
    for page in pages:
        lines.append(line(page.alert))
        if (reason := why(page.alert)) is not None:
            lines.append(f"{'':>21}  why: {reason}")
    causes = {page.causes for page in pages}
    for page in pages if len(causes) > 1 else pages[:1]:
        lines.append(f"cause ({page.alert['rule']}):" if len(causes) > 1 else "cause:")
        lines += [f"  {c.describe()}" for c in page.causes] or ["  none"]
    ctx = next((page.context for page in pages if page.context is not None), None)
    if ctx is not None:
        lines.append(f"organization: {'orphan' if ctx.is_orphan else 'in the export'}, "
                     f"country {ctx.legal_entity_country_code}, "
                     f"{ctx.active_contract_count} active contract(s)")
    lines += ["history:", *_histories(pages)]
    reasons = dict.fromkeys(p.alert["muted_reason"] for p in pages if p.alert["muted_reason"])
    lines += [f"muted: {reason}" for reason in reasons]
    return lines


def _page_object(page: AlertPage) -> dict[str, Any]:
    context = None if page.context is None else {**asdict(page.context),
                                                 "is_orphan": bool(page.context.is_orphan)}
    b = baseline(page.alert)
    return {
        **ids_as_strings({c: page.alert[c] for c in COLUMNS}),
        "anomaly": None if b is None else {**asdict(b), "why": why(page.alert)},
        "causes": [ids_as_strings(asdict(c)) for c in page.causes],
        "organization": None if context is None else ids_as_strings(context),
        "history": history(page),
    }


def page_json(pages: list[AlertPage]) -> str:
    """``alerts show --json``: always one array, an object per rule's alert of the day (the
    list's order: swing first): its figures, rule and status, ``anomaly`` (the baseline and why;
    null for a swing), its causes, its organization's context (null when none was recorded)
    and its history."""
    return json.dumps([_page_object(page) for page in pages], indent=1)
