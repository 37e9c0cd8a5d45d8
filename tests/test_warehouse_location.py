"""A SQLite warehouse that cannot be written is refused up front: one line naming the path and the
reason, exit 2, nothing written. A folder that does not exist is refused too (a typo), except the
repository's default ``warehouse/`` folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deel_csv import invoice, organization, write_delivery

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "balancewatch", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """``chattr +i``: not even root may write it (mode bits do not stop root)."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    return write_delivery(tmp_path / "delivery", [organization()], [invoice()])


def assert_refused(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("command", ["load", "run", "build", "monitor"])
def test_a_warehouse_under_proc_is_refused_without_a_traceback(command: str, delivery: Path
                                                                ) -> None:
    args = [command, str(delivery)] if command in ("load", "run") else [command]
    done = cli(*args, "--warehouse", "/proc/bw.db")
    assert_refused(done, "/proc/bw.db", "No such file or directory")


def test_a_read_only_folder_is_refused_and_left_empty(tmp_path: Path, delivery: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    with immutable(folder):
        done = cli("load", str(delivery), "--warehouse", str(folder / "bw.db"))
    assert_refused(done, str(folder / "bw.db"), "Operation not permitted")
    assert list(folder.iterdir()) == []


def test_an_immutable_warehouse_file_is_refused_and_unchanged(tmp_path: Path, delivery: Path
                                                               ) -> None:
    warehouse = tmp_path / "bw.db"
    assert cli("load", str(delivery), "--warehouse", str(warehouse)).returncode == 0
    before = warehouse.read_bytes()
    other = write_delivery(tmp_path / "other", [organization(ORGANIZATION_ID="7")],
                           [invoice(INVOICE_ID="8", ORGANIZATION_ID="7")])
    with immutable(warehouse):
        done = cli("load", str(other), "--warehouse", str(warehouse))
        ack = cli("alerts", "mute", "7", "--until", "2999-01-01", "--reason", "x",
                  "--warehouse", str(warehouse))
    assert_refused(done, str(warehouse), "Operation not permitted")
    assert_refused(ack, str(warehouse), "Operation not permitted")
    assert warehouse.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bw-docs", "bw.db", "delivery", "other"]


def test_a_warehouse_that_is_a_folder_is_refused(tmp_path: Path, delivery: Path) -> None:
    assert_refused(cli("load", str(delivery), "--warehouse", str(tmp_path)),
                   str(tmp_path), "is a folder")


def test_a_missing_folder_is_refused_not_created(tmp_path: Path, delivery: Path) -> None:
    typo = tmp_path / "warehuose" / "bw.db"
    done = cli("run", str(delivery), "--warehouse", str(typo))
    assert_refused(done, str(typo.parent), "does not exist")
    assert not typo.parent.exists()


def test_the_default_warehouse_folder_may_still_be_created(tmp_path: Path) -> None:
    """The check lets a missing default ``warehouse/`` folder through (what a fresh clone's
    ``make pipeline`` needs); run in a copy so the repository's own folder is never touched."""
    from balancewatch.location import check_sqlite_location
    from balancewatch.warehouse import WarehouseError, parse

    default_folder = tmp_path / "clone" / "warehouse"
    check_sqlite_location(parse(default_folder / "balancewatch.db"), default_folder)
    with pytest.raises(WarehouseError, match="does not exist"):
        check_sqlite_location(parse(tmp_path / "clone" / "elsewhere" / "bw.db"), default_folder)
