"""The one warehouse setting: a SQLite path or a PostgreSQL URL, and what each engine is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from balancewatch.cli import main
from balancewatch.warehouse import POSTGRES, SQLITE, WarehouseError, parse


def test_a_path_names_a_sqlite_file(tmp_path: Path) -> None:
    warehouse = parse(tmp_path / "w.db")
    assert (warehouse.kind, warehouse.path, warehouse.dialect) == (SQLITE, tmp_path / "w.db",
                                                                   "sqlite")
    env = warehouse.environment()
    assert env["BALANCEWATCH_SQLALCHEMY_URL"] == f"sqlite:///{tmp_path / 'w.db'}"
    assert env["BALANCEWATCH_DBT_TARGET"] == "warehouse"
    assert env["BALANCEWATCH_WAREHOUSE"] == str(tmp_path / "w.db")


def test_a_url_names_a_postgresql_database_and_hides_its_password() -> None:
    warehouse = parse("postgresql://bw:s3cret@db.example:6543/balances")
    assert (warehouse.kind, warehouse.host, warehouse.port, warehouse.dbname) == (
        POSTGRES, "db.example", 6543, "balances"
    )
    assert str(warehouse) == "postgresql://bw@db.example:6543/balances"
    env = warehouse.environment()
    assert env["BALANCEWATCH_DBT_TARGET"] == "postgres"
    assert env["BALANCEWATCH_PG_PASSWORD"] == "s3cret"
    assert env["BALANCEWATCH_SQLALCHEMY_URL"] == (
        "postgresql+psycopg://bw:s3cret@db.example:6543/balances?options=-csearch_path%3Dmain"
    )
    assert parse(env["BALANCEWATCH_WAREHOUSE"]) == warehouse


@pytest.mark.parametrize(
    "value, message",
    [
        ("postgresql://postgres@127.0.0.1:5432/", "must name a database"),
        ("mysql://root@localhost/db", "unsupported warehouse URL mysql://"),
    ],
)
def test_bad_settings_are_usage_errors(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(WarehouseError, match=message):
        parse(value)
    assert main(["load", "--warehouse", value]) == 2
    assert message in capsys.readouterr().err


def test_unreachable_server_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--warehouse", "postgresql://postgres@127.0.0.1:1/nowhere"]) == 2
    assert "cannot connect to postgresql://postgres@127.0.0.1:1/nowhere" in capsys.readouterr().err
