"""SQLite, PostgreSQL and Spark side by side: the same preset's cold stages, day +1, day +2 and a
run with nothing new, on each engine, measured the same way (one process per stage,
``balancewatch run`` for the follow-ups, ``make pipeline`` for nothing new). Spark runs on a local
Thrift Server the bench starts in its work folder, and also gets its own floor: the floor's
statements run by Spark itself (:mod:`bench.spark_floor`)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.data import Delivery
from bench.pipeline import run_incremental, run_make_pipeline, run_stages, stage_env
from bench.report import incremental_record, measured_record, stage_record

#: The PostgreSQL database the bench creates and drops (on the tests' server, docs/development.md).
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/balancewatch_bench")
ENGINES = ("sqlite", "postgres", "spark")


def start_spark(work: Path):  # noqa: ANN201 - a balancewatch.spark_server.SparkServer
    """A local Spark Thrift Server for the bench, on a free port (stop it when done)."""
    from balancewatch.spark_server import SparkServer, free_port

    server = SparkServer(work / "spark", free_port())
    server.start()
    return server


def measure_engine(
    engine: str, deliveries: tuple[Delivery, Delivery, Delivery], work: Path,
    available: dict[str, bool], spark_url: str | None = None,
) -> dict:
    """Every measurement of one engine on a fresh warehouse (dropped afterwards)."""
    from balancewatch.warehouse import parse

    base, day1, day2 = deliveries
    location = {"postgres": PG_URL, "spark": f"{spark_url}/balancewatch_bench"}.get(
        engine, str(work / f"{engine}.db"))
    warehouse = parse(location)
    warehouse.drop()
    logs = work / f"logs-{engine}"
    env = stage_env(warehouse.location(), work / f"dbt-{engine}")
    env["BALANCEWATCH_DOCS_DIR"] = str(work / f"{engine}-docs")  # PostgreSQL's site: here
    try:
        stages = [stage_record(s, None) for s in run_stages(base.directory, warehouse.location(),
                                                            logs, env, available)]
        record: dict = {"engine": engine, "warehouse": str(warehouse), "stages": stages}
        if all(s["status"] == "ran" for s in stages):
            cold = sum(s["seconds"] for s in stages)
            for key, delivery, name in (("day1", day1, "day1"), ("day2", day2, "day2")):
                run = run_incremental(delivery.directory, warehouse.location(), logs, env, name)
                record[key] = incremental_record(run, cold, {"days": 1 if key == "day1" else 2,
                                                             "invoice_rows": delivery.invoice_rows,
                                                             "organization_rows":
                                                                 delivery.organization_rows})
            record["nothing_new"] = measured_record(run_make_pipeline(
                day2.directory, warehouse.location(), logs / "nothing_new.log", env))
        if engine == "spark" and spark_url is not None:
            from bench.spark_floor import measure_spark_floor

            record["floor"] = measure_spark_floor(base.directory, spark_url)
        return record
    finally:
        warehouse.drop()


def side_by_side_lines(preset: str, engines: list[dict]) -> list[str]:
    """The printed comparison: one row per measure, one column per engine."""
    def seconds(record: dict, *path: str) -> str:
        value: object = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return "-" if value is None else f"{value:,.2f} s"

    def stage(record: dict, name: str) -> str:
        found = [s for s in record["stages"] if s["stage"] == name]
        return seconds(found[0], "seconds") if found else "-"

    def floor(record: dict) -> str:
        steps = record.get("floor") or {}
        return f"{sum(s['seconds'] for s in steps.values()):,.2f} s" if steps else "-"

    def over_floor(record: dict) -> str:
        steps = record.get("floor") or {}
        cold = [s.get("seconds") for s in record["stages"]]
        if not steps or not cold or None in cold:
            return "-"
        return f"{sum(cold) / sum(s['seconds'] for s in steps.values()):.2f}x"

    rows = [(f"{name} (cold)", [stage(e, name) for e in engines])
            for name in ("load", "build", "monitor")]
    rows += [("engine's own floor (spark: its SQL)", [floor(e) for e in engines]),
             ("cold pipeline / that floor", [over_floor(e) for e in engines])]
    rows += [(label, [seconds(e, key, "seconds") for e in engines])
             for label, key in (("day +1 via `balancewatch run`", "day1"),
                                ("day +2 via `balancewatch run`", "day2"),
                                ("nothing new via `make pipeline`", "nothing_new"))]
    head = f"{'engines side by side, preset ' + preset:<40}" + "".join(
        f"{e['engine']:>12}" for e in engines)
    lines = [head] + [f"{label:<40}" + "".join(f"{v:>12}" for v in values)
                      for label, values in rows]
    return lines + [f"  {e['engine']}: not measured: {e['error']}" for e in engines
                    if e.get("error")]
