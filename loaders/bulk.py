"""Each engine's fast path for writing typed rows into a raw table, behind one :class:`Writer`.

Both paths give the same result: an empty table gets a plain insert; otherwise rows are upserted
by key, a row of an earlier load is replaced, and a second row with the same key in the *same* load
changes nothing (so fewer rows are written than read, which is how the loader notices keys repeated
across the files of one delivery). A key repeated where the engine refuses it raises
:class:`DuplicateKey`; the loader then finds and reports the repeats itself.

* SQLite: ``executemany`` of the spec's insert/upsert (the driver's fastest path).
* PostgreSQL: ``COPY`` into a temporary staging table, then one ``insert ... select`` from it
  (``on conflict (key) do update ... where target._load_id is distinct from excluded._load_id``).
* Spark: parquet files staged first, merged by key once the whole delivery checked out
  (:mod:`loaders.spark_bulk`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from balancewatch.warehouse import POSTGRES, SCHEMA, SPARK, SQLITE, Connection
from loaders.schema import TABLES, TableSpec, load_log_sql

LOAD_LOG_COLUMNS = ("load_id", "file_name", "sha256", "table_name", "rows_read", "rows_inserted",
                    "rows_updated", "loaded_at", "seconds")


class DuplicateKey(Exception):
    """The engine refused a key given twice in what was written."""


class Writer:
    """A delivery's writes on one connection: rows per file, ``load_log`` rows, then
    :meth:`finish` (before the commit). SQLite and PostgreSQL write inside the delivery's
    transaction; Spark stages and merges at :meth:`finish`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.spark = None
        if conn.kind == SPARK:
            from loaders.spark_bulk import SparkDelivery, create_sql

            for spec in TABLES:
                conn.execute(create_sql(spec))
                conn.add_missing_columns(spec.name, spec.previous_columns(SPARK))
            conn.execute(load_log_sql(SPARK))
            self.spark = SparkDelivery(conn)
        else:
            start(conn)

    def write_rows(self, spec: TableSpec, rows: Iterable[tuple[object, ...]]) -> tuple[int, int]:
        """Write one file's rows (spec column order + load id); returns (inserted, updated)."""
        if self.spark is not None:
            return self.spark.write_rows(spec, rows)
        before = self.conn.scalar(f"select count(*) from {spec.name}")
        written = write_rows(self.conn, spec, rows, into_empty=before == 0)
        inserted = self.conn.scalar(f"select count(*) from {spec.name}") - before
        return inserted, written - inserted

    def log_file(self, values: tuple[Any, ...]) -> None:
        """One ``load_log`` row (values in :data:`LOAD_LOG_COLUMNS` order)."""
        if self.spark is not None:
            self.spark.log_file(values)
            return
        placeholders = ", ".join("?" for _ in LOAD_LOG_COLUMNS)
        self.conn.execute(
            f"insert into load_log ({', '.join(LOAD_LOG_COLUMNS)}) values ({placeholders})",
            values,
        )

    def finish(self) -> None:
        """Everything checked: index (SQLite, PostgreSQL) or merge (Spark) the raw tables."""
        if self.spark is not None:
            self.spark.finish(TABLES)
        else:
            finish(self.conn)

    def close(self) -> None:
        """Remove what the delivery staged (Spark)."""
        if self.spark is not None:
            self.spark.close()


def start(conn: Connection) -> None:
    """Begin the delivery's transaction and create the raw tables and ``load_log`` if missing."""
    if conn.kind == SQLITE:
        conn.execute("pragma cache_size = -262144")
        conn.execute("pragma temp_store = memory")
    conn.begin()
    if conn.kind == POSTGRES:  # one load at a time, as SQLite's "begin immediate" ensures
        conn.execute("select pg_advisory_xact_lock(hashtext('balancewatch.load'))")
        conn.execute(f"create schema if not exists {SCHEMA}")  # rolled back with the rest
    for spec in TABLES:
        conn.execute(spec.create_sql(conn.kind))
        # add the kept columns an older release's table lacks
        conn.add_missing_columns(spec.name, spec.previous_columns(conn.kind))
    conn.execute(load_log_sql(conn.kind))


def finish(conn: Connection) -> None:
    """Before the delivery's commit: index ``_load_id`` of the raw tables (a no-op once it exists;
    on a first load the index is built once, after the bulk insert). PostgreSQL also refreshes
    their planner statistics (a 30,000-row sample, whatever the table's size): without them the
    first build plans against an empty table until autovacuum comes round."""
    for spec in TABLES:
        conn.execute(spec.load_id_index_sql())
        if conn.kind == POSTGRES:
            conn.execute(f"analyze {spec.name}")


def write_rows(
    conn: Connection, spec: TableSpec, rows: Iterable[tuple[object, ...]], *, into_empty: bool
) -> int:
    """Write ``rows`` (spec column order + load id) into the spec's table; rows written."""
    if conn.kind == SQLITE:
        return _sqlite_write(conn, spec, rows, into_empty)
    return _postgres_write(conn, spec, rows, into_empty)


def _sqlite_write(
    conn: Connection, spec: TableSpec, rows: Iterable[tuple[object, ...]], into_empty: bool
) -> int:
    import sqlite3

    raw = conn.raw
    before = raw.total_changes
    sql = spec.insert_sql() if into_empty else spec.upsert_sql()
    try:
        raw.executemany(sql, rows)
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey(str(exc)) from exc
    return raw.total_changes - before


def _column_names(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns] + ["_load_id"]


def insert_from_sql(spec: TableSpec, source: str, *, upsert: bool) -> str:
    """PostgreSQL: insert (or upsert) every row of ``source`` into the spec's table."""
    names = _column_names(spec)
    columns = ", ".join(names)
    sql = f"insert into {spec.name} ({columns}) select {columns} from {source}"
    if not upsert:
        return sql
    updates = ", ".join([*spec.previous_updates(), *(f"{n} = excluded.{n}" for n in names[1:])])
    return (
        f"{sql} on conflict ({spec.primary_key.name}) do update set {updates} "
        f"where {spec.name}._load_id is distinct from excluded._load_id"
    )


def _postgres_write(
    conn: Connection, spec: TableSpec, rows: Iterable[tuple[object, ...]], into_empty: bool
) -> int:
    import psycopg

    stage = f"_stage_{spec.name}"
    columns = ", ".join(_column_names(spec))
    conn.execute(f"create temporary table if not exists {stage} (like {spec.name}) "
                 "on commit drop")
    conn.execute(f"truncate {stage}")
    with conn.raw.cursor() as cursor:
        with cursor.copy(f"copy {stage} ({columns}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        try:
            cursor.execute(insert_from_sql(spec, stage, upsert=not into_empty))
        except (psycopg.errors.UniqueViolation, psycopg.errors.CardinalityViolation) as exc:
            raise DuplicateKey(str(exc)) from exc
        return max(cursor.rowcount, 0)
