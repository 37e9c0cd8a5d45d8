"""Calendar-day arithmetic on ISO 'YYYY-MM-DD' text columns, one place per SQL dialect.

The warehouse keeps dates as ISO text (SQLite has no date type). Every query that needs
"the day before" goes through :func:`day_before` (raw-SQL checks: :func:`day_before_sql`),
so a new target is one branch here. Keyed by SQLAlchemy dialect name: ``sqlite``,
``postgresql``, and ``hive`` (Spark SQL through PyHive). Spark runs with ANSI mode on, where
casting malformed text to a date raises: ``try_to_date`` makes it NULL instead, as SQLite's
``date()`` does, so a malformed day is no previous day rather than a failed query (the
``balance_date`` format check reports it).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def day_before(expr: sa.ColumnElement, dialect_name: str) -> sa.ColumnElement:
    """SQL expression for the ISO day before ``expr`` (both 'YYYY-MM-DD' text)."""
    if dialect_name == "sqlite":
        return sa.func.date(expr, "-1 day")
    if dialect_name == "postgresql":
        return sa.func.to_char(sa.cast(expr, sa.Date) - sa.literal(1), "YYYY-MM-DD")
    if dialect_name == "hive":
        return sa.cast(sa.func.date_sub(sa.func.try_to_date(expr), sa.literal(1)), sa.String)
    raise NotImplementedError(f"day_before: no date arithmetic for SQL dialect {dialect_name!r}")


def day_before_sql(day: str, dialect_name: str) -> str:
    """SQL text for the ISO day before ISO day ``day`` (for raw-SQL checks)."""
    return days_before_sql(day, 1, dialect_name)


def days_before_sql(day: str, days: int, dialect_name: str) -> str:
    """SQL text for the ISO day ``days`` calendar days before ISO day ``day`` (raw-SQL checks)."""
    days = int(days)
    if dialect_name == "sqlite":
        return f"date({day}, '-{days} day')"
    if dialect_name == "postgresql":
        return f"to_char(cast({day} as date) - {days}, 'YYYY-MM-DD')"
    if dialect_name == "hive":
        return f"cast(date_sub(try_to_date({day}), {days}) as string)"
    raise NotImplementedError(f"day_before: no date arithmetic for SQL dialect {dialect_name!r}")


def days_after_sql(day: str, days: str, dialect_name: str) -> str:
    """SQL text for the ISO day ``days`` (an integer SQL expression) days after ISO day ``day``."""
    if dialect_name == "sqlite":
        return f"date({day}, '+' || {days} || ' day')"
    if dialect_name == "postgresql":
        return f"to_char(cast({day} as date) + {days}, 'YYYY-MM-DD')"
    if dialect_name == "hive":
        return f"cast(date_add(try_to_date({day}), {days}) as string)"
    raise NotImplementedError(f"day_after: no date arithmetic for SQL dialect {dialect_name!r}")


def is_iso_day(value: str) -> bool:
    """True when ``value`` looks like 'YYYY-MM-DD' (the format only, not the calendar)."""
    return bool(_ISO_DAY.match(value))


def days_before_expr_sql(day: str, days: str, dialect_name: str) -> str:
    """SQL text for the ISO day ``days`` (a non-negative integer SQL expression) calendar days
    before ISO day ``day``."""
    if dialect_name == "sqlite":
        return f"date({day}, '-' || {days} || ' day')"
    if dialect_name == "postgresql":
        return f"to_char(cast({day} as date) - {days}, 'YYYY-MM-DD')"
    if dialect_name == "hive":
        return f"cast(date_sub(try_to_date({day}), {days}) as string)"
    raise NotImplementedError(f"day_before: no date arithmetic for SQL dialect {dialect_name!r}")


def months_before_expr_sql(day: str, months: str, dialect_name: str) -> str:
    """SQL text for the ISO day ``months`` (a non-negative integer SQL expression) calendar
    months before ISO day ``day`` (meant for the 1st of a month, which every month has)."""
    if dialect_name == "sqlite":
        return f"date({day}, '-' || {months} || ' months')"
    if dialect_name == "postgresql":
        return f"to_char(cast({day} as date) - {months} * interval '1 month', 'YYYY-MM-DD')"
    if dialect_name == "hive":
        return f"cast(add_months(try_to_date({day}), -{months}) as string)"
    raise NotImplementedError(f"month_before: no date arithmetic for SQL dialect {dialect_name!r}")
