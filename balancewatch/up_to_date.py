"""Whether a run has anything left to do after its load: the nothing-new path of ``run``.

When the load found every file already loaded, the run stops there (no dbt, no GX import: the
warehouse is not touched) if all of these hold, and says why in one line:

* the last successful build covered the newest load, with the dbt and GX projects exactly as they
  are now (:func:`project_fingerprint`, stored in ``build_log``);
* the last passing monitor run checked that load, and the watermark is at that build's as-of day;
* nothing waits for Slack when Slack is configured: no unsent alert, resolution or chart.

``--force`` (and ``--since``, ``--full-check``, ``--full-refresh``) runs every stage anyway.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from balancewatch.settings import DBT_DIR, GX_DIR
from balancewatch.warehouse import Connection, Warehouse
from monitors.checks.scope import LAST_PASSED
from monitors.findings import alert_records, watermark

#: Generated folders inside the projects: not part of what a build or a check depends on.
GENERATED = {"target", "logs", "dbt_packages", "uncommitted", "__pycache__"}


def project_fingerprint(folders: tuple[Path, ...] = (DBT_DIR, GX_DIR)) -> str:
    """SHA-256 over the names and contents of every project file (generated folders left out)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not GENERATED & set(relative.parts):
                digest.update(f"{folder.name}/{relative.as_posix()}\0".encode())
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest()


def _state(conn: Connection) -> str | None:
    """Why the warehouse is up to date (None: a stage has work)."""
    names = conn.table_names()
    if not {"load_log", "build_log", "monitor_scope", "monitor_state"} <= set(names):
        return None
    if "project_hash" not in conn.column_names("build_log"):
        return None
    newest = conn.scalar("select coalesce(max(load_id), 0) from load_log")
    built = conn.execute("select load_id, as_of_date, project_hash from build_log "
                         "order by built_at desc limit 1").fetchone()
    if built is None or built[0] != newest or built[2] != project_fingerprint():
        return None
    checked = conn.scalar("select through_load_id from monitor_scope where scope_name = ?",
                          (LAST_PASSED,))
    last_day = watermark.last_evaluated(conn)
    if checked != newest or last_day is None or last_day != built[1]:
        return None
    return f"load {newest} built and checked, watermark at {last_day}"


def _waiting_for_slack(conn: Connection) -> int:
    from monitors.alerts.slack_delivery import SlackSettings

    if SlackSettings.from_env().mode is None or "balance_alerts" not in conn.table_names():
        return 0
    return alert_records.count_unsent(conn)


def up_to_date(warehouse: Warehouse) -> str | None:
    """One line saying why nothing is left to do, or None when build or monitor has work."""
    if not warehouse.exists():
        return None
    with warehouse.connection(read_only=True) as conn:
        state = _state(conn)
        if state is None or _waiting_for_slack(conn):
            return None
    return f"nothing new: {state}, nothing waiting for Slack"
