"""Follow-up deliveries: the N days after a base delivery's range, plus late status changes.

The delta holds every invoice created in the N days after the range end, earlier invoices whose
status changed since (open -> paid, paid -> refunded, ...; same INVOICE_ID, payment fields made
consistent), organizations created in those days, and organizations whose payment dates moved.

With ``first_day`` K > 1 the delta covers days K..N only, as the next delivery after the delta of
days 1..K-1: invoices created in days K..N, status changes that differ from the state after day
K-1, and organizations whose row differs from it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

from data import ids
from data.invoices import Invoice, org_invoices, render, with_status
from data.plan import OrgPlan
from data.presets import INVOICES_HEADER, ORGANIZATIONS_HEADER
from data.run import Run
from data.writer import open_csv, org_row

if TYPE_CHECKING:
    from data.writer import GenerationSummary

UNSETTLED = frozenset(("open", "awaiting_payment", "pending", "processing"))
SETTLE_WINDOW_DAYS = 30
#: Daily chance that an unsettled invoice of the last SETTLE_WINDOW_DAYS days settles, and that a
#: payment of the last REFUND_WINDOW_DAYS days is refunded: a day's delivery is that day's new
#: invoices plus a few thousand status changes at full scale (day +2 of preset full: 15,552 rows).
SETTLE_PER_DAY = 0.03
REFUND_PER_DAY = 0.001
REFUND_WINDOW_DAYS = 60


def write_follow_up(
    run: Run, out: Path, days: int, summary: GenerationSummary, first_day: int = 1
) -> None:
    """Write the follow-up delivery for days `first_day`..`days` after the base range into out."""
    with (
        open_csv(out / "organizations.csv", ORGANIZATIONS_HEADER) as orgs_file,
        open_csv(out / "invoices.csv", INVOICES_HEADER) as invoices_file,
    ):
        for plan in run.plans:
            changed, new, org_line = follow_up_for(run, plan, days, first_day)
            rows = changed + new
            invoices_file.writelines(render(inv, plan.org_id, run.cal) for inv in rows)
            summary.invoices += len(rows)
            if not plan.listed:
                summary.orphan_invoices += len(rows)
            if org_line:
                orgs_file.write(org_line)
                summary.organizations += 1


def follow_up_for(
    run: Run, plan: OrgPlan, days: int, first_day: int = 1
) -> tuple[list[Invoice], list[Invoice], str]:
    """One organization's delta for days first_day..days: (changed earlier invoices, new
    invoices, organization row)."""
    end_day = run.cal.end_day
    if plan.future and plan.created_day > end_day + days:
        return [], [], ""
    base = [] if plan.future else run.base_invoices(plan)
    plant = run.plants.get(plan.index)
    generator_plan = plant.plan if plant else plan
    new = org_invoices(generator_plan, run.ctx, end_day + first_day, end_day + days, end_day + days)
    changed = [] if plant else status_changes(run, plan, base, days)
    before: list[Invoice] = base  # the organization's invoices as delivered up to day first_day-1
    if first_day > 1:
        earlier = [] if plant else status_changes(run, plan, base, first_day - 1)
        delivered = {inv.invoice_id: inv for inv in earlier}
        changed = [inv for inv in changed if delivered.get(inv.invoice_id) != inv]
        earlier_new = org_invoices(
            generator_plan, run.ctx, end_day + 1, end_day + first_day - 1, end_day + first_day - 1
        )
        before = [delivered.get(inv.invoice_id, inv) for inv in base] + earlier_new
    org_line = ""
    if plan.listed:
        by_id = {inv.invoice_id: inv for inv in changed}
        final = [by_id.get(inv.invoice_id, inv) for inv in before] + new
        line = org_row(plan, final, run)
        created_now = plan.future and plan.created_day >= end_day + first_day
        if created_now or line != org_row(plan, before, run):
            org_line = line
    return changed, new, org_line


def status_changes(run: Run, plan: OrgPlan, base: list[Invoice], days: int) -> list[Invoice]:
    """Recent unsettled invoices that got settled, and a few recent payments refunded.

    Each invoice draws its numbers once, whatever ``days``: the changes of a shorter follow-up
    are a subset of a longer one's, so the delta of day K alone is what day K adds.
    """
    end_day = run.cal.end_day
    rng = random.Random(ids.seed_for(run.seed, 5, plan.index))
    settle = min(0.9, SETTLE_PER_DAY * days)
    refund = min(0.05, REFUND_PER_DAY * days)
    changed = []
    for inv in base:
        if inv.day <= end_day - REFUND_WINDOW_DAYS:
            continue
        u_change, u_kind = rng.random(), rng.random()
        salt = int(inv.invoice_id) & ((1 << 56) - 1)
        if inv.status in UNSETTLED and inv.day > end_day - SETTLE_WINDOW_DAYS and u_change < settle:
            status = "paid" if u_kind < 0.85 else ("failed" if u_kind < 0.95 else "cancelled")
            changed.append(with_status(inv, status, run.ctx, salt))
        elif inv.status == "paid" and u_change < refund:
            changed.append(with_status(inv, "refunded", run.ctx, salt))
    return changed
