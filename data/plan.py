"""Organizations of a run: who exists, since when, how busy, in which currency.

Everything about organization `i` comes from random.Random(seed_for(seed, 1, i)), so one
organization's plan never depends on another's; only the invoice rates are scaled jointly so
that the preset's invoice total (and the ~12.8% orphan share) come out right.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass

from data import ids
from data.days import CURRENCIES, MAIN_CURRENCY_WEIGHTS, Calendar
from data.presets import N_COUNTRIES, Preset

ORPHAN_ORG_SHARE = 0.13      # orphan organizations per listed organization
ORPHAN_INVOICE_SHARE = 0.128  # share of invoices that belong to orphans
FUTURE_ORG_SHARE = 0.02      # organizations created after the range (for follow-up deliveries)
FUTURE_WINDOW_DAYS = 90
CHURN_SHARE = 0.10
DAYS_PER_MONTH = 30.44
NEVER = 10**9

_MAIN_CUMULATIVE = list(
    itertools.accumulate(MAIN_CURRENCY_WEIGHTS.get(code, 0.15) for code in CURRENCIES)
)
_COUNTRY_CUMULATIVE = list(itertools.accumulate(1 / (k + 1) ** 1.1 for k in range(N_COUNTRIES)))


@dataclass
class OrgPlan:
    """What the generator needs to know about one organization."""

    index: int
    org_id: str
    listed: bool          # False: orphan, its invoices exist but organizations.csv lacks it
    future: bool          # created after the range end: only in follow-up deliveries
    created_day: int      # day index (negative: before the range)
    created: str          # CREATED_DATE as exported
    start_day: int        # first day it can be invoiced
    stop_day: int         # last day it can be invoiced (churn), NEVER if still active
    country: str
    contracts: int
    never_paid: bool
    weight: float         # relative invoice volume
    rate: float = 0.0     # expected invoices per month
    scale_usd: float = 0.0
    main_cur: int = 0
    second_cur: int = 0
    mono: float = 1.0     # probability an invoice uses the main currency
    whole_usd: bool = False  # all invoices in whole US dollars (set for one planted swing)


def build_plans(preset: Preset, seed: int, cal: Calendar) -> list[OrgPlan]:
    """All organizations of the run in output order (listed and orphan mixed, future last)."""
    n_listed = preset.organizations
    n_orphan = round(n_listed * ORPHAN_ORG_SHARE)
    n_future = max(1, round(n_listed * FUTURE_ORG_SHARE))
    n_base = n_listed + n_orphan
    orphans = set(random.Random(ids.seed_for(seed, 0)).sample(range(n_base), n_orphan))
    factory = ids.IdFactory(seed)
    plans = [
        _plan_org(i, i not in orphans, i >= n_base, preset, seed, cal, factory)
        for i in range(n_base + n_future)
    ]
    _assign_rates(plans, preset.invoices, cal.end_day)
    return plans


def _plan_org(
    index: int, listed: bool, future: bool, preset: Preset, seed: int, cal: Calendar,
    factory: ids.IdFactory,
) -> OrgPlan:
    """Draw one organization's plan from its own random stream."""
    rng = random.Random(ids.seed_for(seed, 1, index))
    end_day = cal.end_day
    if future:
        created_day = end_day + 1 + rng.randrange(FUTURE_WINDOW_DAYS)
    elif rng.random() < preset.mature_share:
        created_day = -rng.randrange(1, 3 * 365)
    else:
        created_day = int(end_day * rng.random() ** 0.75)
    start_day = max(0, created_day + 1 + int(rng.expovariate(1 / 15)))
    stop_day = NEVER
    if not future and rng.random() < CHURN_SHARE and end_day - start_day > 90:
        stop_day = start_day + 60 + rng.randrange(end_day - start_day - 60)
    contracts = min(11_500, int(rng.paretovariate(1.05) + 0.3))
    country = bisect.bisect(_COUNTRY_CUMULATIVE, rng.random() * _COUNTRY_CUMULATIVE[-1])
    plan = OrgPlan(
        index=index,
        org_id=factory.text(ids.ORG, index),
        listed=listed or future,
        future=future,
        created_day=created_day,
        created=_created_text(cal.start, created_day, rng),
        start_day=start_day,
        stop_day=stop_day,
        country=factory.text(ids.COUNTRY, min(country, N_COUNTRIES - 1)),
        contracts=contracts,
        never_paid=listed and not future and rng.random() < preset.never_paid_share,
        weight=min(contracts, 300) ** 0.6 * rng.lognormvariate(0, 0.5),
    )
    plan.scale_usd = rng.lognormvariate(math.log(2500), 0.9)
    plan.main_cur = bisect.bisect(_MAIN_CUMULATIVE, rng.random() * _MAIN_CUMULATIVE[-1])
    plan.second_cur = rng.randrange(len(CURRENCIES))
    plan.mono = 0.8 + 0.2 * rng.random()
    return plan


def _created_text(start: dt.date, day: int, rng: random.Random) -> str:
    """CREATED_DATE with 0 to 6 fractional digits (trailing zeros dropped, as exported)."""
    moment = dt.datetime.combine(start, dt.time()) + dt.timedelta(
        days=day, seconds=rng.randrange(86_400)
    )
    digits = rng.choices(range(7), weights=(8, 6, 12, 30, 10, 14, 20))[0]
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        fraction = rng.randrange(10**digits)
        fraction = fraction - fraction % 10 + rng.randrange(1, 10)  # last digit non-zero
        text += f".{fraction:0{digits}d}"
    return text + "Z"


def _assign_rates(plans: list[OrgPlan], invoices: int, end_day: int) -> None:
    """Scale invoice rates so listed and orphan organizations hit their invoice budgets."""
    budgets = {True: invoices * (1 - ORPHAN_INVOICE_SHARE), False: invoices * ORPHAN_INVOICE_SHARE}
    factor: dict[bool, float] = {}
    for listed, budget in budgets.items():
        exposure = sum(
            p.weight * _active_months(p, end_day)
            for p in plans
            if p.listed == listed and not p.never_paid and not p.future
        )
        factor[listed] = budget / exposure if exposure else 0.0
    for plan in plans:
        if not plan.never_paid:
            plan.rate = plan.weight * factor[plan.listed]


def _active_months(plan: OrgPlan, end_day: int) -> float:
    """Months between the organization's first and last invoicing day within the range."""
    days = min(plan.stop_day, end_day) - plan.start_day + 1
    return max(0, days) / DAYS_PER_MONTH
