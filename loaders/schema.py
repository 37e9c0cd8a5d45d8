"""The raw tables: which CSV columns they take, how each is typed, and their DDL."""

from __future__ import annotations

from dataclasses import dataclass

from loaders.parsing import (
    Parser,
    parse_date,
    parse_decimal,
    parse_int64,
    parse_positive_decimal,
    parse_text,
    parse_utc_timestamp,
)


@dataclass(frozen=True)
class Column:
    """One CSV column and the raw-table column it loads into."""

    header: str
    name: str
    sql_type: str
    parse: Parser
    required: bool


@dataclass(frozen=True)
class TableSpec:
    """A raw table fed by one kind of export file."""

    name: str
    file_prefix: str
    columns: tuple[Column, ...]
    # columns whose values before a later load replaced the row are kept (``_previous_<name>``),
    # with that row's load (``_previous_load_id``)
    kept_on_replace: tuple[str, ...] = ()

    def previous_columns(self, kind: str = "sqlite") -> dict[str, str]:
        """Loader columns for the replaced row's values and load (``_previous_status``, ...), typed
        like the columns they keep (as the engine ``kind`` names the types)."""
        if not self.kept_on_replace:
            return {}
        types = SQL_TYPES[kind]
        by_name = {c.name: c.sql_type for c in self.columns}
        kept = {f"_previous_{name}": by_name[name] for name in self.kept_on_replace}
        kept["_previous_load_id"] = "integer"
        return {name: types.get(sql_type, sql_type) for name, sql_type in kept.items()}

    @property
    def primary_key(self) -> Column:
        return self.columns[0]

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    def create_sql(self, kind: str = "sqlite") -> str:
        """``create table if not exists`` (column types as the engine ``kind`` names them).

        The key is ``bigint primary key``, not SQLite's rowid alias ``integer primary key``: the
        export's keys are random 64-bit hashes, and inserting them into the rowid tree costs twice
        as long as appending rows and maintaining a separate key index.
        """
        types = SQL_TYPES[kind]
        key = self.primary_key
        defs = [f"{key.name} {types.get(key.sql_type, key.sql_type)} primary key"]
        for col in self.columns[1:]:
            sql_type = types.get(col.sql_type, col.sql_type)
            defs.append(f"{col.name} {sql_type}{' not null' if col.required else ''}")
        defs.append("_load_id integer not null")
        defs += [f"{name} {sql_type}" for name, sql_type in self.previous_columns(kind).items()]
        body = ",\n    ".join(defs)
        return f"create table if not exists {self.name} (\n    {body}\n)"

    def load_id_index_sql(self) -> str:
        """``create index if not exists`` on ``_load_id`` (dbt's incremental models read the rows
        of new loads through it). The loader creates it after writing a delivery, so that a first
        bulk load into an empty table builds it once instead of maintaining it row by row."""
        return f"create index if not exists {self.name}___load_id on {self.name} (_load_id)"

    def insert_sql(self) -> str:
        """A plain insert (for an empty table: faster than the upsert)."""
        names = [c.name for c in self.columns] + ["_load_id"]
        placeholders = ", ".join("?" for _ in names)
        return f"insert into {self.name} ({', '.join(names)}) values ({placeholders})"

    def upsert_sql(self) -> str:
        """Insert a row; a row of an earlier load with the same key is replaced.

        A second row with the same key in the *same* load changes nothing, which is how the
        loader notices keys repeated within one delivery.
        """
        names = [c.name for c in self.columns] + ["_load_id"]
        placeholders = ", ".join("?" for _ in names)
        updates = ", ".join([*self.previous_updates(), *(f"{n} = excluded.{n}" for n in names[1:])])
        return (
            f"insert into {self.name} ({', '.join(names)}) values ({placeholders}) "
            f"on conflict ({self.primary_key.name}) do update set {updates} "
            f"where {self.name}._load_id is not excluded._load_id"
        )


    def previous_updates(self) -> list[str]:
        """``set`` items of an upsert that keep the replaced row's values and load."""
        if not self.kept_on_replace:
            return []
        kept = [f"_previous_{column} = {self.name}.{column}" for column in self.kept_on_replace]
        return [*kept, f"_previous_load_id = {self.name}._load_id"]


def _col(header: str, sql_type: str, parse: Parser, required: bool) -> Column:
    return Column(header, header.lower(), sql_type, parse, required)


ORGANIZATIONS = TableSpec(
    name="organizations",
    file_prefix="organizations",
    columns=(
        _col("ORGANIZATION_ID", "bigint", parse_int64, True),
        _col("FIRST_PAYMENT_DATE", "text", parse_date, False),
        _col("LAST_PAYMENT_DATE", "text", parse_date, False),
        _col("LEGAL_ENTITY_COUNTRY_CODE", "bigint", parse_int64, False),
        _col("COUNT_TOTAL_CONTRACTS_ACTIVE", "integer", parse_int64, False),
        _col("CREATED_DATE", "text", parse_utc_timestamp, True),
    ),
)

INVOICES = TableSpec(
    name="invoices",
    file_prefix="invoices",
    columns=(
        _col("INVOICE_ID", "bigint", parse_int64, True),
        _col("PARENT_INVOICE_ID", "bigint", parse_int64, True),
        _col("TRANSACTION_ID", "bigint", parse_int64, True),
        _col("ORGANIZATION_ID", "bigint", parse_int64, True),
        _col("TYPE", "bigint", parse_int64, True),
        _col("STATUS", "text", parse_text, True),
        _col("CURRENCY", "text", parse_text, True),
        _col("PAYMENT_CURRENCY", "text", parse_text, False),
        _col("PAYMENT_METHOD", "text", parse_text, False),
        _col("AMOUNT", "real", parse_positive_decimal, True),
        _col("PAYMENT_AMOUNT", "real", parse_decimal, False),
        _col("FX_RATE", "real", parse_positive_decimal, True),
        _col("FX_RATE_PAYMENT", "real", parse_decimal, False),
        _col("CREATED_AT", "text", parse_utc_timestamp, True),
    ),
    # A late-data alert names an invoice's status before a re-send; dim_organizations subtracts
    # the replaced version's contribution (organization, status, USD amount, day) instead of
    # aggregating the organization's whole history again.
    kept_on_replace=("organization_id", "status", "amount", "fx_rate", "created_at"),
)

TABLES: tuple[TableSpec, ...] = (ORGANIZATIONS, INVOICES)

# Column types by engine: SQLite's REAL is 8 bytes, PostgreSQL's is 4 (double precision is 8).
SQL_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {},
    "postgres": {"real": "double precision"},
    "spark": {"real": "double", "text": "string", "integer": "int"},
}
# load_log's surrogate key: SQLite's rowid alias numbers rows by itself; PostgreSQL needs identity.
_FILE_ID = {
    "sqlite": "integer primary key",
    "postgres": "bigint generated by default as identity primary key",
}

_LOAD_LOG_SQL = """
create table if not exists load_log (
    file_id       {file_id},
    load_id       integer not null,
    file_name     text not null,
    sha256        text not null,
    table_name    text not null,
    rows_read     integer not null,
    rows_inserted integer not null,
    rows_updated  integer not null,
    loaded_at     text not null,
    seconds       {real} not null
)
"""


_SPARK_LOAD_LOG_SQL = """
create table if not exists load_log (
    file_id bigint, load_id int, file_name string, sha256 string, table_name string,
    rows_read bigint, rows_inserted bigint, rows_updated bigint, loaded_at string, seconds double
) using parquet
"""


def load_log_sql(kind: str = "sqlite") -> str:
    """``create table if not exists load_log`` for the engine ``kind`` (on Spark without keys or
    NOT NULL: the loader numbers ``file_id`` itself)."""
    if kind == "spark":
        return _SPARK_LOAD_LOG_SQL
    return _LOAD_LOG_SQL.format(file_id=_FILE_ID[kind], real=SQL_TYPES[kind].get("real", "real"))


LOAD_LOG_SQL = load_log_sql("sqlite")
