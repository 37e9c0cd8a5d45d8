"""A run with nothing new does nothing: no dbt, no GX, the warehouse byte-for-byte as it was;
``--force``, a new load, a changed project or an alert waiting for Slack make it run again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from balancewatch.up_to_date import project_fingerprint
from tests.inprocess import run_cli
from tests.slack_server import refused_url
from tests.test_cli_ops import REPO

pytest.importorskip("great_expectations")
SAMPLE = str(REPO / "data" / "sample")
PROBE = """
import sys
from balancewatch.cli import main
status = main(["run", sys.argv[1], "--warehouse", sys.argv[2]])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"dbt", "great_expectations"})
print("probe:", status, heavy or "none")
"""


@pytest.fixture(scope="module")
def monitored_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample loaded, built and monitored once (Slack off)."""
    warehouse = tmp_path_factory.mktemp("once") / "w.db"
    done = run_cli("run", SAMPLE, "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stdout + done.stderr
    return warehouse


@pytest.fixture
def warehouse(monitored_once: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "w.db"
    shutil.copyfile(monitored_once, copy)
    return copy


def test_nothing_new_imports_neither_dbt_nor_gx_and_writes_nothing(warehouse: Path) -> None:
    before = warehouse.read_bytes()
    done = subprocess.run([sys.executable, "-c", PROBE, SAMPLE, str(warehouse)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "probe: 0 none" in done.stdout
    assert ("run: nothing new: load 1 built and checked, watermark at 2024-04-30, nothing "
            "waiting for Slack; build and monitor skipped (--force runs them)") in done.stdout
    assert "build:" not in done.stdout and "monitor:" not in done.stdout
    assert warehouse.read_bytes() == before
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["w-docs", "w.db"]


def test_force_runs_every_stage(warehouse: Path) -> None:
    done = run_cli("run", SAMPLE, "--warehouse", str(warehouse), "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "build: dbt build on" in done.stdout and "BALANCE SWINGS: no new days" in done.stdout
    assert "run: nothing new" not in done.stdout


def test_an_alert_waiting_for_slack_makes_the_run_go_on(warehouse: Path) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": "local-test-token", "SLACK_CHANNEL": "#alerts",
           "SLACK_API_URL": refused_url()}
    done = run_cli("run", SAMPLE, "--warehouse", str(warehouse), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "build: dbt build on" in done.stdout
    # the sample's first run: 31 swings and 5 anomalies that are not swings, a day once
    assert "slack: NOT delivered" in done.stdout and "36 alert(s) stay pending" in done.stdout


def test_the_project_fingerprint_follows_project_files_only(tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.sql").write_text("select 1")
    first = project_fingerprint((project,))
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")  # generated: not the project
    assert project_fingerprint((project,)) == first
    (project / "models" / "m.sql").write_text("select 2")
    assert project_fingerprint((project,)) != first
