"""The Spark path of the bulk write: typed rows staged as parquet, merged by key in Spark SQL.

Spark has no transactions and its parquet tables take no UPDATE or DELETE, so a delivery is made
all-or-nothing by order instead:

1. every file is read, typed and checked, its rows written as parquet files into a staging folder
   (``$BALANCEWATCH_SPARK_STAGING``, default a temporary folder; the server must read the same
   path, so on a cluster it is object storage both can reach) -- nothing in the warehouse changes;
2. keys repeated inside the delivery are found by a query on the staged files (the delivery is
   rejected, still with nothing changed);
3. only then each raw table is merged by key in one ``insert overwrite`` of the partitions
   (``part_month``, the month of the row's creation) that hold a staged key or receive a staged
   row: kept rows, plus the staged rows with the replaced version's columns kept as on the other
   engines; ``load_log`` is appended last.

A failure inside step 3 (the server going away) can leave a table merged and ``load_log`` without
the delivery; loading the same delivery again completes it (a row already carrying the load's id
keeps its kept columns, as an upsert of the same load changes nothing elsewhere).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from balancewatch.spark_sql import literal
from balancewatch.warehouse import Connection
from loaders.schema import SQL_TYPES, TableSpec

STAGING_ENV = "BALANCEWATCH_SPARK_STAGING"
PARTITION = "part_month"
_BATCH_ROWS = 200_000
_ARROW = {"bigint": "int64", "integer": "int32", "real": "float64", "text": "string"}


def partition_source(spec: TableSpec) -> str:
    """The column whose first seven characters (``YYYY-MM``) are a row's partition."""
    return "created_at" if spec.name == "invoices" else "created_date"


def create_sql(spec: TableSpec) -> str:
    """The raw table on Spark: the spec's columns, parquet, partitioned by ``part_month``."""
    types = SQL_TYPES["spark"]
    defs = [f"{c.name} {types.get(c.sql_type, c.sql_type)}" for c in spec.columns]
    defs.append("_load_id int")
    defs += [f"{name} {sql_type}" for name, sql_type in spec.previous_columns("spark").items()]
    defs.append(f"{PARTITION} string")
    return (f"create table if not exists {spec.name} ({', '.join(defs)}) using parquet "
            f"partitioned by ({PARTITION})")


class SparkDelivery:
    """One delivery's staged files and the statements that merge them (see the module doc)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        root = os.environ.get(STAGING_ENV)
        if root:
            Path(root).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="balancewatch-load-", dir=root or None))
        self.files: dict[str, list[Path]] = {}
        self.log_rows: list[tuple[Any, ...]] = []

    def write_rows(self, spec: TableSpec, rows: Iterable[tuple[object, ...]]) -> tuple[int, int]:
        """Stage one file's rows; returns (inserted, updated) as the merge will count them:
        keys new to the table, and keys it holds. A key already staged by an earlier file of the
        delivery, or repeated in this one, is counted once (the caller reports repeats)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = [c.name for c in spec.columns] + ["_load_id"]
        types = [_ARROW[c.sql_type] for c in spec.columns] + ["int32"]
        schema = pa.schema(list(zip(names, types)))
        earlier = list(self.files.get(spec.name, []))
        path = self.folder / spec.name / f"{len(earlier):05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        iterator = iter(rows)
        with pq.ParquetWriter(path, schema) as writer:
            while batch := list(islice(iterator, _BATCH_ROWS)):
                columns = [pa.array(values, type=t) for values, t in zip(zip(*batch), types)]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        self.files.setdefault(spec.name, []).append(path)
        key = spec.primary_key.name
        new_keys = f"select distinct {key} from {_files([path])}"
        if earlier:
            new_keys += f" where {key} not in (select {key} from {_files(earlier)})"
        total, held = self.conn.execute(
            f"select count(*), count(t.{key}) from ({new_keys}) s "
            f"left join (select {key} from {spec.name}) t on s.{key} = t.{key}"
        ).fetchone()
        return int(total) - int(held), int(held)

    def log_file(self, values: tuple[Any, ...]) -> None:
        """A ``load_log`` row (without ``file_id``), appended after the merge."""
        self.log_rows.append(values)

    def repeated_keys(self, spec: TableSpec) -> bool:
        """Whether a key appears twice among the delivery's staged files of ``spec``."""
        if spec.name not in self.files:
            return False
        key = spec.primary_key.name
        return bool(self.conn.scalar(
            f"select count(*) from (select {key} from {_files(self.files[spec.name])} "
            f"group by {key} having count(*) > 1)"
        ))

    def finish(self, specs: Iterable[TableSpec]) -> None:
        """Merge every staged table, then append ``load_log``."""
        for spec in specs:
            if spec.name in self.files:
                self._merge(spec)
        first_id = self.conn.scalar("select coalesce(max(file_id), 0) + 1 from load_log")
        self.conn.executemany(
            "insert into load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(first_id + i, *values) for i, values in enumerate(self.log_rows)],
        )

    def _merge(self, spec: TableSpec) -> None:
        """One ``insert overwrite`` of the partitions a staged key leaves or enters."""
        key, table = spec.primary_key.name, spec.name
        stage = _files(self.files[table])
        month = f"substr(s.{partition_source(spec)}, 1, 7)"
        moves = self.conn.execute(
            f"select distinct t.{PARTITION}, {month} from {table} t join {stage} s "
            f"on t.{key} = s.{key}"
        ).fetchall()
        entered = {r[0] for r in self.conn.execute(f"select distinct {month} from {stage} s")}
        if not entered:  # files with a header only
            return
        left = {old for old, _ in moves}
        touched = ", ".join(literal(p) for p in sorted(left | entered))
        # a partition all of whose rows move to another month gets no output row, so the
        # overwrite would leave it as it was: it is dropped instead
        emptied = [p for p in sorted(left - entered) if not self.conn.scalar(
            f"select count(*) from {table} t where t.{PARTITION} = ? and not exists "
            f"(select 1 from {stage} s where s.{key} = t.{key})", (p,))]
        columns = [c.name for c in spec.columns] + ["_load_id"]
        kept = [*columns, *spec.previous_columns("spark"), PARTITION]
        staged = [f"s.{n}" for n in columns]
        for column in spec.kept_on_replace:  # the replaced version's values, as an upsert keeps
            staged.append(_previous(f"t.{column}", f"_previous_{column}", key))
        if spec.kept_on_replace:
            staged.append(_previous("t._load_id", "_previous_load_id", key))
        staged.append(f"{month} as {PARTITION}")
        self.conn.execute(f"""
            insert overwrite table {table} partition ({PARTITION})
            select {", ".join(kept)} from {table} t
            where t.{PARTITION} in ({touched})
                and not exists (select 1 from {stage} s where s.{key} = t.{key})
            union all
            select {", ".join(staged)} from {stage} s left join {table} t on s.{key} = t.{key}""")
        for value in emptied:
            self.conn.execute(f"alter table {table} drop if exists partition ({PARTITION} = ?)",
                              (value,))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _previous(replaced: str, name: str, key: str) -> str:
    """A kept column of a staged row: NULL for a new key, the replaced row's value otherwise, and
    its own kept value when the row already carries this load (a load run again)."""
    return (f"case when t.{key} is null then null when t._load_id = s._load_id then t.{name} "
            f"else {replaced} end as {name}")


def _files(paths: list[Path]) -> str:
    """A query source reading the staged parquet files ``paths``."""
    selects = [f"select * from parquet.`{path.resolve()}`" for path in paths]
    return f"({' union all '.join(selects)})"
