"""One organization's invoice history, drawn month by month from its own random stream.

Every invoice of a month consumes the same random draws whatever the range end or as-of date,
so a base delivery and a follow-up delivery of the same seed agree on every id and amount.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from typing import NamedTuple

from data import ids
from data.days import CURRENCIES, Calendar
from data.plan import DAYS_PER_MONTH, OrgPlan
from data.presets import (
    BALANCE_SIGN,
    HASH_NULL,
    N_TYPES,
    OLD_STATUS_WEIGHTS,
    PAYMENT_METHOD_WEIGHTS,
    PAYMENT_METHODS,
    RECENT_DAYS,
    RECENT_STATUS_WEIGHTS,
    STATUSES,
)

MONTHLY_RUN_SHARE = 0.32
NULL = str(HASH_NULL)
USD, EUR, USDC = CURRENCIES.index("USD"), CURRENCIES.index("EUR"), CURRENCIES.index("USDC")
PAYING = frozenset(("paid", "refunded"))
NEVER_PAID_STATUSES = ("open", "cancelled", "awaiting_payment", "failed", "skipped")

_OLD = list(itertools.accumulate(OLD_STATUS_WEIGHTS))
_RECENT = list(itertools.accumulate(RECENT_STATUS_WEIGHTS))
_TYPE_CUMULATIVE = list(itertools.accumulate(1 / (k + 1) ** 1.3 for k in range(N_TYPES)))
_METHOD_CUMULATIVE = list(itertools.accumulate(PAYMENT_METHOD_WEIGHTS))
_HMS = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
_MILLIS = [f".{ms:03d}Z" for ms in range(1000)]


class Invoice(NamedTuple):
    """One invoice row before formatting; pay_cur is -1 when nothing was paid."""

    day: int
    ms: int  # milliseconds since midnight UTC
    invoice_id: str
    parent_id: str
    transaction_id: str
    type_id: str
    status: str
    cur: int
    amount: float
    pay_cur: int
    method: str


@dataclass
class Context:
    """Shared, read-only state of one generation run."""

    seed: int
    cal: Calendar
    factory: ids.IdFactory
    types: list[str]


def make_context(seed: int, cal: Calendar) -> Context:
    """Build the run context (type hashes included)."""
    factory = ids.IdFactory(seed)
    return Context(seed, cal, factory, [factory.text(ids.TYPE, k) for k in range(N_TYPES)])


def org_invoices(
    plan: OrgPlan, ctx: Context, lo: int, hi: int, asof_new: int | None = None
) -> list[Invoice]:
    """The organization's invoices created on days lo..hi, sorted by creation time.

    Statuses are as of the range end for days up to it, and as of `asof_new` after it.
    """
    rng = random.Random(ids.seed_for(ctx.seed, 2, plan.index))
    last = min(hi, plan.stop_day)
    if plan.start_day > last:
        return []
    if plan.never_paid:
        return _never_paid_invoices(plan, ctx, rng, max(lo, plan.start_day), last)
    end_day = ctx.cal.end_day
    asof_new = end_day if asof_new is None else asof_new
    out: list[Invoice] = []
    for month in range(ctx.cal.month_of(plan.start_day), ctx.cal.month_of(last) + 1):
        for inv in _month_invoices(plan, ctx, rng, month, end_day, asof_new):
            if lo <= inv.day <= last and inv.day >= plan.start_day:
                out.append(inv)
    out.sort(key=lambda inv: (inv.day, inv.ms))
    return out


def _month_invoices(
    plan: OrgPlan, ctx: Context, rng: random.Random, month: int, end_day: int, asof_new: int
) -> list[Invoice]:
    """All invoices of one calendar month (unfiltered), with a fixed number of draws each."""
    cal, factory, index = ctx.cal, ctx.factory, plan.index
    first = cal.month_starts[month]
    n_days = cal.month_starts[month + 1] - first
    expected = plan.rate * n_days / DAYS_PER_MONTH
    count = max(0, round(rng.gauss(expected, expected**0.5)))
    run_parent = factory.text(ids.PARENT, ids.invoice_key(index, month, 0))
    run_txn = factory.text(ids.TRANSACTION, ids.invoice_key(index, month, 0))
    r = rng.random
    out = []
    for seq in range(1, count + 1):
        on_first = r() < MONTHLY_RUN_SHARE
        u_time, u_edge, u_day, u_status, u_cur, u_which = r(), r(), r(), r(), r(), r()
        u_parent, u_txn, u_type, u_pay, u_method = r(), r(), r(), r(), r()
        usd = plan.scale_usd * rng.lognormvariate(0, 0.45)
        if on_first:
            day = first
            ms = int(u_edge * 100) if u_edge < 0.12 else int(u_time * 21_600_000)
        else:
            day = first + 1 + int(u_day * (n_days - 1))
            ms = 86_399_900 + int(u_time * 100) if u_edge < 0.012 else int(u_time * 86_400_000)
        age = (end_day if day <= end_day else asof_new) - day
        table = _RECENT if age < RECENT_DAYS else _OLD
        status = STATUSES[bisect.bisect(table, u_status * table[-1])]
        cur = _currency(plan, u_cur, u_which)
        if plan.whole_usd:
            amount = float(max(1, round(usd)))
        else:
            amount = max(0.01, round(usd * cal.fx_values[cur][day], 2))
        key = ids.invoice_key(index, month, seq)
        in_run = on_first and u_parent < 0.9
        if in_run:
            parent = run_parent
        else:
            parent = NULL if u_parent > 0.53 else factory.text(ids.PARENT, key)
        pay_cur, method, txn = -1, "", NULL
        if status in PAYING:
            pay_cur, method = _payment(cur, u_pay, u_method)
            txn = run_txn if in_run and status == "paid" else None
        if status == "paid" and u_txn < 0.08:
            txn = NULL  # settled from the organization's prepaid balance: no transaction
        elif txn is None or (status in ("failed", "processing") and u_txn < 0.5):
            txn = factory.text(ids.TRANSACTION, key)
        type_k = 0 if on_first and u_type < 0.8 else bisect.bisect(
            _TYPE_CUMULATIVE, u_type * _TYPE_CUMULATIVE[-1]
        )
        out.append(Invoice(
            day, ms, factory.text(ids.INVOICE, key), parent, txn, ctx.types[type_k],
            status, cur, amount, pay_cur, method,
        ))
    return out


def _currency(plan: OrgPlan, u_cur: float, u_which: float) -> int:
    """Invoice currency: mostly the organization's main one."""
    if plan.whole_usd:
        return USD
    if u_cur < plan.mono:
        return plan.main_cur
    return plan.second_cur if u_which < 0.7 else int(u_which * 1e6) % len(CURRENCIES)


def _payment(cur: int, u_pay: float, u_method: float) -> tuple[int, str]:
    """Payment currency and method of a paid invoice."""
    pay_cur = cur if u_pay < 0.8 else (USD if u_pay < 0.95 else EUR)
    if cur == USDC or pay_cur == USDC:
        return pay_cur, "crypto"
    method = PAYMENT_METHODS[bisect.bisect(_METHOD_CUMULATIVE, u_method * _METHOD_CUMULATIVE[-1])]
    return pay_cur, method


def with_status(inv: Invoice, status: str, ctx: Context, salt: int) -> Invoice:
    """The same invoice re-delivered with a new status and consistent payment fields."""
    if status in PAYING and inv.pay_cur < 0:
        rng = random.Random(ids.seed_for(ctx.seed, 4, salt))
        pay_cur, method = _payment(inv.cur, rng.random(), rng.random())
        txn = ctx.factory.text(ids.TRANSACTION, (1 << 57) | salt)
        return inv._replace(status=status, pay_cur=pay_cur, method=method, transaction_id=txn)
    if status not in PAYING:
        return inv._replace(status=status, pay_cur=-1, method="")
    return inv._replace(status=status)


def _never_paid_invoices(
    plan: OrgPlan, ctx: Context, rng: random.Random, lo: int, hi: int
) -> list[Invoice]:
    """A handful of invoices of an organization that never paid anything."""
    out = []
    for seq in range(1, rng.randrange(4) + 1):
        day = plan.start_day + rng.randrange(60)
        ms, amount = rng.randrange(86_400_000), round(rng.uniform(200, 5000), 2)
        status = rng.choice(NEVER_PAID_STATUSES)
        if lo <= day <= hi:
            key = ids.invoice_key(plan.index, ctx.cal.month_of(day), seq)
            out.append(Invoice(
                day, ms, ctx.factory.text(ids.INVOICE, key), NULL, NULL, ctx.types[1], status,
                USD, amount, -1, "",
            ))
    return sorted(out, key=lambda inv: (inv.day, inv.ms))


def render(inv: Invoice, org_id: str, cal: Calendar) -> str:
    """The invoice as one CSV line (LF-terminated) in the export's column order."""
    day, cur = inv.day, inv.cur
    fx = cal.fx_strings[cur][day]
    amount = f"{inv.amount:.2f}"
    if inv.pay_cur < 0:
        pay_cur = pay_amount = fx_pay = ""
    elif inv.pay_cur == cur:
        pay_cur, pay_amount, fx_pay = CURRENCIES[cur], _drop_zeros(amount), fx
    else:
        pay_cur, fx_pay = CURRENCIES[inv.pay_cur], cal.fx_strings[inv.pay_cur][day]
        converted = inv.amount / cal.fx_values[cur][day] * cal.fx_values[inv.pay_cur][day]
        pay_amount = _drop_zeros(f"{max(0.01, converted):.2f}")
    return ",".join((
        inv.invoice_id, inv.parent_id, inv.transaction_id, org_id, inv.type_id, inv.status,
        CURRENCIES[cur], pay_cur, inv.method, amount, pay_amount, fx, fx_pay,
        cal.dates[day] + _HMS[inv.ms // 1000] + _MILLIS[inv.ms % 1000],
    )) + "\n"


def _drop_zeros(text: str) -> str:
    """'1234.50' -> '1234.5', '100.00' -> '100' (how the export writes PAYMENT_AMOUNT)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def balance_changes(invoices: list[Invoice], cal: Calendar) -> dict[int, float]:
    """Net balance change in USD per day (docs/contract.md §2: paid +1, refunded -1)."""
    changes: dict[int, float] = {}
    for inv in invoices:
        sign = BALANCE_SIGN.get(inv.status, 0)
        if sign:
            usd = float(f"{inv.amount:.2f}") / cal.fx_values[inv.cur][inv.day]
            changes[inv.day] = changes.get(inv.day, 0.0) + sign * usd
    return changes
