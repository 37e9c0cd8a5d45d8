"""Find primary keys given more than once in one delivery (the slow path, run only on error)."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from loaders.errors import ProblemCollector, ValueProblem
from loaders.schema import TableSpec


def _keys_with_lines(path: Path, header: str) -> Iterator[tuple[str, int]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        index = next(reader).index(header)
        end_line = reader.line_num
        for row in reader:
            line, end_line = end_line + 1, reader.line_num
            if row:
                yield row[index], line


def find_repeated_keys(paths: list[Path], spec: TableSpec) -> ProblemCollector:
    """Every repeat of a key after its first appearance, with where it first appeared."""
    header = spec.primary_key.header
    problems = ProblemCollector()
    scratch = sqlite3.connect("")  # a private temporary file: bounded memory at any size
    scratch.execute("create table seen (key integer, file text, line integer)")
    for path in paths:
        rows = ((int(key), path.name, line) for key, line in _keys_with_lines(path, header))
        scratch.executemany("insert into seen values (?, ?, ?)", rows)
    scratch.execute("create index seen_key on seen (key)")
    repeats = scratch.execute(
        """
        select key, file, line, first_file, first_line from (
            select rowid as seq, key, file, line,
                   first_value(file) over w as first_file,
                   first_value(line) over w as first_line,
                   row_number() over w as occurrence
            from seen
            window w as (partition by key order by rowid)
        )
        where occurrence > 1
        order by seq
        """
    )
    for key, file, line, first_file, first_line in repeats:
        reason = f"duplicate {header} in this delivery (first at {first_file}:{first_line})"
        problems.add(ValueProblem(file, line, header, str(key), reason))
    scratch.close()
    return problems
