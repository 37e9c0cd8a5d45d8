"""The one warehouse setting, and every difference between the two engines it can name.

``--warehouse`` / ``$BALANCEWATCH_WAREHOUSE`` is a SQLite file path (the default), a PostgreSQL URL
(``postgresql://user[:password]@host[:port]/dbname``) or a Spark Thrift Server URL
(``spark://host:port/database``; :mod:`balancewatch.spark_sql` says what differs there).
:func:`parse` turns it into a :class:`Warehouse`; from there the rest of the code asks for what
it needs and never branches on the engine itself:

* :meth:`Warehouse.connect` -- a DB-API :class:`Connection` whose SQL uses ``?`` placeholders on
  both engines (sqlite3's paramstyle; translated to psycopg's ``%s`` here, in one place);
* :meth:`Warehouse.sqlalchemy_url` -- for GX and SQLAlchemy;
* :meth:`Warehouse.environment` -- the variables dbt's profile (``dbt/profiles.yml``) and GX's
  data source (``${BALANCEWATCH_SQLALCHEMY_URL}``) read; secrets travel only this way.

Tables live in schema ``main`` on SQLite and PostgreSQL (SQLite's name for the file's schema;
created on PostgreSQL and put first on the ``search_path``, so unqualified names resolve the same
way); on Spark, in the URL's database, which every connection ``use``-s.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SQLITE: Literal["sqlite"] = "sqlite"
POSTGRES: Literal["postgres"] = "postgres"
SPARK: Literal["spark"] = "spark"
Kind = Literal["sqlite", "postgres", "spark"]
SCHEMA = "main"
WAREHOUSE_ENV = "BALANCEWATCH_WAREHOUSE"
SQLALCHEMY_URL_ENV = "BALANCEWATCH_SQLALCHEMY_URL"
DBT_TARGET_ENV = "BALANCEWATCH_DBT_TARGET"
DBT_TARGETS = {SQLITE: "warehouse", POSTGRES: "postgres", SPARK: "spark"}
PG_ENV = ("HOST", "PORT", "USER", "PASSWORD", "DBNAME")
SPARK_ENV = ("HOST", "PORT", "SCHEMA")
SPARK_SCHEME = "spark://"
_URL_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://", "postgresql+psycopg2://")
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")


class WarehouseError(Exception):
    """The warehouse setting is unusable (bad URL, server unreachable)."""


@dataclass(frozen=True)
class Warehouse:
    """Where the warehouse is: a SQLite file, a PostgreSQL database, or a Spark database."""

    kind: Kind
    path: Path | None = None  # SQLite: absolute file path
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = None
    dbname: str = ""

    @property
    def dialect(self) -> str:
        """SQLAlchemy's dialect name (what GX expectations dispatch on)."""
        return {SQLITE: "sqlite", POSTGRES: "postgresql", SPARK: "hive"}[self.kind]

    def __str__(self) -> str:
        """How the warehouse is shown to users: never with its password."""
        if self.kind == SQLITE:
            return str(self.path)
        if self.kind == SPARK:
            return self.location()
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def location(self) -> str:
        """The setting itself (with its password), as ``$BALANCEWATCH_WAREHOUSE`` holds it."""
        if self.kind == SQLITE:
            return str(self.path)
        if self.kind == SPARK:
            return f"{SPARK_SCHEME}{self.host}:{self.port}/{self.dbname}"
        return self._url("postgresql")

    def sqlalchemy_url(self) -> str:
        """The SQLAlchemy URL (psycopg 3 driver; ``search_path`` = main on PostgreSQL; PyHive's
        ``hive://`` on Spark)."""
        if self.kind == SQLITE:
            return f"sqlite:///{self.path}"
        if self.kind == SPARK:
            return f"hive://{self.user}@{self.host}:{self.port}/{self.dbname}"
        return self._url("postgresql+psycopg", options=f"-csearch_path={SCHEMA}")

    def _url(self, scheme: str, **query: str) -> str:
        from sqlalchemy.engine import URL

        url = URL.create(
            scheme, self.user, self.password, self.host, self.port, self.dbname, query=query
        )
        return url.render_as_string(hide_password=False)

    def environment(self) -> dict[str, str]:
        """Variables for dbt's profile and GX's data source (set by :func:`export`)."""
        env = {
            WAREHOUSE_ENV: self.location(),
            SQLALCHEMY_URL_ENV: self.sqlalchemy_url(),
            DBT_TARGET_ENV: DBT_TARGETS[self.kind],
        }
        if self.kind == POSTGRES:
            values = (self.host, str(self.port), self.user, self.password or "", self.dbname)
            env.update({f"BALANCEWATCH_PG_{k}": v for k, v in zip(PG_ENV, values)})
        if self.kind == SPARK:
            values = (self.host, str(self.port), self.dbname)
            env.update({f"BALANCEWATCH_SPARK_{k}": v for k, v in zip(SPARK_ENV, values)})
        return env

    def exists(self) -> bool:
        """Whether the file / database is there (nothing is created)."""
        if self.kind == SQLITE:
            return self.path is not None and self.path.is_file()
        if self.kind == SPARK:
            from balancewatch import spark_sql

            return spark_sql.database_exists(self)
        with _server(self) as conn:
            found = conn.execute("select 1 from pg_database where datname = %s", (self.dbname,))
            return found.fetchone() is not None

    def create(self, *, template: Warehouse | None = None) -> bool:
        """Create the file's folder / a missing database with schema ``main``; True if new.

        ``template`` (PostgreSQL): a database to copy (no one may be connected to it).
        """
        if self.kind == SQLITE:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return not self.path.exists()
        if self.kind == SPARK:
            from balancewatch import spark_sql

            return spark_sql.create_database(self)
        if self.exists():
            return False
        from psycopg import sql

        statement = sql.SQL("create database {}").format(sql.Identifier(self.dbname))
        if template is not None:
            statement += sql.SQL(" template {}").format(sql.Identifier(template.dbname))
        with _server(self) as conn:
            conn.execute(statement)
        with self.connection() as conn:
            conn.execute(f"create schema if not exists {SCHEMA}")
        return True

    def drop(self) -> None:
        """Remove the file (and its journal) / drop the database: undo :meth:`create`."""
        if self.kind == SQLITE:
            assert self.path is not None
            for path in (self.path, self.path.with_name(self.path.name + "-journal")):
                path.unlink(missing_ok=True)
            return
        if self.kind == SPARK:
            from balancewatch import spark_sql

            spark_sql.drop_database(self)
            return
        from psycopg import sql

        with _server(self) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(self.dbname)
                )
            )

    @contextmanager
    def connection(self, *, read_only: bool = False) -> Iterator[Connection]:
        """A :meth:`connect`-ed connection, closed when the ``with`` block ends."""
        conn = self.connect(read_only=read_only)
        try:
            yield conn
        finally:
            conn.close()

    def connect(self, *, read_only: bool = False) -> Connection:
        """A :class:`Connection` in autocommit mode (transactions are explicit: ``begin``)."""
        if self.kind == SQLITE:
            if read_only:
                raw: Any = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                           isolation_level=None)
            else:
                raw = sqlite3.connect(self.path, isolation_level=None)
            return Connection(raw, SQLITE)
        if self.kind == SPARK:
            from balancewatch import spark_sql

            return Connection(spark_sql.connect(self), SPARK)
        return Connection(_pg_connect(self, self.dbname, f"-c search_path={SCHEMA}"), POSTGRES)


class Connection:
    """A DB-API connection with one SQL dialect for parameters (``?``) and explicit transactions."""

    def __init__(self, raw: Any, kind: Kind) -> None:
        self.raw = raw
        self.kind = kind

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self.kind == POSTGRES else sql

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run one statement; returns the cursor."""
        if self.kind == SPARK:
            return self.raw.execute(sql, params)
        if params is None:
            return self.raw.execute(sql)
        return self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement per row; returns how many rows it inserted, updated or deleted."""
        if self.kind == SQLITE:
            return self.raw.executemany(sql, rows).rowcount
        if self.kind == SPARK:
            return self.raw.executemany(sql, rows)
        with self.raw.cursor() as cursor:
            cursor.executemany(self._sql(sql), [tuple(r) for r in rows])
            return max(cursor.rowcount, 0)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row (None without rows)."""
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def table_names(self) -> set[str]:
        """Tables and views of schema ``main``."""
        if self.kind == SQLITE:
            return {
                r[0]
                for r in self.execute(
                    "select name from sqlite_master where type in ('table', 'view')"
                )
            }
        if self.kind == SPARK:
            return self.raw.table_names()
        rows = self.execute(
            "select table_name from information_schema.tables where table_schema = ?", (SCHEMA,)
        )
        return {r[0] for r in rows}

    def column_names(self, table: str) -> set[str]:
        """Column names of table ``table`` of schema ``main`` (empty when it does not exist)."""
        if self.kind == SQLITE:
            return {r[1] for r in self.execute("select * from pragma_table_info(?)", (table,))}
        if self.kind == SPARK:
            return self.raw.column_names(table)
        rows = self.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            (SCHEMA, table),
        )
        return {r[0] for r in rows}

    def add_missing_columns(self, table: str, columns: dict[str, str]) -> list[str]:
        """``alter table ... add column`` for each of ``columns`` (name -> type and default) that
        ``table`` lacks (an older warehouse); returns the names added."""
        have = self.column_names(table)
        added = [name for name in columns if name not in have]
        for name in added:
            if self.kind == SPARK:  # no defaults: every kept column is NULL until a replacement
                self.execute(f"alter table {table} add columns ({name} {columns[name]})")
            else:
                self.execute(f"alter table {table} add column {name} {columns[name]}")
        return added

    def begin(self) -> None:
        """Start a transaction (SQLite: take the write lock now, as the loader always did).

        Spark has no transactions: ``begin``/``commit``/``rollback`` do nothing there, and each
        writer keeps its own guarantee instead (see :mod:`balancewatch.spark_sql`)."""
        if self.kind != SPARK:
            self.raw.execute("begin immediate" if self.kind == SQLITE else "begin")

    def commit(self) -> None:
        if self.kind != SPARK:
            self.raw.execute("commit")

    def rollback(self) -> None:
        if self.kind != SPARK:
            self.raw.execute("rollback")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """``with conn.transaction():`` commits on success, rolls back on any exception."""
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def close(self) -> None:
        self.raw.close()


def _pg_connect(warehouse: Warehouse, dbname: str, options: str = "") -> Any:
    import psycopg

    try:
        return psycopg.connect(
            host=warehouse.host, port=warehouse.port, user=warehouse.user,
            password=warehouse.password, dbname=dbname, options=options, autocommit=True,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(f"cannot connect to {warehouse}: {first}") from exc


@contextmanager
def _server(warehouse: Warehouse) -> Iterator[Any]:
    """A connection to the server's maintenance database ``postgres`` (to create/drop ours)."""
    conn = _pg_connect(warehouse, "postgres")
    try:
        yield conn
    finally:
        conn.close()


def database_errors() -> tuple[type[Exception], ...]:
    """The DB-API ``DatabaseError`` classes of every driver (for ``except``)."""
    import psycopg

    from balancewatch.spark_sql import SparkError

    return (sqlite3.DatabaseError, psycopg.DatabaseError, SparkError)


def parse(value: str | os.PathLike[str] | Warehouse) -> Warehouse:
    """A :class:`Warehouse` from a path, a PostgreSQL URL or a Spark URL (a Warehouse passes
    through)."""
    if isinstance(value, Warehouse):
        return value
    text = os.fspath(value)
    if text.startswith(SPARK_SCHEME):
        return _parse_spark(text)
    if not text.startswith(_URL_SCHEMES):
        if "://" in text:
            raise WarehouseError(
                f"unsupported warehouse URL {text.split('://')[0]}://: use a SQLite file path, "
                "postgresql://user@host:port/dbname or spark://host:port/database"
            )
        return Warehouse(SQLITE, path=Path(text).expanduser().resolve())
    from sqlalchemy.engine import make_url

    url = make_url(text)
    if not url.database or not _DB_NAME.match(url.database):
        raise WarehouseError(f"the PostgreSQL URL must name a database: {text.split('@')[-1]}")
    return Warehouse(
        POSTGRES, host=url.host or "127.0.0.1", port=url.port or 5432,
        user=url.username or "postgres", password=url.password, dbname=url.database,
    )


_SPARK_URL = re.compile(r"^spark://(?P<host>[^/:@]+)(?::(?P<port>\d{1,5}))?/(?P<db>[A-Za-z0-9_]+)$")


def _parse_spark(text: str) -> Warehouse:
    match = _SPARK_URL.match(text)
    if match is None:
        raise WarehouseError(
            f"a Spark warehouse URL is spark://host:port/database (letters, digits, _): {text}"
        )
    return Warehouse(SPARK, host=match["host"], port=int(match["port"] or 10000),
                     user="balancewatch", dbname=match["db"].lower())


def export(warehouse: Warehouse) -> None:
    """Make the warehouse visible to dbt's profile and GX's data source (``${...}``)."""
    for name in [*(f"BALANCEWATCH_PG_{k}" for k in PG_ENV),
                 *(f"BALANCEWATCH_SPARK_{k}" for k in SPARK_ENV)]:
        os.environ.pop(name, None)
    os.environ.update(warehouse.environment())
