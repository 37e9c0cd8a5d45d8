"""Operating the CLI: --version, one run at a time per warehouse (a waiting run, a busy exit, a
killed run's lock), and a --since after the as-of date refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from balancewatch.warehouse import Warehouse
from tests.deel_csv import invoice, organization, write_delivery

REPO = Path(__file__).resolve().parent.parent
HOLD = """
import sys, time
from pathlib import Path
from balancewatch.run_lock import run_lock
from balancewatch.warehouse import parse
with run_lock(parse(sys.argv[1]), 0):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    Path(sys.argv[3]).write_text("released")
"""


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "balancewatch", *args], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=300)


def hold(warehouse: Warehouse, seconds: float, marker: Path) -> subprocess.Popen:
    """Another process holding the warehouse's run lock for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, warehouse.location(), str(seconds),
                               str(marker)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def tiny_delivery(folder: Path) -> Path:
    return write_delivery(folder, [organization()], [invoice()])


def test_version() -> None:
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip().startswith("balancewatch 0.")


def test_a_second_run_exits_2_naming_the_holder_when_it_cannot_wait(
    engine_warehouse: Warehouse, tmp_path: Path
) -> None:
    holder = hold(engine_warehouse, 30, tmp_path / "released")
    try:
        done = cli("load", str(tiny_delivery(tmp_path / "d")), "--warehouse",
                   engine_warehouse.location(), "--lock-wait", "0.5")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    assert "another balancewatch run holds" in done.stderr and "--lock-wait" in done.stderr
    assert f"pid {holder.pid} on {socket.gethostname()} since 20" in done.stderr


def test_a_waiting_run_says_whom_it_waits_for_and_goes_on_once_the_other_finishes(
    engine_warehouse: Warehouse, tmp_path: Path
) -> None:
    marker = tmp_path / "released"
    holder = hold(engine_warehouse, 3, marker)
    done = cli("load", str(tiny_delivery(tmp_path / "d")), "--warehouse",
               engine_warehouse.location(), "--lock-wait", "60")
    holder.wait()
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "released"  # it ran after the holder let go, not alongside
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"balancewatch: waiting up to 60 s for the run holding the lock of "
                            f"{engine_warehouse} (pid {holder.pid} on {socket.gethostname()} "
                            "since 20"), first
    assert sum(line.startswith("balancewatch: waiting") for line in done.stdout.splitlines()) == 1


def test_a_killed_runs_lock_does_not_block(tmp_path: Path) -> None:
    from balancewatch.warehouse import parse

    warehouse = parse(tmp_path / "w.db")
    holder = hold(warehouse, 600, tmp_path / "released")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    from balancewatch.run_lock import lock_path

    assert lock_path(warehouse).exists()  # the file stays; the lock went with the process
    done = cli("load", str(tiny_delivery(tmp_path / "d")), "--warehouse", str(warehouse.path),
               "--lock-wait", "0")
    assert done.returncode == 0, done.stderr


def test_since_after_the_as_of_date_is_refused(tmp_path: Path, project: Path) -> None:
    pytest.importorskip("great_expectations")
    from tests.test_monitor_run import day, run, steady_invoices, write_warehouse

    write_warehouse(tmp_path / "w.db", steady_invoices(5))
    report, out = run(tmp_path / "w.db", project, since=day(6))
    assert report.exit_code == 2
    assert f"--since {day(6)} is after the as-of date {day(5)}" in out


def help_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What ``balancewatch ARGS --help`` prints, its whitespace collapsed (no line-wrap effects)."""
    from balancewatch.cli import main

    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("action", ["list", "show", "ack", "mute", "unmute"])
def test_alerts_help_offers_only_the_warehouse_and_says_it_must_exist(capsys, action) -> None:
    out = help_of(capsys, "alerts", action)
    assert "--verbose" not in out and "--lock-wait" not in out
    assert "--warehouse WAREHOUSE" in out and "must exist" in out
    assert "created if missing" not in out


@pytest.mark.parametrize("args, wanted", [
    (("list",), ["--status {pending,sent,resolved,acknowledged,muted} only alerts in this status",
                 "--org ID only this organization's alerts",
                 "--since DAY alerts on this day or later"]),
    (("show",), ["ORG the organization's id", "DAY the alert's balance day"]),
    (("ack",), ["ORG the organization's id", "DAY the alert's balance day",
                "--note NOTE why", "--verdict {expected,incident,false-positive} expected"]),
    (("mute",), ["ORG the organization's id", "--until DAY the last day",
                 "--reason REASON why"]),
    (("unmute",), ["ORG the organization's id"]),
])
def test_every_alerts_argument_has_help(capsys, args, wanted) -> None:
    out = help_of(capsys, "alerts", *args)
    for text in wanted:
        assert text in out, text


def test_every_alerts_argument_has_help_text_in_the_parser() -> None:
    import argparse

    from balancewatch.cli import build_parser

    alerts = build_parser()._subparsers._group_actions[0].choices["alerts"]
    actions = alerts._subparsers._group_actions[0].choices
    for name, parser in actions.items():
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"alerts {name} {action.dest}"


@pytest.mark.parametrize("stage", ["load", "build", "monitor", "run"])
def test_pipeline_stages_keep_verbose_lock_wait_and_a_warehouse_created_if_missing(
    capsys, stage
) -> None:
    out = help_of(capsys, stage)
    assert "--verbose" in out and "--lock-wait SECONDS" in out and "created if missing" in out
