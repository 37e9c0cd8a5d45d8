"""``python -m bench``: generate (or reuse) the data, measure the pipeline and the floor, report.

    python -m bench                      # full preset (12.7M invoices): docs/performance.md
    python -m bench --preset tiny        # seconds; what tests/test_bench.py runs
    python -m bench --preset medium --keep --out bench/out

Exit status: 0 every available stage ran (targets may be missed: see the report), 1 a stage or
the floor failed, 2 bad usage or the sqlite3 shell is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import report as rep
from bench.data import Delivery, ensure_delivery
from bench.engines import ENGINES, measure_engine, side_by_side_lines, start_spark
from bench.floor import FloorUnavailable, measure_floor, sqlite3_shell
from bench.pipeline import (
    SAMPLE_DIR,
    available_subcommands,
    run_incremental,
    run_make_pipeline,
    run_stages,
    stage_env,
)
from bench.presets import DEFAULT_PRESET, DEFAULT_SEED, PRESETS, BenchPreset

# After the full run: the delivery of day +1 (2024-05-01 for the full preset: the 1st of a month,
# when a third of a month's invoices are created), then the one of day +2, a typical day: the
# "one new day" target is judged on the second.
MONTHLY_DAY, NEW_DAY = 1, 2
NOTES = (
    "each stage is a separate `python -m balancewatch STAGE` process on a fresh warehouse with a "
    "fresh dbt target directory (cold: full dbt parse); `make pipeline` runs them in one process",
    "the floor's `.import` stores empty CSV fields as '' (not NULL) and checks nothing; its "
    "build and swing statements hard-code the default balance rule and threshold",
    "timings are wall-clock on a shared machine: compare the load averages before trusting a ratio",
)


def _health_checks(warehouse: Path | str) -> dict[str, float] | None:
    """The data-health checks' own cost on day +2's scope (None, and a line, if they fail)."""
    from bench.health_checks import time_health_checks

    try:
        return time_health_checks(str(warehouse))
    except Exception as exc:  # noqa: BLE001 - a bench measure, not the run's outcome
        print(f"bench: data-health checks not timed: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the pipeline against the SQLite floor."
    )
    parser.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--out", type=Path, default=Path("bench/out"), help="report and work directory"
    )
    parser.add_argument(
        "--cache", type=Path, help="where generated data is kept and reused (default OUT/data)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the warehouses (default: delete them)"
    )
    parser.add_argument(
        "--engines-preset", choices=[*PRESETS, "none"], default="small",
        help="the preset the engines are also measured on, side by side (default small)",
    )
    parser.add_argument(
        "--engines", default=",".join(ENGINES),
        help=f"which engines, comma-separated (default {','.join(ENGINES)})",
    )
    return parser.parse_args(argv)


def _delivery_record(delivery: Delivery, days: int | None = None) -> dict:
    record = {
        "directory": str(delivery.directory),
        "invoice_rows": delivery.invoice_rows,
        "organization_rows": delivery.organization_rows,
        "bytes": delivery.bytes,
        "generated_now": delivery.generated,
        "generate_seconds": round(delivery.seconds, 2),
    }
    if days is not None:
        record["days"] = days
    return record


def _fresh_work_dir(work: Path) -> None:
    for name in ("pipeline.db", "pipeline.db-journal", "floor.db", "floor.db-journal",
                 "sample.db"):
        (work / name).unlink(missing_ok=True)
    for name in ("dbt", "dbt-sample", "logs", "pipeline-docs", "sample-docs"):
        shutil.rmtree(work / name, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)


def _main_run_as_engine(report: dict) -> dict:
    """The main run's SQLite measurements in the engines' record shape (same preset: measuring
    SQLite again would repeat the same runs)."""
    inc = report["incremental"]
    return {
        "engine": "sqlite", "warehouse": "the main run's", "stages": report["stages"],
        "day1": inc["before"],
        "day2": {k: v for k, v in inc.items() if k not in ("before", "nothing_new", "sample")},
        "nothing_new": inc.get("nothing_new"),
    }


def _engines(preset: BenchPreset, cache: Path, seed: int, out: Path,
             available: dict[str, bool], engines: list[str], measured: dict[str, dict]) -> dict:
    """The engines measured on ``preset`` (a server's failure is recorded, not raised);
    ``measured``: records already taken (the main run's SQLite on the same preset)."""
    print(f"bench: engines side by side on preset {preset.name}...", file=sys.stderr)
    deliveries = (
        ensure_delivery(cache, preset, seed),
        ensure_delivery(cache, preset, seed, follow_up_days=MONTHLY_DAY),
        ensure_delivery(cache, preset, seed, follow_up_days=NEW_DAY, follow_up_from=NEW_DAY),
    )
    work = out / f"work-engines-{preset.name}"
    results = []
    spark = None
    try:
        for engine in engines:
            if engine in measured:
                results.append(measured[engine])
                continue
            try:
                if engine == "spark" and spark is None:
                    spark = start_spark(work)
                url = spark.url().rsplit("/", 1)[0] if spark is not None else None
                results.append(measure_engine(engine, deliveries, work, available, url))
            except Exception as exc:  # noqa: BLE001 - e.g. no server: say so, go on
                results.append({"engine": engine, "error": f"{type(exc).__name__}: {exc}",
                                "stages": []})
    finally:
        if spark is not None:
            spark.stop()
    return {"preset": preset.name, "results": results}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        print(f"bench: unknown engine(s) {', '.join(unknown)} (known: {', '.join(ENGINES)})",
              file=sys.stderr)
        return 2
    preset = PRESETS[args.preset]
    out = args.out.resolve()
    cache = (args.cache or out / "data").resolve()
    try:
        _, sqlite3_version = sqlite3_shell()
    except FloorUnavailable as missing:
        print(f"bench: {missing}", file=sys.stderr)
        return 2

    print(f"bench: preset {preset.name}: {preset.description}", file=sys.stderr)
    base = ensure_delivery(cache, preset, args.seed)
    monthly = ensure_delivery(cache, preset, args.seed, follow_up_days=MONTHLY_DAY)
    follow_up = ensure_delivery(
        cache, preset, args.seed, follow_up_days=NEW_DAY, follow_up_from=NEW_DAY
    )
    available = available_subcommands()

    work = out / f"work-{preset.name}"
    _fresh_work_dir(work)
    logs = work / "logs"
    warehouse = work / "pipeline.db"
    env = stage_env(warehouse, work / "dbt")
    load_before = os.getloadavg()

    print("bench: pipeline stages...", file=sys.stderr)
    stages = run_stages(base.directory, warehouse, logs, env, available)
    print("bench: floor...", file=sys.stderr)
    try:
        floors = {f.stage: f for f in measure_floor(base.directory, work / "floor.db", logs)}
    except RuntimeError as failed:
        print(f"bench: {failed}", file=sys.stderr)
        return 1
    incremental = monthly_run = health_checks = None
    if available["run"] and all(s.status != "failed" for s in stages):
        print("bench: incremental runs (day +1, then day +2)...", file=sys.stderr)
        monthly_run = run_incremental(monthly.directory, warehouse, logs, env, "day1")
        incremental = run_incremental(follow_up.directory, warehouse, logs, env, "day2")
        health_checks = _health_checks(warehouse)
        print("bench: nothing new (day +2 again), then the sample on a fresh warehouse...",
              file=sys.stderr)
        nothing_new = run_make_pipeline(follow_up.directory, warehouse, logs / "nothing_new.log",
                                        env)
        sample_env = stage_env(work / "sample.db", work / "dbt-sample")
        sample = run_make_pipeline(SAMPLE_DIR, work / "sample.db", logs / "sample.log",
                                   sample_env)

    stage_records = [rep.stage_record(s, floors.get(s.stage)) for s in stages]
    summary = rep.summarize(stage_records)
    inc_record = rep.incremental_record(
        incremental, summary["pipeline_seconds"], _delivery_record(follow_up, NEW_DAY)
    )
    inc_record["before"] = rep.incremental_record(
        monthly_run, summary["pipeline_seconds"], _delivery_record(monthly, MONTHLY_DAY)
    )
    if incremental is not None:
        inc_record["nothing_new"] = rep.measured_record(nothing_new)
        inc_record["sample"] = rep.measured_record(sample)
        inc_record["health_checks"] = health_checks
    report = {
        "preset": preset.name,
        "preset_description": preset.description,
        "seed": args.seed,
        "generator_args": list(preset.generator_args),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "sqlite3_version": sqlite3_version,
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "data": _delivery_record(base),
        "subcommands": available,
        "stages": stage_records,
        "summary": summary,
        "incremental": inc_record,
        "notes": list(NOTES),
    }
    report["targets"] = rep.judge_targets(preset.name, summary, inc_record)

    if args.engines_preset != "none":
        same = args.engines_preset == args.preset and incremental is not None
        measured = {"sqlite": _main_run_as_engine(report)} if same else {}
        report["engines"] = _engines(PRESETS[args.engines_preset], cache, args.seed, out,
                                     available, engines, measured)

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"report-{preset.name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(rep.render(report))
    if "engines" in report:
        print()
        print("\n".join(side_by_side_lines(report["engines"]["preset"],
                                           report["engines"]["results"])))
    print(f"\nreport: {path}")
    if not args.keep:
        for name in ("pipeline.db", "floor.db", "sample.db"):
            (work / name).unlink(missing_ok=True)
        for name in ("dbt", "dbt-sample"):
            shutil.rmtree(work / name, ignore_errors=True)
    runs = (inc_record, inc_record.get("nothing_new") or {}, inc_record.get("sample") or {})
    failed = any(s.status == "failed" for s in stages) or any(
        record.get("status") == "failed" for record in runs)
    return 1 if failed else 0
