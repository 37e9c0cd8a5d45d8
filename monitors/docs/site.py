"""A warehouse's Data Docs site: a static index that lists the runs offline, and pruning.

GX's own ``index.html`` draws its table of runs with scripts loaded from CDNs, so a browser with
no network shows an empty page. :func:`write_static_index` replaces it with plain HTML (no script,
no external stylesheet) listing every stored validation result, newest first, each linked to its
page. :func:`prune_results` keeps the newest ``keep_runs`` runs per suite and deletes older
results and their pages (GX never deletes anything).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# under a warehouse's site root (balancewatch.settings.docs_dir_for): GX's stores write there
VALIDATIONS_DIR = Path("validations")
SITE_DIR = Path("site")
DEFAULT_KEEP_RUNS = 30


@dataclass(frozen=True)
class RunEntry:
    """One stored validation result (one suite in one run)."""

    suite: str
    run_name: str
    run_time: str
    success: bool
    evaluated: int
    failed: int
    critical_failed: int
    result_path: Path  # .json under uncommitted/validations
    page: str  # relative URL of its Data Docs page (may not exist)


def stored_results(root: Path) -> list[RunEntry]:
    """Every validation result in the store, newest run first."""
    base = root / VALIDATIONS_DIR
    entries = []
    for path in base.rglob("*.json"):
        rel = path.relative_to(base)
        if len(rel.parts) < 4:  # suite/run_name/run_time/batch.json (suite names may nest)
            continue
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        stats = doc.get("statistics") or {}
        critical = sum(
            1 for r in doc.get("results") or []
            if not r.get("success")
            and ((r.get("expectation_config") or {}).get("severity") or "critical") == "critical"
        )
        entries.append(
            RunEntry(
                suite=doc.get("suite_name") or "/".join(rel.parts[:-3]),
                run_name=rel.parts[-3],
                run_time=rel.parts[-2],
                success=bool(doc.get("success")),
                evaluated=int(stats.get("evaluated_expectations") or 0),
                failed=int(stats.get("unsuccessful_expectations") or 0),
                critical_failed=critical,
                result_path=path,
                page=(Path("validations") / rel.with_suffix(".html")).as_posix(),
            )
        )
    return sorted(entries, key=lambda e: (e.run_time, e.suite), reverse=True)


def prune_results(root: Path, keep_runs: int = DEFAULT_KEEP_RUNS) -> int:
    """Delete results (and their pages) beyond the newest ``keep_runs`` runs of each suite."""
    by_suite: dict[str, list[RunEntry]] = {}
    for entry in stored_results(root):
        by_suite.setdefault(entry.suite, []).append(entry)
    removed = 0
    for entries in by_suite.values():
        run_times = sorted({e.run_time for e in entries}, reverse=True)
        old = set(run_times[keep_runs:])
        for entry in entries:
            if entry.run_time in old:
                entry.result_path.unlink(missing_ok=True)
                page = root / SITE_DIR / entry.page
                page.unlink(missing_ok=True)
                _remove_empty_parents(entry.result_path.parent, root / VALIDATIONS_DIR)
                _remove_empty_parents(page.parent, root / SITE_DIR / "validations")
                removed += 1
    return removed


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        shutil.rmtree(folder)
        folder = folder.parent


_TITLE = re.compile(r"<title>balancewatch run ([^<]*)</title>")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
th { background: #f3f3f3; }
.ok { color: #17663a; } .warn { color: #8a5a00; } .fail { color: #a11; font-weight: bold; }
"""


def _readable_time(run_time: str) -> str:
    """'20240501T101500.123456Z' -> '2024-05-01 10:15:00'."""
    t = run_time
    if len(t) >= 15 and t[8] == "T":
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]} {t[9:11]}:{t[11:13]}:{t[13:15]}"
    return t


def _report_rows(reports: list[Path]) -> str:
    rows = []
    for path in reports:
        title = _TITLE.search(path.read_text(encoding="utf-8", errors="replace"))
        name = title.group(1) if title else path.stem
        rows.append(f'<tr class="report"><td>{html.escape(_readable_time(path.stem))}</td>'
                    f'<td><a href="runs/{html.escape(path.name)}">{name}</a></td></tr>')
    return "\n".join(rows) or '<tr><td colspan="2">No monitor run yet.</td></tr>'


def render_index(entries: list[RunEntry], suites: list[str], reports: list[Path] = ()) -> str:
    """The static index page as HTML text: the run reports, then every validation result."""
    rows = []
    for e in entries:
        if e.success:
            status = '<span class="ok">passed</span>'
        elif e.critical_failed:
            status = f'<span class="fail">FAILED ({e.critical_failed} critical)</span>'
        else:
            status = f'<span class="warn">{e.failed} warning(s)</span>'
        rows.append(
            '<tr class="run">'
            f"<td>{html.escape(_readable_time(e.run_time))}</td><td>{html.escape(e.run_name)}</td>"
            f"<td>{html.escape(e.suite)}</td><td>{status}</td>"
            f"<td>{e.evaluated - e.failed} / {e.evaluated}</td>"
            f'<td><a href="{html.escape(e.page)}">results</a></td></tr>'
        )
    suite_links = "".join(
        f'<li><a href="expectations/{html.escape(s)}.html">{html.escape(s)}</a></li>'
        for s in suites
    )
    body = "\n".join(rows) or '<tr><td colspan="6">No validation results yet.</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>balancewatch Data Docs</title>
<style>{_STYLE}</style></head>
<body>
<h1>balancewatch Data Docs</h1>
<h2>Monitor runs</h2>
<p>One report per run: what it evaluated, each swing with its invoices and chart, what resolved.
</p>
<table id="reports"><thead><tr><th>Run time (UTC)</th><th>Report</th></tr></thead>
<tbody>
{_report_rows(list(reports))}
</tbody></table>
<h2>Validation results</h2>
<p>{len(entries)} validation result(s), newest first. This page needs no network.</p>
<table id="runs">
<thead><tr><th>Run time (UTC)</th><th>Run</th><th>Suite</th><th>Status</th>
<th>Expectations met</th><th>Page</th></tr></thead>
<tbody>
{body}
</tbody></table>
<h2>Expectation suites</h2><ul>{suite_links}</ul>
</body></html>
"""


def write_static_index(root: Path) -> Path:
    """Overwrite the site's ``index.html`` with the static run list; returns its path."""
    site = root / SITE_DIR
    site.mkdir(parents=True, exist_ok=True)
    suites = sorted(p.stem for p in (site / "expectations").glob("*.html"))
    index = site / "index.html"
    entries = stored_results(root)
    kept = {e.run_time for e in entries}  # a run's report goes when its results are pruned
    reports = []
    for report in sorted((site / "runs").glob("*.html"), reverse=True):
        if report.stem in kept:
            reports.append(report)
        else:
            report.unlink()
    index.write_text(render_index(entries, suites, reports))
    return index
