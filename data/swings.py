"""Planted balance swings: stable, mature organizations get one dramatic day late in the range.

A swing (docs/contract.md §2) is a day whose balance differs from the previous day's non-zero
balance by more than 50% of it. Planted organizations are checked to have no other swing in the
last 30 days, so what the monitor should flag there is exactly the planted list.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from data import ids
from data.days import CURRENCIES, Calendar
from data.invoices import NULL, Context, Invoice, balance_changes, org_invoices
from data.plan import DAYS_PER_MONTH, NEVER, OrgPlan

THRESHOLD = 0.5
QUIET_DAYS = 30        # planted organizations have no other swing in this many last days
MIN_INVOICES = 40      # "mature": this many expected invoices in the range, active from its start
MAX_TRIES = 60


@dataclass(frozen=True)
class PlantSpec:
    """One planted event: a balance change of `factor` x the previous day's balance."""

    offset: int            # days before the range end
    currency: str
    factor: float
    description: str
    is_swing: bool = True
    whole_usd: bool = False
    rebound: float = 0.0   # if set, the next day adds rebound x the original balance back


SPECS: tuple[PlantSpec, ...] = (
    PlantSpec(12, "USD", -0.8, "refund wipes out 80% of the balance (-80%)"),
    PlantSpec(10, "EUR", 3.0, "very large payment in EUR: balance x4 (+300%)"),
    PlantSpec(8, "GBP", -1.6, "refund in GBP flips the balance negative (-160%)"),
    PlantSpec(
        6, "USD", 0.5, "payment of exactly +50% in whole dollars: NOT a swing (strict >)",
        is_swing=False, whole_usd=True,
    ),
    PlantSpec(5, "JPY", -0.6, "refund of 60% of the balance in JPY (-60%)"),
    PlantSpec(3, "USDC", 1.2, "large USDC payment (+120%)"),
    PlantSpec(2, "CAD", 0.52, "payment just above the threshold in CAD (+52%)"),
    PlantSpec(1, "INR", -0.7, "refund of 70% in INR (-70%)", rebound=0.7),
)
REBOUND_DESCRIPTION = "payment in INR the day after a -70% refund restores the balance (+233%)"


@dataclass(frozen=True)
class Plant:
    """A spec bound to the organization that carries it."""

    number: int
    spec: PlantSpec
    plan: OrgPlan


def choose_plants(plans: list[OrgPlan], ctx: Context) -> dict[int, Plant]:
    """Pick one stable mature organization per spec (deterministic); org index -> plant."""
    end_day = ctx.cal.end_day
    candidates = [
        p for p in plans
        if p.listed and not p.future and not p.never_paid and p.start_day <= 31
        and p.stop_day == NEVER and p.rate * (end_day + 1) / DAYS_PER_MONTH >= MIN_INVOICES
    ]
    random.Random(ids.seed_for(ctx.seed, 3)).shuffle(candidates)
    chosen: dict[int, Plant] = {}
    for number, spec in enumerate(SPECS):
        if spec.offset + 1 > end_day:
            continue
        tries = [p for p in candidates if p.index not in chosen][:MAX_TRIES]
        for plan in tries:
            trial = dataclasses.replace(plan, whole_usd=spec.whole_usd)
            plant = Plant(number, spec, trial)
            planted = plant_invoices(org_invoices(trial, ctx, 0, end_day), plant, ctx)
            if planted is not None and _only_planted_swings(planted, plant, ctx.cal):
                chosen[plan.index] = plant
                break
    return chosen


def plant_invoices(invoices: list[Invoice], plant: Plant, ctx: Context) -> list[Invoice] | None:
    """The history with the planted day(s) replaced by the planted invoice(s); None if unfit."""
    cal, spec = ctx.cal, plant.spec
    day = cal.end_day - spec.offset
    days = {day, day + 1} if spec.rebound else {day}
    kept = [inv for inv in invoices if inv.day not in days]
    before = sum(v for d, v in balance_changes(kept, cal).items() if d < day)
    if before <= 0 or (spec.whole_usd and before != int(before)):
        return None
    new = [_planted_invoice(plant, ctx, day, spec.factor * before, 0)]
    if spec.rebound:
        new.append(_planted_invoice(plant, ctx, day + 1, spec.rebound * before, 1))
    return sorted(kept + new, key=lambda inv: (inv.day, inv.ms))


def _planted_invoice(plant: Plant, ctx: Context, day: int, usd: float, extra: int) -> Invoice:
    """A paid (usd > 0) or refunded (usd < 0) invoice of |usd| dollars in the spec's currency."""
    cur = CURRENCIES.index(plant.spec.currency)
    amount = round(abs(usd) * ctx.cal.fx_values[cur][day], 2)
    key = ids.invoice_key(plant.plan.index, ctx.cal.month_of(day), 0xFFF000 + extra)
    return Invoice(
        day=day,
        ms=37_800_000 + 1_234_567 * plant.number + extra,
        invoice_id=ctx.factory.text(ids.INVOICE, key),
        parent_id=NULL,
        transaction_id=ctx.factory.text(ids.TRANSACTION, key),
        type_id=ctx.types[2],
        status="paid" if usd > 0 else "refunded",
        cur=cur,
        amount=amount,
        pay_cur=cur,
        method="crypto" if plant.spec.currency == "USDC" else "wire",
    )


def expected_days(plant: Plant, end_day: int) -> dict[int, str]:
    """Day index -> description of each event the plant creates."""
    day = end_day - plant.spec.offset
    events = {day: plant.spec.description}
    if plant.spec.rebound:
        events[day + 1] = REBOUND_DESCRIPTION
    return events


def swing_days(changes: dict[int, float], lo: int, hi: int) -> list[int]:
    """Days in lo..hi flagged as swings under the contract's rule."""
    flagged, balance = [], 0.0
    if not changes:
        return flagged
    for day in range(min(changes), hi + 1):
        previous = balance
        balance = previous + changes.get(day, 0.0)
        if day >= lo and previous != 0 and abs(balance - previous) / abs(previous) > THRESHOLD:
            flagged.append(day)
    return flagged


def _only_planted_swings(invoices: list[Invoice], plant: Plant, cal: Calendar) -> bool:
    """True when the last QUIET_DAYS hold exactly the planted swings and nothing else."""
    events = expected_days(plant, cal.end_day)
    wanted = sorted(events) if plant.spec.is_swing else []
    found = swing_days(balance_changes(invoices, cal), cal.end_day - QUIET_DAYS + 1, cal.end_day)
    return found == wanted
