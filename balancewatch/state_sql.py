"""Writes to the state tables (alerts, watermark, scope, mutes...): the same rows on every engine.

Each table is a :class:`StateTable`: its SQLite/PostgreSQL DDL (with its primary key) and, for
Spark, the column it is partitioned by. Call sites write through :func:`insert`, :func:`update`,
:func:`delete` and :func:`replace`; on SQLite and PostgreSQL these run the plain statements
(``insert ... on conflict``, ``update``, ``delete``) inside the caller's transaction.

Spark (parquet, no Delta) has no UPDATE, DELETE, ON CONFLICT, keys or transactions. There a state
table is ``partitioned by`` a key column, and a write is **one** ``insert overwrite table ...
partition (p)`` statement that reads the touched partitions, applies the change (the key and
guard decide which rows change, as the WHERE clause does elsewhere) and writes them back: the
server's dynamic partition overwrite replaces exactly the partitions in the output, so the table
keeps one row per key and a guard (``delivery_status = 'pending'``) is read and applied by the
same statement. A partition a delete empties is dropped (``alter table ... drop partition``),
since an overwrite cannot empty one. Counts come from one ``select`` first; a write that changes
nothing is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from balancewatch.warehouse import SPARK, Connection

_SPARK_TYPES = {"text": "string", "bigint": "bigint", "integer": "int",
                "double precision": "double", "double": "double", "real": "double"}
_COLUMN = re.compile(r"^(\w+)\s+(double precision|\w+)(.*)$", re.S | re.I)
_DEFAULT = re.compile(r"\bdefault\s+('[^']*'|[^\s,]+)", re.I)
Row = Sequence[Any]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the Spark type
    default: str | None


@dataclass(frozen=True)
class StateTable:
    """A state table: portable DDL, its key (one row per key) and its Spark partition column."""

    name: str
    ddl: str
    key: tuple[str, ...] = ()
    partition: str | None = None  # Spark: one of ``key``; None: append-only or replaced whole

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The columns of :attr:`ddl`, in Spark's order (the partition column last)."""
        body = self.ddl[self.ddl.index("(") + 1:self.ddl.rindex(")")]
        body = "\n".join(line.split("--")[0] for line in body.splitlines())
        found = []
        for item in _split(body):
            match = _COLUMN.match(item.strip())
            if match is None or match[1].lower() in ("primary", "unique", "check"):
                continue
            default = _DEFAULT.search(match[3])
            found.append(Column(match[1], _SPARK_TYPES[match[2].lower()],
                                default[1] if default else None))
        return (*(c for c in found if c.name != self.partition),
                *(c for c in found if c.name == self.partition))

    def spark_ddl(self) -> str:
        cols = ", ".join(f"{c.name} {c.type}" + (f" default {c.default}" if c.default else "")
                         for c in self.columns)
        parts = f" partitioned by ({self.partition})" if self.partition else ""
        return f"create table if not exists {self.name} ({cols}) using parquet{parts}"

    def type_of(self, column: str) -> str:
        return next(c.type for c in self.columns if c.name == column)


def _split(body: str) -> list[str]:
    """``body`` split at commas outside parentheses."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    return [*items, body[start:]]


def create(conn: Connection, table: StateTable) -> None:
    """``create table if not exists`` in the engine's dialect."""
    conn.execute(table.spark_ddl() if conn.kind == SPARK else table.ddl)


def insert(conn: Connection, table: StateTable, columns: Sequence[str], rows: Iterable[Row], *,
           on_conflict: Literal["error", "nothing", "update"] = "error",
           update_set: Mapping[str, str] | None = None) -> int:
    """Insert ``rows``; returns how many were inserted or changed.

    ``on_conflict='nothing'`` skips a row whose key is there; ``'update'`` sets the columns of
    ``update_set`` (SQL over ``excluded.<col>`` and ``<table>.<col>``; default: every other
    column from ``excluded``)."""
    rows = [tuple(r) for r in rows]
    if not rows:
        return 0
    names = ", ".join(columns)
    if on_conflict == "update" and update_set is None:
        update_set = {c: f"excluded.{c}" for c in columns if c not in table.key}
    if conn.kind != SPARK:
        sql = f"insert into {table.name} ({names}) values ({', '.join('?' * len(columns))})"
        if on_conflict == "nothing":
            sql += f" on conflict ({', '.join(table.key)}) do nothing"
        elif on_conflict == "update":
            sets = ", ".join(f"{c} = {e}" for c, e in (update_set or {}).items())
            sql += f" on conflict ({', '.join(table.key)}) do update set {sets}"
        return conn.executemany(sql, rows)
    if on_conflict == "error":
        placeholders = ", ".join("?" * len(columns))
        return conn.executemany(f"insert into {table.name} ({names}) values ({placeholders})",
                                rows)
    index = [columns.index(k) for k in table.key]
    rows = _last_per_key(rows, index, first=on_conflict == "nothing")
    if on_conflict == "nothing":
        return _spark_insert_new(conn, table, columns, rows)
    _spark_upsert(conn, table, columns, rows, update_set or {})
    return len(rows)


def update(conn: Connection, table: StateTable, set_: Mapping[str, str],
           rows: Iterable[Row] | None = None, *, where: str = "") -> int:
    """``update table set <col> = <expr>, ... where <key> = ? ... and (where)`` per row of
    ``rows``: (the ``?`` of ``set_``, the key, the ``?`` of ``where``); ``rows`` None: every row.
    Returns how many rows changed (-1 on Spark for every row: not counted)."""
    keyed = rows is not None
    rows = [tuple(r) for r in rows] if keyed else [()]
    if keyed and not rows:
        return 0
    conds = [f"{k} = ?" for k in table.key] if keyed else []
    conds += [f"({where})"] if where else []
    if conn.kind != SPARK:
        sets = ", ".join(f"{c} = {e}" for c, e in set_.items())
        sql = f"update {table.name} set {sets}" + (f" where {' and '.join(conds)}" if conds else "")
        return conn.executemany(sql, rows) if keyed else conn.execute(sql).rowcount
    return _spark_update(conn, table, set_, rows if keyed else None, where)


def delete(conn: Connection, table: StateTable, by: Sequence[str], keys: Iterable[Row]) -> int:
    """Delete the rows whose columns ``by`` equal one of ``keys``; returns how many."""
    return replace(conn, table, by, keys, (), ())


def replace(conn: Connection, table: StateTable, by: Sequence[str], keys: Iterable[Row],
            columns: Sequence[str], rows: Iterable[Row]) -> int:
    """Delete the rows matching ``keys`` on ``by``, then insert ``rows``; returns how many were
    deleted. ``by`` names the partition column on Spark (the touched partitions)."""
    keys, rows = [tuple(k) for k in keys], [tuple(r) for r in rows]
    if conn.kind != SPARK:
        match = " and ".join(f"{c} = ?" for c in by)
        deleted = conn.executemany(f"delete from {table.name} where {match}", keys) if keys else 0
        insert(conn, table, columns, rows)
        return deleted
    return _spark_replace(conn, table, by, keys, columns, rows)


def replace_all(conn: Connection, table: StateTable, columns: Sequence[str],
                rows: Iterable[Row]) -> None:
    """The table holds ``rows`` only (an unpartitioned table on Spark)."""
    rows = [tuple(r) for r in rows]
    if conn.kind != SPARK:
        conn.execute(f"delete from {table.name}")
        insert(conn, table, columns, rows)
        return
    if not rows:
        conn.execute(f"truncate table {table.name}")
        return
    first, rest = rows[:500], rows[500:]
    placeholders = f"({', '.join('?' * len(columns))})"
    conn.execute(f"insert overwrite table {table.name} ({', '.join(columns)}) values "
                 + ", ".join([placeholders] * len(first)), [v for r in first for v in r])
    insert(conn, table, columns, rest)


# --- Spark: every write below is one statement over the touched partitions ------------------

def _last_per_key(rows: list[tuple], index: list[int], *, first: bool) -> list[tuple]:
    seen: dict[tuple, tuple] = {}
    for row in rows:
        key = tuple(row[i] for i in index)
        if not (first and key in seen):
            seen[key] = row
    return list(seen.values())


def _values(name: str, columns: Sequence[str], rows: list[tuple]) -> tuple[str, list[Any]]:
    """``name(col, ...) as (values (?, ...), ...)`` and its parameters (a CTE)."""
    row = f"({', '.join('?' * len(columns))})"
    return (f"{name}({', '.join(columns)}) as (values {', '.join([row] * len(rows))})",
            [v for r in rows for v in r])


def _partitions(conn: Connection, table: StateTable, values: Iterable[Any]) -> str:
    from balancewatch.spark_sql import literal

    found = sorted({literal(v) for v in values})
    return f"{table.name}.{table.partition} in ({', '.join(found)})" if found else "false"


def _spark_insert_new(conn: Connection, table: StateTable, columns: Sequence[str],
                      rows: list[tuple]) -> int:
    cte, params = _values("u", table.key, [tuple(r[columns.index(k)] for k in table.key)
                                           for r in rows])
    on = " and ".join(f"{table.name}.{k} = u.{k}" for k in table.key)
    there = {tuple(r) for r in conn.execute(
        f"with {cte} select {', '.join(f'u.{k}' for k in table.key)} from u "
        f"join {table.name} on {on}", params).fetchall()}
    index = [columns.index(k) for k in table.key]
    new = [r for r in rows if tuple(r[i] for i in index) not in there]
    return insert(conn, table, columns, new)


def _spark_upsert(conn: Connection, table: StateTable, columns: Sequence[str], rows: list[tuple],
                  update_set: Mapping[str, str]) -> None:
    cte, params = _values("excluded", columns, rows)
    on = " and ".join(f"{table.name}.{k} = excluded.{k}" for k in table.key)
    absent = f"{table.name}.{table.key[0]} is null"
    merged = []
    for col in table.columns:
        new = f"excluded.{col.name}" if col.name in columns else (col.default or "null")
        if col.name in update_set:
            new = f"case when {absent} then {new} else {update_set[col.name]} end"
        elif col.name not in table.key:
            new = f"case when {absent} then {new} else {table.name}.{col.name} end"
        merged.append(f"cast({new} as {col.type}) as {col.name}")
    names = ", ".join(c.name for c in table.columns)
    touched = _partitions(conn, table, (r[columns.index(table.partition)] for r in rows))
    conn.execute(
        f"with {cte} insert overwrite table {table.name} partition ({table.partition}) "
        f"select {', '.join(merged)} from excluded left join {table.name} on {on} "
        f"union all select {names} from {table.name} left anti join excluded on {on} "
        f"where {touched}", params)


def _params_as(expr: str, start: int) -> tuple[str, int]:
    """``expr`` with each ``?`` replaced by ``u.p<n>`` (n from ``start``)."""
    count = expr.count("?")
    parts = expr.split("?")
    out = parts[0] + "".join(f"u.p{start + i}{p}" for i, p in enumerate(parts[1:]))
    return out, start + count


def _spark_update(conn: Connection, table: StateTable, set_: Mapping[str, str],
                  rows: list[tuple] | None, where: str) -> int:
    n, width = 0, len(table.key)
    sets = {}
    for col, expr in set_.items():
        sets[col], n = _params_as(expr, n)
    guard, end = _params_as(where or "true", n + width)
    if rows is None:
        hit, source, touched, params = guard, table.name, "true", []
    else:  # u(p<set params>, k<key>, p<where params>), one row per key
        names = [f"p{i}" for i in range(n)] + [f"k{i}" for i in range(width)]
        names += [f"p{i}" for i in range(n + width, end)]
        # a repeated key: SQLite applies each row in turn, so a guarded update keeps the first
        rows = _last_per_key(rows, list(range(n, n + width)), first=bool(where))
        cte, params = _values("u", names, rows)
        on = " and ".join(f"{table.name}.{k} = u.k{i}" for i, k in enumerate(table.key))
        hit = f"u.k0 is not null and ({guard})"
        source = f"{table.name} left join u on {on}"
        touched = _partitions(conn, table, (r[n + table.key.index(table.partition)]
                                            for r in rows))
        count = conn.scalar(f"with {cte} select count(*) from {table.name} join u on {on} "
                            f"where {guard}", params) or 0
        if not count:
            return 0
    cols = [f"case when {hit} then cast({sets[c.name]} as {c.type}) else {table.name}.{c.name} "
            f"end as {c.name}" if c.name in sets else f"{table.name}.{c.name}"
            for c in table.columns]
    with_cte = f"with {cte} " if rows is not None else ""
    target = f"partition ({table.partition})" if table.partition else ""
    conn.execute(f"{with_cte}insert overwrite table {table.name} {target} "
                 f"select {', '.join(cols)} from {source} where {touched}", params or None)
    return count if rows is not None else -1


def _spark_replace(conn: Connection, table: StateTable, by: Sequence[str], keys: list[tuple],
                   columns: Sequence[str], rows: list[tuple]) -> int:
    p = table.partition
    if p is None or p not in by:
        raise ValueError(f"{table.name}: rows are replaced by columns that include {p}")
    touched_values = [k[list(by).index(p)] for k in keys]
    touched_values += [r[list(columns).index(p)] for r in rows]
    if not touched_values:
        return 0
    touched = _partitions(conn, table, touched_values)
    on = " and ".join(f"{table.name}.{c} = u.k{i}" for i, c in enumerate(by))
    names = ", ".join(c.name for c in table.columns)
    deleted, dropped, parts = 0, [], ""
    if keys:
        cte, params = _values("u", [f"k{i}" for i in range(len(by))], keys)
        counts = conn.execute(
            f"with {cte} select {table.name}.{p}, count(*), count(u.k0) from {table.name} "
            f"left join u on {on} where {touched} group by {table.name}.{p}", params).fetchall()
        deleted = sum(int(r[2]) for r in counts)
        incoming = {r[list(columns).index(p)] for r in rows}
        dropped = [r[0] for r in counts if r[1] == r[2] and r[0] not in incoming]
        if deleted == 0 and not rows:
            return 0
        parts = f"with {cte} "
    else:
        params = []
    new_sql = ""
    if rows:
        row_cte, row_params = _values("n", columns, rows)
        parts = f"{parts}, {row_cte} " if keys else f"with {row_cte} "
        params = [*params, *row_params]
        picked = [f"cast(n.{c.name} as {c.type})" if c.name in columns
                  else f"cast({c.default or 'null'} as {c.type})" for c in table.columns]
        new_sql = f" union all select {', '.join(picked)} from n"
    kept = (f"select {names} from {table.name} left anti join u on {on} where {touched}" if keys
            else f"select {names} from {table.name} where {touched}")
    if rows or not keys or any(r[1] > r[2] for r in counts):
        conn.execute(f"{parts}insert overwrite table {table.name} partition ({p}) "
                     f"{kept}{new_sql}", params)
    if dropped:
        from balancewatch.spark_sql import literal

        specs = ", ".join(f"partition ({p} = {literal(v)})" for v in dropped)
        conn.execute(f"alter table {table.name} drop if exists {specs}")
    return deleted
