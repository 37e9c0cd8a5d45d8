"""Day-indexed lookup tables: date strings, months, and daily FX rates per currency.

Day 0 is the first day of the preset's range; every table also covers FOLLOW_UP_MAX_DAYS after it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

FOLLOW_UP_MAX_DAYS = 366

#: Units of currency per 1 USD around the end of the full range (April 2024). 57 codes.
BASE_RATES: dict[str, float] = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 148.0, "CAD": 1.35, "AUD": 1.52, "CHF": 0.88,
    "CNY": 7.19, "INR": 83.1, "BRL": 4.97, "MXN": 17.1, "ZAR": 18.9, "SEK": 10.4, "NOK": 10.6,
    "DKK": 6.87, "PLN": 4.0, "CZK": 22.9, "HUF": 358.0, "RON": 4.58, "BGN": 1.8, "TRY": 30.5,
    "ILS": 3.65, "AED": 3.6725, "SAR": 3.75, "SGD": 1.34, "HKD": 7.82, "NZD": 1.63,
    "KRW": 1330.0, "PHP": 56.0, "IDR": 15600.0, "MYR": 4.72, "THB": 35.6, "VND": 24500.0,
    "PKR": 279.0, "BDT": 110.0, "LKR": 312.0, "NGN": 1300.0, "KES": 150.0, "EGP": 30.9,
    "GHS": 12.4, "MAD": 10.0, "ARS": 830.0, "CLP": 950.0, "COP": 3950.0, "PEN": 3.75,
    "UYU": 39.0, "UAH": 37.8, "GEL": 2.68, "KZT": 450.0, "RSD": 108.0, "ISK": 137.0,
    "TWD": 31.3, "CRC": 515.0, "DOP": 58.5, "GTQ": 7.82, "HRK": 6.95, "USDC": 1.0,
}
CURRENCIES: tuple[str, ...] = tuple(BASE_RATES)
#: How likely an organization bills in each currency as its main one (others share the rest).
MAIN_CURRENCY_WEIGHTS: dict[str, float] = {
    "USD": 46, "EUR": 14, "GBP": 8, "CAD": 4, "AUD": 3, "CHF": 1.5, "INR": 2, "BRL": 1.5,
    "MXN": 1, "SGD": 1.5, "JPY": 1, "SEK": 1, "PLN": 1, "ILS": 1, "AED": 1, "USDC": 1,
}


@dataclass
class Calendar:
    """Date strings, month boundaries and FX rates for a range of days, precomputed once."""

    start: dt.date
    end_day: int
    dates: list[str]
    month_starts: list[int]
    fx_values: list[list[float]]
    fx_strings: list[list[str]]

    def month_of(self, day: int) -> int:
        """Index into month_starts of the month containing `day` (day >= 0)."""
        lo, hi = 0, len(self.month_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.month_starts[mid] <= day:
                lo = mid
            else:
                hi = mid - 1
        return lo


def build_calendar(start: dt.date, end: dt.date, seed: int) -> Calendar:
    """Precompute the tables for [start, end + FOLLOW_UP_MAX_DAYS]."""
    end_day = (end - start).days
    n_days = end_day + 1 + FOLLOW_UP_MAX_DAYS
    dates = [(start + dt.timedelta(days=d)).isoformat() for d in range(n_days)]
    month_starts = [0] + [d for d in range(1, n_days) if dates[d].endswith("-01")]
    fx_values: list[list[float]] = []
    fx_strings: list[list[str]] = []
    for index, code in enumerate(CURRENCIES):
        values = _daily_rates(code, n_days, end_day, random.Random(seed * 1000 + index))
        fx_values.append(values)
        fx_strings.append([f"{v:.8f}" for v in values])
    return Calendar(start, end_day, dates, month_starts, fx_values, fx_strings)


def _daily_rates(code: str, n_days: int, end_day: int, rng: random.Random) -> list[float]:
    """Daily per-USD rates: a slow yearly wave plus small daily jitter, 8 decimal places."""
    base = BASE_RATES[code]
    if code == "USD":
        return [1.0] * n_days
    wave, noise = (0.0, 0.0003) if code == "USDC" else (0.03, 0.002)
    phase = rng.random() * 2 * math.pi
    rates = []
    for day in range(n_days):
        cycle = math.sin(2 * math.pi * (day - end_day) / 730 + phase) - math.sin(phase)
        rate = base * (1 + wave * cycle) * (1 + rng.gauss(0, noise))
        rates.append(round(rate, 8))
    return rates
