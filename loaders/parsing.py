"""Typed parsers for the Deel export's value formats.

Each parser takes the raw CSV text and returns the typed value, or raises ``ValueError`` whose
message is the reason a user reads. Empty text means "no value" and is handled by the caller.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime

Parser = Callable[[str], object]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]{1,9})?Z"
)


def parse_int64(text: str) -> int:
    """A signed 64-bit integer written in plain decimal digits."""
    if not _INTEGER.fullmatch(text):
        raise ValueError("not an integer")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("outside the signed 64-bit range")
    return value


def parse_decimal(text: str) -> float:
    """A decimal number such as ``1234.5`` or ``-0.92000000`` (no exponent, no separators)."""
    if not _DECIMAL.fullmatch(text):
        raise ValueError("not a decimal number")
    value = float(text)
    if math.isinf(value):
        raise ValueError("too large")
    return value


def parse_positive_decimal(text: str) -> float:
    """A decimal number greater than zero (an invoice's amount, an FX rate: USD = AMOUNT /
    FX_RATE, so a rate of 0 would make every USD figure of the invoice meaningless)."""
    value = parse_decimal(text)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def parse_date(text: str) -> str:
    """A calendar date ``YYYY-MM-DD``; kept as ISO text."""
    if not _DATE.fullmatch(text):
        raise ValueError("not a date in YYYY-MM-DD form")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a real calendar date") from None
    return text


def parse_utc_timestamp(text: str) -> str:
    """An ISO-8601 UTC timestamp ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``; kept as delivered."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError("not a UTC timestamp like 2024-01-31T23:59:59.999Z")
    try:
        datetime.fromisoformat(match.group(1))
    except ValueError:
        raise ValueError("not a real date and time") from None
    return text


def parse_text(text: str) -> str:
    """Free text, kept as delivered."""
    return text
