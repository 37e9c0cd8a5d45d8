"""What ``balancewatch alerts`` prints: the alerts table, one alert's page, and their JSON.

Every id (organization, invoice, load) and the country-code hash is a JSON *string*: they are
64-bit integers, and a reader that holds numbers as doubles (``jq``, JavaScript) would round
``718824783273183028`` to ``718824783273183000``. Amounts stay numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from monitors.findings.results import Cause, OrganizationContext

COLUMNS = ("organization_id", "balance_date", "previous_balance_usd", "balance_usd",
           "change_usd", "change_pct", "status", "detected_as", "first_seen_at", "sent_at",
           "updated_at", "resolved_at", "resolution", "muted_reason")
ID_FIELDS = frozenset({"organization_id", "invoice_id", "changed_by_load_id",
                       "legal_entity_country_code"})
HEADER = (f"{'organization':>21}  {'day':<10}  {'previous USD':>15}  {'balance USD':>15}  "
          f"{'change':>9}  {'status':<12}  found as")


@dataclass(frozen=True)
class AlertPage:
    """One alert as ``alerts show`` presents it."""

    alert: dict[str, Any]  # COLUMNS -> value
    causes: tuple[Cause, ...]
    context: OrganizationContext | None
    acks: list[tuple[str, str, str, str | None]]  # (when, who, note, verdict)


def ids_as_strings(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its ids (:data:`ID_FIELDS`) as strings."""
    return {k: str(v) if k in ID_FIELDS and v is not None else v for k, v in record.items()}


def line(a: dict[str, Any]) -> str:
    """An alert's row under :data:`HEADER`."""
    pct = "n/a" if a["change_pct"] is None else f"{a['change_pct']:+,.1f}%"
    return (f"{a['organization_id']:>21}  {a['balance_date']}  {a['previous_balance_usd']:>15,.2f}"
            f"  {a['balance_usd']:>15,.2f}  {pct:>9}  {a['status']:<12}  {a['detected_as']}")


def table(rows: list[dict[str, Any]]) -> list[str]:
    """``alerts list``: the header, a row per alert, the count."""
    return [HEADER, *map(line, rows), f"{len(rows)} alert(s)"]


def rows_json(rows: list[dict[str, Any]]) -> str:
    """``alerts list --json``: one array."""
    return json.dumps([ids_as_strings(r) for r in rows], indent=1)


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


def page_lines(page: AlertPage) -> list[str]:
    """``alerts show``: the alert's row under the list's header, its cause, context, history."""
    lines = [HEADER, line(page.alert), "cause:"]
    lines += [f"  {c.describe()}" for c in page.causes] or ["  none"]
    ctx = page.context
    if ctx is not None:
        lines.append(f"organization: {'orphan' if ctx.is_orphan else 'in the export'}, "
                     f"country {ctx.legal_entity_country_code}, "
                     f"{ctx.active_contract_count} active contract(s)")
    lines += ["history:", *map(_history_line, history(page))]
    if page.alert["muted_reason"]:
        lines.append(f"muted: {page.alert['muted_reason']}")
    return lines


def page_json(page: AlertPage) -> str:
    """``alerts show --json``: the alert's figures and status, its causes, its organization's
    context (null when none was recorded) and its history, as one object."""
    context = None if page.context is None else {**asdict(page.context),
                                                 "is_orphan": bool(page.context.is_orphan)}
    return json.dumps({
        **ids_as_strings(page.alert),
        "causes": [ids_as_strings(asdict(c)) for c in page.causes],
        "organization": None if context is None else ids_as_strings(context),
        "history": history(page),
    }, indent=1)
