"""Planted incidents: follow-up deliveries with what a daily export most often gets wrong.

``python -m data.generate --out DIR --incidents`` writes five follow-up deliveries of a preset's
base (the days after its range, each as ``--follow-up-from K --follow-up-days K`` makes it), one
incident planted in each, plus ``INCIDENTS.md`` listing them and the alert each must raise:

1. ``day-1-ordinary``: an ordinary delivery (the control: no data-health alert);
2. ``day-2-short``: a short delivery, a tenth of the day's new invoices;
3. ``day-3-resent``: the day's new invoices sent twice, the copies under new ``INVOICE_ID``s;
4. ``day-4-balance-anomaly``: a steady organization loses 35 % of its balance (a refund), below
   the 50 % swing threshold;
5. ``day-5-fx-inverted``: every EUR invoice of the day carries ``1 / FX_RATE``;
6. then no delivery: a run three days later finds the warehouse stale.

Load them in order after the base. The FX delivery comes last because a critical check holds
the watermark until the data is fixed, which would hold every later day too.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from data import ids
from data.presets import resolve_preset
from data.writer import generate

SHORT_KEEP_EVERY = 10  # the short delivery keeps one new invoice in ten
ANOMALY_DROP = 0.35  # the steady organization's refund, as a share of its balance
SIGNS = {"paid": 1, "refunded": -1}
DAYS = 5
STALE_AFTER_DAYS = 3


@dataclass(frozen=True)
class Incident:
    """One planted delivery: its folder, its day, what was done and what a run must say."""

    folder: str
    day: date
    what: str
    expected: str


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _usd(row: dict[str, str]) -> float:
    return SIGNS.get(row["STATUS"], 0) * float(row["AMOUNT"]) / float(row["FX_RATE"])


def _new_id(invoice_id: str, salt: int) -> str:
    """A fresh, deterministic INVOICE_ID for a copy of ``invoice_id``."""
    return str(ids.to_signed(ids.mix64(int(invoice_id) * 31 + salt)))


class _Deliveries:
    """The base and its follow-up deliveries as rows, with each invoice's latest version."""

    def __init__(self, base: Path) -> None:
        self.header, rows = _read(base / "invoices.csv")
        self.latest: dict[str, dict[str, str]] = {}
        self.add(rows)

    def add(self, rows: list[list[str]]) -> None:
        for row in rows:
            record = dict(zip(self.header, row, strict=True))
            self.latest[record["INVOICE_ID"]] = record

    def steady_organization(self, before: date, exclude: set[str]) -> tuple[str, float]:
        """The organization (not in ``exclude``) with the largest positive balance on ``before``
        whose balance moved by less than 5 % on every day of the 60 days before it."""
        daily: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for r in self.latest.values():
            daily[r["ORGANIZATION_ID"]][r["CREATED_AT"][:10]] += _usd(r)
        window_start = (before - timedelta(days=60)).isoformat()
        best: tuple[float, str] | None = None
        for org, days in daily.items():
            balance, steady = 0.0, True
            for day in sorted(days):
                if day >= before.isoformat():
                    break
                change = days[day]
                if day >= window_start and change and (balance <= 0
                                                       or abs(change) >= 0.05 * balance):
                    steady = False
                balance += change
            if steady and balance > 0 and org not in exclude and (best is None
                                                                  or balance > best[0]):
                best = (balance, org)
        if best is None:
            raise ValueError("no steady organization to plant the balance anomaly on")
        return best[1], best[0]


def write_incidents(out: Path, preset: str, seed: int) -> list[Incident]:
    """Write the incident deliveries and ``INCIDENTS.md`` under ``out``; the incidents."""
    end = resolve_preset(preset, None, None, None, None).end
    out.mkdir(parents=True, exist_ok=True)
    incidents = []
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "base", preset, seed)
        deliveries = _Deliveries(Path(tmp) / "base")
        for k in range(1, DAYS + 1):
            generate(Path(tmp) / str(k), preset, seed, follow_up_days=k, follow_up_from=k)
            day = end + timedelta(days=k)
            header, rows = _read(Path(tmp) / str(k) / "invoices.csv")
            incident = _PLANTERS[k - 1](header, rows, day, deliveries)
            target = out / incident.folder
            target.mkdir(exist_ok=True)
            (target / "organizations.csv").write_bytes(
                (Path(tmp) / str(k) / "organizations.csv").read_bytes())
            _write(target / "invoices.csv", header, rows)
            deliveries.add(rows)
            incidents.append(incident)
    stale_day = end + timedelta(days=DAYS + STALE_AFTER_DAYS + 1)
    incidents.append(Incident(
        "(no delivery)", stale_day,
        f"no delivery after day {DAYS}: the next run, on {stale_day}, finds the newest invoice "
        f"day {STALE_AFTER_DAYS + 1} days old",
        f"DATA HEALTH: invoices are {STALE_AFTER_DAYS + 1} day(s) behind (run with --today "
        f"{stale_day})"))
    (out / "INCIDENTS.md").write_text(_markdown(incidents, preset, seed), encoding="utf-8")
    return incidents


def _created_on(header: list[str], row: list[str], day: date) -> bool:
    return row[header.index("CREATED_AT")].startswith(day.isoformat())


def _ordinary(header: list[str], rows: list[list[str]], day: date, _: _Deliveries) -> Incident:
    return Incident("day-1-ordinary", day, "an ordinary delivery (the control)",
                    "no data-health alert")


def _short(header: list[str], rows: list[list[str]], day: date, _: _Deliveries) -> Incident:
    new = [r for r in rows if _created_on(header, r, day)]
    kept = new[::SHORT_KEEP_EVERY]
    rows[:] = [r for r in rows if not _created_on(header, r, day)] + kept
    return Incident("day-2-short", day,
                    f"a short delivery: {len(kept)} of the day's {len(new)} new invoices",
                    f"DATA HEALTH: invoices on {day} ... too few")


def _resent(header: list[str], rows: list[list[str]], day: date, _: _Deliveries) -> Incident:
    new = [r for r in rows if _created_on(header, r, day)]
    at = header.index("INVOICE_ID")
    copies = [[_new_id(r[at], 1) if i == at else v for i, v in enumerate(r)] for r in new]
    rows.extend(copies)
    return Incident("day-3-resent", day,
                    f"the day's {len(new)} new invoices sent twice, the copies under new "
                    "INVOICE_IDs",
                    f"DATA HEALTH: re-sent invoices on {day}: {len(new)} invoice(s) ...; and "
                    f"invoices on {day} ... too many")


def _anomaly(header: list[str], rows: list[list[str]], day: date,
             deliveries: _Deliveries) -> Incident:
    org, balance = deliveries.steady_organization(
        day, {r[header.index("ORGANIZATION_ID")] for r in rows})
    template = next(r for r in deliveries.latest.values()
                    if r["ORGANIZATION_ID"] == org and r["STATUS"] == "paid")
    amount = f"{ANOMALY_DROP * balance:.2f}"
    refund = {**template, "INVOICE_ID": _new_id(template["INVOICE_ID"], 2), "STATUS": "refunded",
              "CURRENCY": "USD", "PAYMENT_CURRENCY": "USD", "AMOUNT": amount,
              "PAYMENT_AMOUNT": amount.rstrip("0").rstrip("."), "FX_RATE": "1.00000000",
              "FX_RATE_PAYMENT": "1.00000000", "CREATED_AT": f"{day}T14:30:00.000Z"}
    rows.append([refund[h] for h in header])
    return Incident("day-4-balance-anomaly", day,
                    f"steady organization {org} (balance ${balance:,.2f}) refunds "
                    f"${float(amount):,.2f}: -35%, below the 50% swing threshold",
                    f"BALANCE ANOMALIES: org {org} on {day}: -35.0% where this organization "
                    "usually moves ... (no swing: below 50%)")


def _fx_inverted(header: list[str], rows: list[list[str]], day: date, _: _Deliveries
                 ) -> Incident:
    at, currency = header.index("FX_RATE"), header.index("CURRENCY")
    inverted = 0
    for r in rows:
        if _created_on(header, r, day) and r[currency] == "EUR":
            r[at] = f"{1 / float(r[at]):.8f}"
            inverted += 1
    return Incident("day-5-fx-inverted", day,
                    f"the {inverted} EUR invoice(s) of the day carry 1 / FX_RATE",
                    f"CRITICAL FX rates ...: EUR on {day}: rate ... (inverted); exit 1")


_PLANTERS = (_ordinary, _short, _resent, _anomaly, _fx_inverted)


def _markdown(incidents: list[Incident], preset: str, seed: int) -> str:
    lines = [f"# Planted incidents ({preset} preset, seed {seed})", "",
             "Generated by `python -m data.generate --incidents`; do not edit. Load each folder "
             "in order after the base delivery of the same preset and seed, each with "
             "`--today` the day after its day.", "",
             "| delivery | day | what was planted | what the run says |", "|---|---|---|---|"]
    lines += [f"| `{i.folder}` | {i.day} | {i.what} | {i.expected} |" for i in incidents]
    return "\n".join(lines) + "\n"
