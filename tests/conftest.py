"""Shared fixtures: a fresh warehouse per test, on SQLite or on PostgreSQL.

End-to-end tests take the ``engine`` fixture (or ``module_engine`` for module-scoped set-ups) and
run once per engine. A PostgreSQL warehouse is a database of its own, ``bw_test_<random>``, created
for the test and dropped afterwards, on the server ``$BALANCEWATCH_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432``). A server that cannot be reached is a test failure, not a
skip: CI must prove both engines. ``BALANCEWATCH_TEST_ENGINES=sqlite`` runs SQLite only (local
work without a server).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from balancewatch.warehouse import POSTGRES, SQLITE, Warehouse, WarehouseError, parse
from tests.slack_server import FakeSlack

SERVER = os.environ.get("BALANCEWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ENGINES = tuple(
    e.strip() for e in os.environ.get("BALANCEWATCH_TEST_ENGINES", "sqlite,postgres").split(",")
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet."""
    return tmp_path / "warehouse" / "test.db"


@contextmanager
def fresh_warehouse(kind: str, folder: Path) -> Iterator[Warehouse]:
    """A warehouse that does not exist yet: a file under ``folder``, or a database name that is
    dropped (with everything in it) when the block ends."""
    if kind == SQLITE:
        yield parse(folder / "warehouse" / "test.db")
        return
    database = parse(f"{SERVER.rstrip('/')}/bw_test_{secrets.token_hex(6)}")
    try:
        database.exists()
    except WarehouseError as exc:
        pytest.fail(f"PostgreSQL test server unreachable ({exc}); start it, or set "
                    "BALANCEWATCH_TEST_ENGINES=sqlite to test SQLite only")
    from balancewatch.settings import DOCS_DIR_ENV

    saved = os.environ.get(DOCS_DIR_ENV)
    os.environ[DOCS_DIR_ENV] = str(folder / f"{database.dbname}-docs")  # its site: the test's
    try:
        yield database
    finally:
        database.drop()
        if saved is None:
            os.environ.pop(DOCS_DIR_ENV, None)
        else:
            os.environ[DOCS_DIR_ENV] = saved


@contextmanager
def copied_warehouse(source: Warehouse, folder: Path) -> Iterator[Warehouse]:
    """A copy of ``source`` (a file copy, or ``create database ... template``), removed after."""
    with fresh_warehouse(source.kind, folder) as copy:
        if source.kind == SQLITE:
            assert copy.path is not None and source.path is not None
            copy.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.path, copy.path)
        else:
            copy.create(template=source)
        yield copy


@pytest.fixture(params=[e for e in (SQLITE, POSTGRES) if e in ENGINES])
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: ``sqlite``, ``postgres``."""
    return request.param


@pytest.fixture(scope="module", params=[e for e in (SQLITE, POSTGRES) if e in ENGINES])
def module_engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn, for module-scoped set-ups (built once per engine)."""
    return request.param


@pytest.fixture
def engine_warehouse(engine: str, tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse on ``engine`` that does not exist yet (dropped after the test)."""
    with fresh_warehouse(engine, tmp_path) as warehouse:
        yield warehouse


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A Slack-API-compatible server on 127.0.0.1 for the test."""
    with FakeSlack() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the committed gx/ files, so monitor runs never write into the repo."""
    from balancewatch.settings import GX_DIR
    from monitors.gx_project.setup import _committed_files

    for rel, path in _committed_files(GX_DIR).items():
        target = tmp_path / "project" / "gx" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return tmp_path / "project"
