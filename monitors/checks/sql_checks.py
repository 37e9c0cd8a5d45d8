"""Builders of the suites' raw-SQL and column checks, one place per engine difference.

Each builder returns one expectation. Checks that need engine functions (storage types:
``typeof``/``pg_typeof``/Spark's ``typeof``; text shapes: ``glob``/``~``/``rlike``; today's date
as text) store one query per dialect in an
:class:`~monitors.checks.dialect_rows_expectation.UnexpectedRowsByDialectExpectation`. Dialects
are SQLAlchemy's names: ``sqlite``, ``postgresql``, ``hive`` (Spark SQL through PyHive).
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from monitors.checks.dialect_rows_expectation import UnexpectedRowsByDialectExpectation
from monitors.checks.scope import this_run

CRITICAL, WARNING, INFO = "critical", "warning", "info"
# Text formats, as shapes of characters: D a digit, A a capital letter, anything else literal.
# Checked with the engine's own matcher (SQLite GLOB, PostgreSQL ~, Spark RLIKE), not GX's regex
# expectation, which SQLite runs through a Python function: ~1 us per row, minutes on 12.7M
# invoices.
ISO_DAY = ("DDDD-DD-DD",)
ISO_TIMESTAMP = ("DDDD-DD-DDTDD:DD:DD.DDDDDDZ",)
CURRENCY = ("AAA", "AAAA")
CENT = 0.005
# the first one's query is the default (and shown in docs)
DIALECTS = ("sqlite", "postgresql", "hive")
# Per dialect: the function naming a value's type, and the names it gives each storage class
# (Spark: a column has one type; DECIMAL is not accepted for REAL, dbt builds doubles).
_TYPE_OF = {"sqlite": "typeof({v})", "postgresql": "pg_typeof({v})::text", "hive": "typeof({v})"}
_TYPE_NAMES = {
    "sqlite": {"integer": ("integer",), "real": ("real",), "text": ("text",)},
    "postgresql": {
        "integer": ("bigint", "integer", "smallint"),
        "real": ("double precision", "real", "numeric"),
        "text": ("text", "character varying"),
    },
    "hive": {
        "integer": ("bigint", "int", "smallint", "tinyint"),
        "real": ("double", "float"),
        "text": ("string",),
    },
}
# Per dialect: today's UTC date as 'YYYY-MM-DD' text (the Spark server's session time zone is UTC)
_TODAY = {"sqlite": "cast(current_date as text)", "postgresql": "cast(current_date as text)",
          "hive": "cast(current_date() as string)"}


def by_dialect(description: str, query: Any, severity: str) -> UnexpectedRowsByDialectExpectation:
    """An unexpected-rows check whose SQL differs per dialect: ``query(dialect) -> str``."""
    default, *others = DIALECTS
    return UnexpectedRowsByDialectExpectation(
        description=description,
        unexpected_rows_query=query(default),
        dialect_queries={d: query(d) for d in others},
        severity=severity,
    )


def storage_types(columns: dict[str, str]) -> UnexpectedRowsByDialectExpectation:
    def query(dialect: str) -> str:
        names = _TYPE_NAMES[dialect]
        checks = []
        for name, kind in columns.items():  # a REAL column may hold integers
            allowed = names[kind] + names["integer"] if kind == "real" else names[kind]
            listed = ", ".join(f"'{n}'" for n in dict.fromkeys(allowed))
            type_of = _TYPE_OF[dialect].format(v=name)
            checks.append(f"({name} is not null and {type_of} not in ({listed}))")
        return "select * from {batch} where " + "\n   or ".join(checks)

    return by_dialect("Every value has its column's type (SQLite typeof)", query, CRITICAL)


def _shape_pattern(shape: str, dialect: str) -> str:
    """A shape (see ISO_DAY) as a SQLite GLOB or an anchored regex (PostgreSQL ``~``, Spark
    ``rlike``, a Java regex), without braces. Spark reads ``\\`` in a string literal as an
    escape, so its literal dot is ``[.]``."""
    classes = {"D": "[0-9]", "A": "[A-Z]"}
    if dialect == "sqlite":
        return "".join(classes.get(c, c) for c in shape)
    dot = "[.]" if dialect == "hive" else "\\."
    return "^" + "".join(classes.get(c, dot if c == "." else c) for c in shape) + "$"


def well_formed(description: str, shapes: dict[str, tuple[str, ...]],
                 severity: str) -> UnexpectedRowsByDialectExpectation:
    """No non-NULL value of a column outside its shapes; one scan for all the columns."""
    def query(dialect: str) -> str:
        checks = []
        matches = {"sqlite": "glob", "postgresql": "~", "hive": "rlike"}[dialect]
        for column, alternatives in shapes.items():
            ok = " or ".join(f"{column} {matches} '{_shape_pattern(a, dialect)}'"
                             for a in alternatives)
            checks.append(f"({column} is not null and not ({ok}))")
        return "select * from {batch} where " + "\n   or ".join(checks)

    return by_dialect(description, query, severity)


def not_before(day: str, what: str) -> UnexpectedRowsByDialectExpectation:
    # ExpectColumnValuesToBeBetween refuses TEXT columns on SQLite ("cannot be computed on
    # column of type TEXT"); ISO days compare correctly as text in SQL.
    return UnexpectedRowsByDialectExpectation(
        description=f"No {what} is created before {day} (a broken clock)",
        unexpected_rows_query=f"select * from {{batch}} where created_date < '{day}'",
        severity=WARNING,
    )


def not_in_future(what: str, severity: Any) -> UnexpectedRowsByDialectExpectation:
    return by_dialect(
        f"No {what} is created in the future (UTC)",
        lambda dialect: f"select * from {{batch}} where created_date > {_TODAY[dialect]}",
        severity,
    )


def every_raw_row_staged(raw_table: str, what: str) -> UnexpectedRowsByDialectExpectation:
    # A whole-table batch checks every load (after_load_id is 0); a new-rows batch, the new loads.
    return UnexpectedRowsByDialectExpectation(
        description=f"Every raw {what} row of the checked loads is in staging (none dropped)",
        unexpected_rows_query=(
            f"select raw_rows, checked_rows from (select (select count(*) from {raw_table} "
            f"where _load_id > {this_run('after_load_id')}) as raw_rows, "
            "(select count(*) from {batch}) as checked_rows) as counts "
            "where raw_rows <> checked_rows"
        ),
        severity=CRITICAL,
    )


def unique(columns: list[str]) -> UnexpectedRowsByDialectExpectation:
    # GROUP BY in the key's index order: a unique index makes it one pass over the index, where
    # GX's uniqueness expectations count per value with window functions (and query twice).
    key = ", ".join(columns)
    return UnexpectedRowsByDialectExpectation(
        description=f"The key ({key}) is unique",
        unexpected_rows_query=(
            f"select {key}, count(*) as copies from {{batch}} group by {key} having count(*) > 1"
        ),
        severity=CRITICAL,
    )


def has_columns(columns: dict[str, str], *, exact: bool = True) -> gxe.ExpectTableColumnsToMatchSet:
    return gxe.ExpectTableColumnsToMatchSet(
        column_set=list(columns), exact_match=exact, severity=CRITICAL
    )
