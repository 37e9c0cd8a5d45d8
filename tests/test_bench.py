"""The benchmark on the tiny preset: the report has its shape and the floor and ratios were
measured. No timing assertions (the machine is shared; numbers are the report's business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.presets import PRESETS
from bench.report import TARGETS
from loaders.schema import TABLES

REPO_ROOT = Path(__file__).resolve().parent.parent
FLOOR_SCHEMA = REPO_ROOT / "bench" / "sql" / "floor_schema.sql"



@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """``python -m bench --preset tiny`` once for the module: its JSON report and its output."""
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        # Spark's side of the bench costs minutes even at tiny; tests/test_spark_floor.py checks
        # its floor, the pipeline on Spark has its own end-to-end tests
        ["make", "--no-print-directory", "bench", "PRESET=tiny", "ENGINES_PRESET=tiny",
         "BENCH_ENGINES=sqlite,postgres", f"BENCH_OUT={out}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "report-tiny.json").read_text()), done.stdout


def test_report_has_every_stage_measured_or_explained(tiny_report: tuple[dict, str]) -> None:
    report, _ = tiny_report
    assert report["preset"] == "tiny"
    assert [s["stage"] for s in report["stages"]] == ["load", "build", "monitor"]
    for stage in report["stages"]:
        if stage["status"] == "skipped":
            assert stage["reason"]
            continue
        assert stage["status"] == "ran", stage
        assert stage["seconds"] > 0
        assert stage["rows"] > 0
        assert stage["rows_per_second"] > 0
        assert stage["peak_rss_mb"] > 0
    load = report["stages"][0]
    assert load["status"] == "ran"
    assert load["rows"] == report["data"]["invoice_rows"]


def test_floor_and_ratios_were_measured(tiny_report: tuple[dict, str]) -> None:
    report, _ = tiny_report
    for stage in report["stages"]:
        floor = stage["floor"]
        assert floor["seconds"] > 0
        assert floor["rows"] > 0
        assert floor["peak_rss_mb"] > 0
        if stage["status"] == "ran":
            assert stage["ratio"] > 0
            assert floor["rows_match"] is True, stage["stage"]
    assert report["summary"]["overall_ratio"] > 0


def test_incremental_and_targets_are_reported(tiny_report: tuple[dict, str]) -> None:
    report, stdout = tiny_report
    incremental = report["incremental"]
    for run, day in ((incremental["before"], 1), (incremental, 2)):  # day +1, then day +2
        assert run["status"] == "ran" and run["exit_code"] in (0, 1)
        assert run["seconds"] > 0
        assert run["share_of_full_run"] > 0
        assert run["delivery"]["days"] == day and run["delivery"]["invoice_rows"] > 0
        assert set(run["stages_in_run"]) == {"load", "build", "monitor"}
        assert set(run["found"]) == {"new_day_swings", "new_day_anomalies",
                                     "new_day_anomalies_also_swings", "late_data_swings",
                                     "resolved_alerts"}
    for key in ("nothing_new", "sample"):  # `make pipeline` again on day +2; on the sample
        assert incremental[key]["status"] == "ran" and incremental[key]["exit_code"] == 0
        assert incremental[key]["seconds"] > 0 and "pipeline" in incremental[key]["command"]
    nothing_new = Path(incremental["nothing_new"]["log"]).read_text()
    assert "run: nothing new: load 3 built and checked" in nothing_new
    assert "BALANCE SWINGS: 31 day(s)" in Path(incremental["sample"]["log"]).read_text()
    assert [t["target"] for t in report["targets"]] == [t[0] for t in TARGETS]
    judged = {t["target"]: t for t in report["targets"]}
    assert judged["nothing_new_s"]["value"] == incremental["nothing_new"]["seconds"]
    assert judged["nothing_new_s"]["status"] in ("pass", "miss")  # judged at every preset
    for target in report["targets"]:
        assert target["status"] in ("pass", "miss", "incomplete", "not measured") or target[
            "status"
        ].startswith("n/a")
    for line in ("÷ floor", "day +1 (day +1:", "one new day (day +2:", "pipeline / floor, overall",
                 "nothing new (`make pipeline`):", "sample, fresh warehouse (`make pipeline`):",
                 "`make pipeline` with nothing new", "peak RSS of any stage at full scale",
                 "swing(s), ", "anomaly(ies) (", "of them swings too) on new days,",
                 "in late data,", "alert(s) resolved"):
        assert line in stdout


def test_both_engines_are_measured_side_by_side(tiny_report: tuple[dict, str]) -> None:
    report, stdout = tiny_report
    engines = report["engines"]
    assert engines["preset"] == "tiny"
    assert [e["engine"] for e in engines["results"]] == ["sqlite", "postgres"]
    for engine in engines["results"]:
        assert "error" not in engine, engine.get("error")
        assert [s["status"] for s in engine["stages"]] == ["ran", "ran", "ran"]
        assert engine["stages"][0]["rows"] == report["data"]["invoice_rows"]  # both loaded all
        for key in ("day1", "day2"):
            assert engine[key]["status"] == "ran" and engine[key]["seconds"] > 0
            assert set(engine[key]["stages_in_run"]) == {"load", "build", "monitor"}
        assert engine["nothing_new"]["exit_code"] == 0
        assert "run: nothing new" in Path(engine["nothing_new"]["log"]).read_text()
    sqlite, postgres = engines["results"]
    assert sqlite["day2"]["found"] == postgres["day2"]["found"]  # the same swings
    assert "engines side by side, preset tiny" in stdout
    assert "nothing new via `make pipeline`" in stdout


def test_missing_sqlite3_shell_says_how_to_install(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--preset", "tiny", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},  # no sqlite3 on it
    )
    assert done.returncode == 2
    assert "apt-get install -y sqlite3" in done.stderr
    assert not list(tmp_path.iterdir())


def test_floor_schema_follows_the_loader() -> None:
    """The floor imports into the loader's columns, types and keys (minus ``_load_id``)."""
    ddl = FLOOR_SCHEMA.read_text()
    for spec in TABLES:
        body = ddl.split(f"create table {spec.name} (", 1)[1].split(");", 1)[0]
        columns = [line.strip().rstrip(",").split()[:2] for line in body.strip().splitlines()]
        assert [c[0] for c in columns] == [c.name for c in spec.columns]
        assert [c[1] for c in columns] == [c.sql_type for c in spec.columns]
        assert "primary key" in body.splitlines()[1]


def test_presets_cover_the_issue() -> None:
    assert list(PRESETS) == ["tiny", "small", "medium", "full"]
