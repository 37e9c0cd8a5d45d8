"""The SQLite incremental upsert (dbt/macros/materializations/sqlite_incremental_upsert.sql), on a
one-model dbt project of its own: known keys are updated in place, new keys inserted, and a batch
that repeats a key fails instead of keeping one of its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from balancewatch.settings import DBT_DIR

MACRO = DBT_DIR / "macros" / "materializations" / "sqlite_incremental_upsert.sql"
# var('batch') picks the rows a run builds; the first run builds the table, later runs merge
MODEL = """
{{ config(materialized='incremental', unique_key=['day', 'org'], post_hook=
    "create unique index if not exists main.balances_key on balances (day, org)") }}
{% set batches = {
    'first': [('2024-01-01', 1, 10), ('2024-01-01', 2, 20)],
    'second': [('2024-01-01', 2, 25), ('2024-01-02', 1, 11)],
    'repeated': [('2024-01-03', 1, 30), ('2024-01-03', 1, 31)],
} %}
{% for day, org, amount in batches[var('batch')] %}
select '{{ day }}' as day, {{ org }} as org, {{ amount }} as amount
{% if not loop.last %}union all{% endif %}
{% endfor %}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: upsert_check\nversion: '1.0'\nconfig-version: 2\nprofile: upsert_check\n"
    )
    (root / "profiles.yml").write_text(
        "upsert_check:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n"
        "      threads: 1\n      database: main\n      schema: main\n"
        f"      schemas_and_paths:\n        main: {tmp_path / 'upsert.db'}\n"
        f"      schema_directory: {tmp_path / 'no-extra-schemas'}\n"
    )
    (root / "macros" / MACRO.name).write_text(MACRO.read_text())
    (root / "models" / "balances.sql").write_text(MODEL)
    return root


def run(project: Path, batch: str) -> bool:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([
        "run", "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(project / "target"), "--log-path", str(project / "logs"),
        "--vars", f"{{batch: {batch}}}", "--quiet",
    ])
    return result.success


def rows(project: Path) -> list[tuple]:
    with sqlite3.connect(project.parent / "upsert.db") as conn:
        return conn.execute("select day, org, amount from balances order by day, org").fetchall()


def test_known_keys_are_updated_and_new_keys_inserted(project: Path) -> None:
    assert run(project, "first")
    assert run(project, "second")
    assert rows(project) == [("2024-01-01", 1, 10), ("2024-01-01", 2, 25), ("2024-01-02", 1, 11)]


def test_a_batch_repeating_a_key_fails_and_changes_nothing(project: Path) -> None:
    assert run(project, "first")
    assert not run(project, "repeated")
    assert rows(project) == [("2024-01-01", 1, 10), ("2024-01-01", 2, 20)]
