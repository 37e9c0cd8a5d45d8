"""Late-data deliveries for the monitor's tests, and an independent oracle of the alerts they imply.

``delivery_sequence`` writes a seeded history delivery and daily deltas that re-send old invoices
with new statuses and add invoices created on past days. The oracle re-implements the balance and
swing rules of docs/contract.md §2 with the csv module only (nothing from the pipeline), so a
test can compare ``balance_alerts`` with what the contract says they must be.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from tests.deel_csv import HASH_NULL, invoice, organization, write_delivery

BASE_ORG = -4611686018427387904
BACKGROUND = (BASE_ORG, BASE_ORG + 1)  # random invoices, small random late changes
ORG_A, ORG_B, ORG_C, ORG_D, ORG_E = (BASE_ORG + n for n in range(2, 7))  # scripted scenarios
ORPHAN = BASE_ORG + 99  # scripted scenario G; in no organizations.csv
FX = {"USD": "1.00000000", "EUR": "0.92000000", "JPY": "148.50000000", "GBP": "0.79000000"}
SIGNS = {"paid": 1, "refunded": -1}  # every other status moves nothing
FIRST_DAY, HISTORY_DAYS = date(2024, 1, 1), 40  # history 2024-01-01 .. 2024-02-09 (D0)
NOISE = ("open", "pending", "failed", "cancelled", "skipped", "processing", "awaiting_payment",
         "unpayable", "credited")
BACKGROUND_STATUSES = {"paid": 70, "open": 8, "pending": 6, "failed": 5, "refunded": 4,
                       "cancelled": 4, "processing": 3}

# Scripted invoices: name -> (org, day, status, currency, AMOUNT, time of day or None = random).
# With D0 = 2024-02-09 the monitor's first run evaluates 2024-01-11 .. 2024-02-09.
HISTORY_PLAN = {
    "a0": (ORG_A, "2024-01-01", "paid", "USD", "1000.00", None),  # A: 1000 ...
    "a1": (ORG_A, "2024-02-01", "paid", "USD", "400.00", "00:00:00.000"),  # 02-01: 1400 (+40%)
    "a2": (ORG_A, "2024-02-01", "open", "EUR", "736.00", "23:59:59.999"),  # 800 USD, not counted
    "b0": (ORG_B, "2024-01-01", "paid", "GBP", "790.00", None),  # B: 1000 ...
    "b1": (ORG_B, "2024-01-21", "paid", "USD", "600.00", "00:00:00.000"),  # 01-21: 1600 (+60%)
    "c0": (ORG_C, "2024-01-01", "paid", "USD", "1000.00", None),  # C: 1000 ...
    "c1": (ORG_C, "2024-02-04", "paid", "EUR", "276.00", None),  # 02-04: 1300 (+30%)
    "c2": (ORG_C, "2024-02-05", "paid", "JPY", "59400.00", None),  # 02-05: 1700 (+30.8%)
    "d0": (ORG_D, "2024-01-02", "paid", "USD", "500.00", None),  # D: 500 ...
    "d1": (ORG_D, "2024-01-05", "open", "EUR", "552.00", "23:59:59.999"),  # 600 USD, pre-window
    "e0": (ORG_E, "2024-01-03", "open", "USD", "75.00", None),  # E: balance exactly 0 ...
    "e1": (ORG_E, "2024-02-03", "open", "USD", "200.00", None),
    "e2": (ORG_E, "2024-02-05", "open", "USD", "100.00", "00:00:00.000"),
    "g0": (ORPHAN, "2024-01-01", "paid", "USD", "400.00", None),  # G: 400 ...
    "g1": (ORPHAN, "2024-02-07", "paid", "GBP", "237.00", None),  # 300 USD
    "g2": (ORPHAN, "2024-02-07", "refunded", "USD", "250.00", None),  # 02-07: 450 (+12.5%)
}
# Delta k: (name, new status) re-sends a scripted invoice; (name, plan) adds one (day None = the
# delta's new day). The comments give the oracle's verdict.
DELTA_PLAN: dict[int, list[tuple[str, str | tuple]]] = {
    1: [("a2", "paid")],  # A 02-01: 1000 -> 2200, +120%: late swing
    2: [("d1", "paid"),  # D 01-05: 500 -> 1100, before the first window: never alerted
        ("d2", (ORG_D, None, "paid", "USD", "1000.00", None))],  # D 02-11: 1100 -> 2100: new day
    3: [("a1", "refunded"),  # A 02-01: 1000 -> 1400 again, +40%: resolved
        ("b2", (ORG_B, "2024-01-20", "paid", "USD", "400.00", "23:59:59.999"))],
    # ^ late invoice: B 01-20 1000 -> 1400 (+40%), so 01-21 1400 -> 2000 (+42.9%): resolved
    4: [("c1", "refunded"),  # C 02-04: 1000 -> 700 (-30%), so 02-05 700 -> 1100 (+57%): swing
        ("e1", "paid")],  # E 02-03: 0 -> 200: previous balance zero, not a swing
    5: [("e2", "paid")],  # E 02-05: 200 -> 300, exactly +50%: not a swing
    6: [("g1", "refunded")],  # G 02-07: 400 -> -150, sign flip: late swing (orphan)
}


class _Builder:
    """Seeded invoice factory: unique ids, export-style fields."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids: set[int] = set()

    def _id(self) -> str:
        while True:
            value = self.rng.randrange(-(2**63), 2**63)
            if value not in self.ids and str(value) != HASH_NULL:
                self.ids.add(value)
                return str(value)

    def _time(self) -> str:
        roll = self.rng.random()
        if roll < 0.06:
            return "23:59:59.999"
        if roll < 0.12:
            return "00:00:00.000"
        hour, minute, second, milli = (self.rng.randrange(n) for n in (24, 60, 60, 1000))
        return f"{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}"

    def row(self, org: int, day: date, status: str, currency: str, amount: str,
            at: str | None = None) -> dict[str, str]:
        """A new invoice (fresh id) created on ``day``."""
        r = self.rng
        row = invoice(
            INVOICE_ID=self._id(),
            PARENT_INVOICE_ID=HASH_NULL if r.random() < 0.35 else str(r.randrange(-(2**62), 2**62)),
            TRANSACTION_ID=HASH_NULL if r.random() < 0.27 else str(r.randrange(-(2**62), 2**62)),
            ORGANIZATION_ID=str(org), TYPE=r.choice(("5551234", "-918273645", "77001122")),
            STATUS="open", CURRENCY=currency, PAYMENT_CURRENCY="", PAYMENT_METHOD="",
            AMOUNT=amount, PAYMENT_AMOUNT="", FX_RATE=FX[currency], FX_RATE_PAYMENT="",
            CREATED_AT=f"{day.isoformat()}T{at or self._time()}Z",
        )
        return self.resend(row, status)

    def resend(self, row: Mapping[str, str], status: str) -> dict[str, str]:
        """The same invoice with a new status; paying fills the payment fields, none clears them."""
        new = dict(row, STATUS=status)
        if status in SIGNS and not new["PAYMENT_CURRENCY"]:
            paid = Decimal(new["AMOUNT"]).normalize()
            new.update(PAYMENT_CURRENCY=new["CURRENCY"], FX_RATE_PAYMENT=new["FX_RATE"],
                       PAYMENT_METHOD=self.rng.choice(("bank_transfer", "card", "crypto")),
                       PAYMENT_AMOUNT=format(paid, "f"))
        return new

    def random_row(self, org: int, day: date, statuses: Mapping[str, int]) -> dict[str, str]:
        """An invoice of 20..1500 USD in a random currency and status."""
        currency = self.rng.choices(("USD", "EUR", "GBP", "JPY"), (6, 2, 1, 1))[0]
        amount = max(self.rng.uniform(20, 1500) * float(FX[currency]), 0.01)
        status = self.rng.choices(list(statuses), list(statuses.values()))[0]
        return self.row(org, day, status, currency, f"{amount:.2f}")


def _organizations() -> list[dict[str, str]]:
    created = ("2019-01-14T21:43:16.49544Z", "2022-02-14T22:09:20.83Z", "2023-03-24T20:48:11.037Z",
               "2021-06-30T08:00:00Z")
    rows = []
    for n, org in enumerate((*BACKGROUND, ORG_A, ORG_B, ORG_C, ORG_D, ORG_E)):
        dates = ("", "") if org == ORG_E else ("2024-01-01", "2024-02-09")
        rows.append(organization(
            ORGANIZATION_ID=str(org), FIRST_PAYMENT_DATE=dates[0], LAST_PAYMENT_DATE=dates[1],
            LEGAL_ENTITY_COUNTRY_CODE=str(-3203725402387311000 + 7919 * (n % 3)),
            COUNT_TOTAL_CONTRACTS_ACTIVE=str(1 + n * 3), CREATED_DATE=created[n % len(created)]))
    return rows


def delivery_sequence(base_dir: Path, *, seed: int = 7, deltas: int = 6) -> list[Path]:
    """Write ``00_history`` and ``01_delta`` .. ``{deltas:02d}_delta`` under ``base_dir``.

    Each delta holds every invoice of one new day (D0 + k), the scripted late changes of
    ``DELTA_PLAN[k]`` and a few random ones on the background organizations (open/pending -> paid,
    paid -> refunded, an invoice created on a past day). Same seed, same bytes.
    """
    b = _Builder(seed)
    d0 = FIRST_DAY + timedelta(days=HISTORY_DAYS - 1)
    current: dict[str, dict[str, str]] = {}  # newest version of every invoice, by INVOICE_ID
    named: dict[str, str] = {}  # scripted name -> INVOICE_ID
    starts = {}
    for org, day, *_ in HISTORY_PLAN.values():
        starts[org] = min(starts.get(org, day), day)

    def day_rows(day: date) -> list[dict[str, str]]:
        rows = [b.random_row(org, day, BACKGROUND_STATUSES)
                for org in BACKGROUND for _ in range(b.rng.randint(1, 4))]
        for org, start in starts.items():
            if day.isoformat() >= start:
                rows += [b.random_row(org, day, dict.fromkeys(NOISE, 1))
                         for _ in range(b.rng.choice((0, 0, 1, 1, 2)))]
        return rows

    def plan_row(name: str, plan: tuple, new_day: date) -> dict[str, str]:
        org, day, status, currency, amount, at = plan
        row = b.row(org, date.fromisoformat(day) if day else new_day, status, currency, amount, at)
        named[name] = row["INVOICE_ID"]
        return row

    history = [row for n in range(HISTORY_DAYS) for row in day_rows(FIRST_DAY + timedelta(n))]
    history += [plan_row(name, plan, d0) for name, plan in HISTORY_PLAN.items()]
    organizations = _organizations()
    paths = []
    for k in range(deltas + 1):
        new_day = d0 + timedelta(days=k)
        rows = history if k == 0 else day_rows(new_day)
        if k:
            for name, change in DELTA_PLAN.get(k, []):
                if isinstance(change, str):
                    rows.append(b.resend(current[named[name]], change))
                else:
                    rows.append(plan_row(name, change, new_day))
            rows += _background_late(b, current, new_day)
        b.rng.shuffle(rows)
        current.update((row["INVOICE_ID"], row) for row in rows)
        name = "00_history" if k == 0 else f"{k:02d}_delta"
        paths.append(write_delivery(base_dir / name, organizations, rows))
    return paths


def _background_late(b: _Builder, current: Mapping[str, Mapping[str, str]],
                     new_day: date) -> list[dict[str, str]]:
    """Small late changes on the background organizations: two payments, a refund, a late one."""
    recent = (new_day - timedelta(days=15)).isoformat()
    candidates = [row for row in current.values()
                  if int(row["ORGANIZATION_ID"]) in BACKGROUND and row["CREATED_AT"] >= recent]
    unpaid = [row for row in candidates if row["STATUS"] in ("open", "pending")]
    paid = [row for row in candidates if row["STATUS"] == "paid"]
    rows = [b.resend(row, "paid") for row in b.rng.sample(unpaid, min(2, len(unpaid)))]
    rows += [b.resend(row, "refunded") for row in b.rng.sample(paid, min(1, len(paid)))]
    past = new_day - timedelta(days=b.rng.randint(1, 10))
    rows.append(b.random_row(b.rng.choice(BACKGROUND), past, {"paid": 3, "open": 1}))
    return rows


# ---- the oracle ------------------------------------------------------------------------------

Balances = dict[tuple[int, str], tuple[float | None, float]]


def _read(delivery: Path, pattern: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(delivery.glob(pattern)):
        with path.open(newline="", encoding="utf-8") as handle:
            rows += csv.DictReader(handle)
    return rows


def invoices_as_of(deliveries: list[Path]) -> dict[int, dict[str, str]]:
    """Every invoice after the deliveries in order: a later row of an INVOICE_ID replaces it."""
    return {int(row["INVOICE_ID"]): row for d in deliveries for row in _read(d, "invoices*.csv")}


def daily_balances(invoices: Mapping[int, Mapping[str, str]]) -> Balances:
    """(org, day) -> (previous balance or None on the org's first day, balance), in USD, for every
    day from the org's first invoice day (any status) to the latest invoice day of all."""
    changes: dict[int, dict[str, float]] = {}
    for row in invoices.values():
        day = row["CREATED_AT"][:10]
        usd = SIGNS.get(row["STATUS"], 0) * float(row["AMOUNT"]) / float(row["FX_RATE"])
        org = changes.setdefault(int(row["ORGANIZATION_ID"]), {})
        org[day] = org.get(day, 0.0) + usd
    as_of = date.fromisoformat(max(day for org in changes.values() for day in org))
    balances: Balances = {}
    for org, by_day in changes.items():
        day, previous, balance = date.fromisoformat(min(by_day)), None, 0.0
        while day <= as_of:
            balance += by_day.get(day.isoformat(), 0.0)
            balances[org, day.isoformat()] = (previous, balance)
            previous, day = balance, day + timedelta(days=1)
    return balances


def swings(balances: Balances, *, threshold: float = 0.5, from_day: str) -> set[tuple[int, str]]:
    """The (org, day) from ``from_day`` on whose move exceeds ``threshold`` of a non-zero previous
    balance (strictly; 1e-9 absorbs float noise at exactly the threshold)."""
    return {key for key, (prev, bal) in balances.items()
            if key[1] >= from_day and prev is not None and abs(prev) >= 0.005
            and abs(bal - prev) > threshold * abs(prev) + 1e-9}


def first_evaluated_day(as_of: str, first_run_days: int = 30) -> str:
    """The first day the monitor's first run evaluates: the last ``first_run_days`` to as_of."""
    return (date.fromisoformat(as_of) - timedelta(days=first_run_days - 1)).isoformat()


def _timeline(deliveries: list[Path], threshold: float, first_run_days: int
              ) -> tuple[list[Balances], list[str], str, list[set[tuple[int, str]]]]:
    """Balances after each delivery, their as-of days, the first evaluated day, their swings."""
    invoices: dict[int, dict[str, str]] = {}
    states = []
    for delivery in deliveries:
        invoices.update(invoices_as_of([delivery]))
        states.append(daily_balances(invoices))
    as_ofs = [max(day for _, day in s) for s in states]
    start = first_evaluated_day(as_ofs[0], first_run_days)
    return states, as_ofs, start, [swings(s, threshold=threshold, from_day=start) for s in states]


def expected_alerts(deliveries: list[Path], *, threshold: float = 0.5,
                    first_run_days: int = 30) -> tuple[set, set]:
    """(every alert ever sent, the alerts still swinging at the end), a run after each delivery."""
    found = _timeline(deliveries, threshold, first_run_days)[3]
    return set().union(*found), found[-1]


def alert_log(deliveries: list[Path], *, threshold: float = 0.5, first_run_days: int = 30
              ) -> dict[tuple[int, str], dict]:
    """Per expected alert: the run (delivery index) that sends it, ``new_day`` or ``late_data``
    (its day was evaluated by an earlier run), and the run that resolves it (None: never)."""
    _, as_ofs, _, found = _timeline(deliveries, threshold, first_run_days)
    log = {}
    for key in set().union(*found):
        sent = min(i for i, s in enumerate(found) if key in s)
        gone = [i for i in range(sent, len(found)) if key not in found[i]]
        late = sent > 0 and key[1] <= as_ofs[sent - 1]
        log[key] = {"sent": sent, "detected_as": "late_data" if late else "new_day",
                    "resolved": gone[0] if gone else None}
    return log


def _move(entry: tuple[float | None, float]) -> float:
    return entry[1] - (entry[0] or 0.0)


def describe(deliveries: list[Path], *, threshold: float = 0.5, first_run_days: int = 30) -> dict:
    """Counts of what the sequence exercises, for tests to assert on."""
    states, as_ofs, start, found = _timeline(deliveries, threshold, first_run_days)
    log = alert_log(deliveries, threshold=threshold, first_run_days=first_run_days)
    anywhere = [swings(s, threshold=threshold, from_day="") for s in states]
    flapping = {key for key in log
                if "".join("x" if key in s else "." for s in found).strip(".").count(".")}
    pre_window = {key for i in range(1, len(states)) for key in anywhere[i] - anywhere[i - 1]
                  if key[1] < start}
    moves = {(key, prev, bal) for s in states for key, (prev, bal) in s.items()
             if key[1] >= start and prev is not None}
    zero = {key for key, prev, bal in moves if abs(prev) < 0.005 and abs(bal) >= 0.005}
    exact = {key for key, prev, bal in moves
             if abs(prev) >= 0.005 and abs(abs(bal - prev) - threshold * abs(prev)) < 1e-6}
    flips = {key for s, f in zip(states, found) for key in f if s[key][0] * s[key][1] < 0}
    # verdicts that changed although the day's own move did not: its previous balance moved
    neighbour = {key for i in range(1, len(states))
                 for key in (found[i] ^ found[i - 1]) & states[i - 1].keys()
                 if abs(_move(states[i][key]) - _move(states[i - 1][key])) < 1e-6}
    listed = {int(row["ORGANIZATION_ID"])
              for d in deliveries for row in _read(d, "organizations*.csv")}
    seen: set[str] = set()
    resent = late_new = 0
    for i, delivery in enumerate(deliveries):
        rows = _read(delivery, "invoices*.csv")
        fresh = [row for row in rows if row["INVOICE_ID"] not in seen]
        if i:
            resent += len(rows) - len(fresh)
            late_new += sum(row["CREATED_AT"][:10] <= as_ofs[i - 1] for row in fresh)
        seen.update(row["INVOICE_ID"] for row in rows)
    late = sum(entry["detected_as"] == "late_data" for entry in log.values())
    return {
        "deliveries": len(deliveries), "invoices": len(seen), "resent_rows": resent,
        "late_new_invoices": late_new, "first_evaluated_day": start, "as_of": as_ofs[-1],
        "alerts": len(log), "still_swinging": len(found[-1]),
        "resolved": sum(entry["resolved"] is not None for entry in log.values()),
        "late_swings": late, "new_day_swings": len(log) - late,
        "pre_window_restatements": len(pre_window), "zero_previous_moves": len(zero),
        "exact_threshold_moves": len(exact), "sign_flip_swings": len(flips),
        "neighbour_effects": len(neighbour), "flapping": len(flapping),
        "orphan_alerts": sum(org not in listed for org, _ in log),
    }
