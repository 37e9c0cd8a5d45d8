"""The Spark floor: the floor's three steps as statements Spark itself runs, on the same server.

* load: each export read by Spark's CSV reader into a parquet table (``sql/spark_floor_load.sql``);
* build: ``fact_daily_balance`` as one statement (``sql/spark_floor_daily_balance.sql``);
* monitor: the floor's own swing statement (``sql/floor_swings.sql``, without its pragma).

Measured as wall seconds of the statements (the work happens in the server's JVM, which is not a
child of the bench), in a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.floor import SQL_DIR


def _statements(path: Path, **values: str) -> list[str]:
    text = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    text = text.format(**values) if values else text
    return [s.strip() for s in text.split(";") if s.strip() and not s.strip().startswith("pragma")]


def measure_spark_floor(delivery: Path, server_url: str) -> dict[str, dict[str, float | int]]:
    """Seconds (and rows) of the floor's load, build and monitor on Spark at ``server_url``."""
    from balancewatch.warehouse import parse

    warehouse = parse(f"{server_url.rstrip('/')}/balancewatch_spark_floor")
    warehouse.drop()
    steps = {
        "load": _statements(SQL_DIR / "spark_floor_load.sql",
                            organizations=str(delivery.resolve() / "organizations*.csv"),
                            invoices=str(delivery.resolve() / "invoices*.csv")),
        "build": _statements(SQL_DIR / "spark_floor_daily_balance.sql"),
        "monitor": _statements(SQL_DIR / "floor_swings.sql"),
    }
    counted = {"load": "invoices", "build": "fact_daily_balance", "monitor": "fact_daily_balance"}
    result: dict[str, dict[str, float | int]] = {}
    try:
        with warehouse.connection() as conn:
            for stage, statements in steps.items():
                started = time.perf_counter()
                for statement in statements:
                    last = conn.execute(statement).fetchall()
                seconds = time.perf_counter() - started
                rows = conn.scalar(f"select count(*) from {counted[stage]}")
                result[stage] = {"seconds": round(seconds, 3), "rows": int(rows)}
            # the swing statement's first column: how many swings (on every returned row)
            result["monitor"]["swings"] = int(last[0][0]) if last else 0
    finally:
        warehouse.drop()
    return result
