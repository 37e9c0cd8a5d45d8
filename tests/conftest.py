"""Shared fixtures: a fresh warehouse per test, on SQLite, PostgreSQL or Spark.

End-to-end tests take the ``engine`` fixture (or ``module_engine`` for module-scoped set-ups) and
run once per engine: SQLite and PostgreSQL always, Spark too in modules (or tests) marked
``pytest.mark.spark``. A PostgreSQL or Spark warehouse is a database of its own,
``bw_test_<random>``, created for the test and dropped afterwards. PostgreSQL: the server
``$BALANCEWATCH_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432``). Spark: one local
Thrift Server for the whole session, started by the first Spark test in a temporary folder on a
free port and stopped at the end (``$BALANCEWATCH_TEST_SPARK=spark://host:port`` uses a running
one instead). A server that cannot be reached or started is a test failure, not a skip: CI must
prove every engine. ``BALANCEWATCH_TEST_ENGINES=sqlite`` (or ``sqlite,postgres``) runs only those.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from balancewatch.warehouse import POSTGRES, SPARK, SQLITE, Warehouse, WarehouseError, parse
from tests.slack_server import FakeSlack
from tests.spark_session import spark_server_url, stop_spark_server

SERVER = os.environ.get("BALANCEWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ENGINES = tuple(
    e.strip()
    for e in os.environ.get("BALANCEWATCH_TEST_ENGINES", "sqlite,postgres,spark").split(",")
)


@pytest.fixture(scope="session", autouse=True)
def _stop_test_spark_server() -> Iterator[None]:
    """Stop the session's Spark Thrift Server (if a test started one) and remove its folder."""
    yield
    stop_spark_server()


@pytest.fixture(scope="session", autouse=True)
def _run_date() -> None:
    """Runs happen on 2024-05-01 unless a test says otherwise (``--today``): the day after the
    shipped sample's as-of date, so the sample is fresh and the tests do not depend on the clock
    (a test of the freshness check sets its own dates)."""
    os.environ.setdefault("BALANCEWATCH_TODAY", "2024-05-01")


@pytest.fixture(scope="session", autouse=True)
def _site_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A GX site root for tests that open the context without a monitor run having set one (so
    they pass in any order, on any xdist worker, and never write under warehouse/)."""
    from balancewatch.settings import SITE_ROOT_ENV

    if not os.environ.get(SITE_ROOT_ENV):
        os.environ[SITE_ROOT_ENV] = str(tmp_path_factory.mktemp("site-root"))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for ``pytest -n 2 --dist loadgroup`` (``make test``): every test that talks to Spark
    in one group, so one worker starts the one Spark Thrift Server and both workers never share
    it; every other test grouped by module, so a module-scoped warehouse is built once."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        engines = {params.get("engine"), params.get("module_engine")}
        uses_spark = SPARK in engines or "spark" in item.module.__name__.rsplit(".", 1)[-1]
        group = "spark" if uses_spark else item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))


def _engines(marked_spark: bool) -> list[str]:
    wanted = (SQLITE, POSTGRES, SPARK) if marked_spark else (SQLITE, POSTGRES)
    return [e for e in wanted if e in ENGINES]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``engine`` / ``module_engine``: each engine in turn (Spark only where marked ``spark``)."""
    spark = metafunc.definition.get_closest_marker("spark") is not None
    explicit = {name.strip() for marker in metafunc.definition.iter_markers("parametrize")
                for name in str(marker.args[0]).split(",")}
    for name, scope in (("engine", "function"), ("module_engine", "module")):
        if name in metafunc.fixturenames and name not in explicit:
            metafunc.parametrize(name, _engines(spark), indirect=True, scope=scope)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet (in a folder that does)."""
    (tmp_path / "warehouse").mkdir()
    return tmp_path / "warehouse" / "test.db"


@contextmanager
def fresh_warehouse(kind: str, folder: Path) -> Iterator[Warehouse]:
    """A warehouse that does not exist yet: a file under ``folder``, or a database name that is
    dropped (with everything in it) when the block ends."""
    if kind == SQLITE:
        (folder / "warehouse").mkdir(parents=True, exist_ok=True)
        yield parse(folder / "warehouse" / "test.db")
        return
    server = spark_server_url() if kind == SPARK else SERVER.rstrip("/")
    database = parse(f"{server}/bw_test_{secrets.token_hex(6)}")
    try:
        database.exists()
    except WarehouseError as exc:
        pytest.fail(f"{kind} test server unreachable ({exc}); start it, or set "
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


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: ``sqlite``, ``postgres`` (and ``spark``; see pytest_generate_tests)."""
    return request.param


@pytest.fixture(scope="module")
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


def project_with_vars(root: Path, **overrides: object) -> Path:
    """A project root whose dbt vars are the repository's with ``overrides``, and whose gx/ is
    built from them, as `make gx` would."""
    from balancewatch.settings import REPO_ROOT
    from monitors.gx_project.setup import setup

    variables = (yaml.safe_load((REPO_ROOT / "dbt" / "dbt_project.yml").read_text())
                 or {}).get("vars") or {}
    (root / "dbt").mkdir(parents=True, exist_ok=True)
    (root / "dbt" / "dbt_project.yml").write_text(
        yaml.safe_dump({"vars": {**variables, **overrides}}))
    setup(root)
    return root


def swing_only_project(root: Path) -> Path:
    """A project root whose dbt vars turn the anomaly rule off (``anomaly_enabled: false``): for
    tests whose oracle knows swings only."""
    return project_with_vars(root, anomaly_enabled=False)


@pytest.fixture
def swing_project(tmp_path: Path) -> Path:
    """:func:`swing_only_project` under ``tmp_path``."""
    return swing_only_project(tmp_path / "swing-project")
