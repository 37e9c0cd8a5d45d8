"""A fast path for typing rows: one regex checks a whole row, then plain int()/float() convert it.

The per-column parsers in :mod:`loaders.parsing` stay the authority: this path accepts only a
subset of what they accept (and converts it identically), so any row it declines is handed to
them, and they either type it or say exactly what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from loaders.parsing import (
    INT64_MAX,
    INT64_MIN,
    parse_date,
    parse_decimal,
    parse_int64,
    parse_positive_decimal,
    parse_text,
    parse_utc_timestamp,
)
from loaders.schema import TableSpec

SEPARATOR = "\x1f"  # ASCII unit separator: joins a row's fields for the row regex
_DAY = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_PATTERNS = {
    parse_int64: r"-?[0-9]{1,19}",
    parse_decimal: r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?",
    parse_positive_decimal: r"[0-9]{1,30}(?:\.[0-9]{1,30})?",  # and not 0: checked after the cast
    parse_date: _DAY,
    parse_utc_timestamp: _DAY + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?Z",
    parse_text: r"[^\x1f]*",
}
_CASTS = {parse_int64: "int", parse_decimal: "float", parse_positive_decimal: "float"}

FastConverter = Callable[[list[str]], "tuple[object, ...] | None"]


class _RealDays:
    """Remembers which ``YYYY-MM-DD`` strings are real calendar days (Feb 30 is not)."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def __call__(self, text: str) -> bool:
        day = text[:10]
        if day in self.known:
            return True
        try:
            date.fromisoformat(day)
        except ValueError:
            return False
        self.known.add(day)
        return True


def build_fast_converter(spec: TableSpec, extra: tuple[object, ...] = ()) -> FastConverter:
    """A function typing a row in the spec's column order, or returning None to decline it.

    ``extra`` values (the load id) are appended to every typed row.
    """
    fields = []
    casts = []
    int_positions = []
    positive_positions = []
    day_positions = []
    for i, column in enumerate(spec.columns):
        pattern = _PATTERNS[column.parse]
        if column.required and column.parse is parse_text:
            pattern = r"[^\x1f]+"
        fields.append(f"(?:{pattern})" if column.required else f"(?:{pattern})?")
        cast = _CASTS.get(column.parse)
        value = f"{cast}(r[{i}])" if cast else f"r[{i}]"
        casts.append(value if column.required else f"({value} if r[{i}] else None)")
        if column.parse is parse_int64:
            int_positions.append(i)
        if column.parse is parse_positive_decimal:
            positive_positions.append(i)
        if column.parse in (parse_date, parse_utc_timestamp):
            day_positions.append(i)
    row_pattern = re.compile(SEPARATOR.join(fields))
    names = {f"_extra{i}": value for i, value in enumerate(extra)}
    casts += list(names)
    # One generated expression per spec: a tuple of casts, e.g. (int(r[0]), r[5], float(r[9]), ...)
    cast_row = eval(f"lambda r: ({', '.join(casts)},)", {"int": int, "float": float, **names})
    real_day = _RealDays()

    def convert(row: list[str]) -> tuple[object, ...] | None:
        if row_pattern.fullmatch(SEPARATOR.join(row)) is None:
            return None
        values = cast_row(row)
        for i in int_positions:
            value = values[i]
            if value is not None and not INT64_MIN <= value <= INT64_MAX:
                return None
        for i in positive_positions:
            value = values[i]
            if value is not None and not value > 0:
                return None
        for i in day_positions:
            if row[i] and not real_day(row[i]):
                return None
        return values

    return convert
