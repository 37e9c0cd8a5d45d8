"""Talking to a Spark Thrift Server: connections, literals, errors, databases.

The Spark engine differs from the other two in three ways the rest of the code must respect:

* **Placeholders**: statements use ``?`` like everywhere else; the values are rendered here as Spark
  SQL literals (Spark reads ``\\`` in a string literal as an escape, which PyHive's own escaping
  ignores), so no driver-side formatting is involved.
* **No transactions, no UPDATE/DELETE on parquet tables**: ``begin``/``commit`` are no-ops and each
  writer keeps its guarantee by ordering its statements (the loader stages and checks everything
  before its first write; see docs/engines.md, "Apache Spark").
* **Errors**: the server returns a Java stack trace of several kilobytes; :class:`SparkError`
  keeps its first line.

Imports PyHive lazily (the Spark extra), and nothing of balancewatch but the warehouse's types.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from balancewatch.warehouse import Warehouse

_PLACEHOLDER = re.compile(r"\?")


class SparkError(Exception):
    """A statement failed on the Spark Thrift Server (message: Spark's first line)."""


def literal(value: Any) -> str:
    """``value`` as a Spark SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"double('{value}')"
        return f"double({value!r})"
    if isinstance(value, Decimal):
        return f"{value}BD"
    if isinstance(value, datetime):
        return f"timestamp'{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date'{value.isoformat()}'"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def render(sql: str, params: Sequence[Any] | None) -> str:
    """``sql`` with each ``?`` replaced by the next parameter's literal."""
    if not params:
        return sql
    values = iter(params)
    rendered = _PLACEHOLDER.sub(lambda _: literal(next(values)), sql)
    leftover = next(values, _PLACEHOLDER)
    if leftover is not _PLACEHOLDER:
        raise SparkError(f"more parameters than placeholders in: {sql[:80]}")
    return rendered


def short_message(exc: BaseException) -> str:
    """Spark's error message without the Java stack trace (a syntax error keeps its position)."""
    status = getattr(exc.args[0], "status", None) if exc.args else None
    message = getattr(status, "errorMessage", None) or str(exc)
    message = message.removeprefix("Error running query: ")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return " ".join(lines[:2] if "PARSE_SYNTAX_ERROR" in lines[0] else lines[:1])[:500]


class SparkConnection:
    """One PyHive connection to a database; what :class:`balancewatch.warehouse.Connection`
    wraps on Spark."""

    def __init__(self, raw: Any, database: str) -> None:
        self.raw = raw
        self.database = database

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cursor = self.raw.cursor()
        try:
            cursor.execute(render(sql, params))
        except Exception as exc:
            if type(exc).__module__.startswith("pyhive"):
                raise SparkError(f"{short_message(exc)} [in: {_brief(sql)}]") from None
            raise
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One multi-row ``insert`` per 500 rows (``sql`` ends in one ``values (?, ...)``)."""
        head, _, row_sql = sql.rpartition("values")
        count = 0
        batch: list[str] = []
        for row in rows:
            batch.append(render(row_sql.strip(), row))
            count += 1
            if len(batch) == 500:
                self.execute(f"{head} values {', '.join(batch)}")
                batch = []
        if batch:
            self.execute(f"{head} values {', '.join(batch)}")
        return count

    def table_names(self) -> set[str]:
        rows = self.execute(f"show tables in {self.database}").fetchall()
        return {r[1] for r in rows if not r[2]}

    def column_names(self, table: str) -> set[str]:
        if table not in self.table_names():
            return set()
        cursor = self.execute(f"select * from {table} limit 0")
        return {d[0].split(".")[-1] for d in cursor.description}

    def close(self) -> None:
        self.raw.close()


def _brief(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 120 else text[:117] + "..."


def _raw(warehouse: Warehouse, database: str | None) -> Any:
    from balancewatch.warehouse import WarehouseError

    try:
        from pyhive import hive
    except ImportError as exc:
        raise WarehouseError(
            "the Spark engine needs the Spark extra: pip install -e '.[spark]' (make spark)"
        ) from exc
    try:
        return hive.connect(host=warehouse.host, port=warehouse.port, username=warehouse.user,
                            database=database or "default")
    except Exception as exc:
        raise WarehouseError(f"cannot connect to {warehouse}: {short_message(exc)} "
                             "(is a Spark Thrift Server running? make spark)") from exc


def connect(warehouse: Warehouse) -> SparkConnection:
    """A connection that uses the warehouse's database (created if missing)."""
    raw = _raw(warehouse, None)
    connection = SparkConnection(raw, warehouse.dbname)
    connection.execute(f"create database if not exists {warehouse.dbname}")
    connection.execute(f"use {warehouse.dbname}")
    return connection


def database_exists(warehouse: Warehouse) -> bool:
    connection = SparkConnection(_raw(warehouse, None), "default")
    try:
        rows = connection.execute("show databases").fetchall()
        return warehouse.dbname in {r[0] for r in rows}
    finally:
        connection.close()


def create_database(warehouse: Warehouse) -> bool:
    """Create the database if missing; True if it is new."""
    if database_exists(warehouse):
        return False
    connection = SparkConnection(_raw(warehouse, None), "default")
    try:
        connection.execute(f"create database if not exists {warehouse.dbname}")
    finally:
        connection.close()
    return True


def drop_database(warehouse: Warehouse) -> None:
    connection = SparkConnection(_raw(warehouse, None), "default")
    try:
        connection.execute(f"drop database if exists {warehouse.dbname} cascade")
    finally:
        connection.close()
