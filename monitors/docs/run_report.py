"""One HTML page per monitor run in the Data Docs site: what was evaluated, what was found, why.

Critical failures come first; then the three groups (swings on new days, swings found in late
data, alerts resolved), each swing with the invoices behind its day, its organization and a
balance chart (inline SVG, so the page works offline and anywhere it is hosted); last, links to
the run's GX validation pages. Plain HTML and inline CSS, no script, no external reference.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from balancewatch.warehouse import Connection, Warehouse
from monitors.alerts.digest import anomaly_why, is_anomaly, rules_label
from monitors.findings.results import (
    OrganizationContext,
    Resolution,
    SuiteSummary,
    SwingAlert,
)

RUNS_DIR = "runs"  # reports live in <site>/runs/<run file>.html
MAX_CHARTS = 50  # a report charts its largest swings only (SVG: ~10 kB a chart)
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #ddd; }
body { overflow-wrap: anywhere; } .fit { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; } th { overflow-wrap: normal; }
.swing { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
.swing h3 { margin: .3rem 0; font-size: 1.05rem; } .meta { color: #555; font-size: .9rem; }
.critical { background: #fdecea; border: 1px solid #a11; padding: .5rem 1rem; }
.ok { color: #17663a; } .warn { color: #8a5a00; } .fail { color: #a11; font-weight: bold; }
.chart svg { max-width: 100%; height: auto; }
"""


@dataclass(frozen=True)
class ValidationLink:
    """A GX validation page of this run (relative to the site root)."""

    suite: str
    page: str
    status: str  # "passed", "N warning(s)", "FAILED (N critical)"


@dataclass
class RunReport:
    """Everything the page shows, as plain values (``charts``: alert key -> inline SVG)."""

    run_name: str
    run_time: str  # GX's run time folder name, e.g. 20240501T101500.123456Z
    warehouse: str
    as_of: str | None
    window: str
    suites: Sequence[SuiteSummary] = ()
    swings: Sequence[SwingAlert] = ()
    late: Sequence[SwingAlert] = ()
    resolved: Sequence[Resolution] = ()
    contexts: dict[tuple, OrganizationContext] = field(default_factory=dict)
    charts: dict[tuple, str] = field(default_factory=dict)
    validations: Sequence[ValidationLink] = ()
    title: str = ""  # default: "balancewatch run <run name>"
    health: Sequence[str] = ()  # the run's data-health lines (stale data, resolved)

    @property
    def heading(self) -> str:
        """The page's title."""
        return self.title or f"balancewatch run {self.run_name}"

    @property
    def file_name(self) -> str:
        return f"{self.run_time}.html"

    @property
    def path(self) -> str:
        """Its URL path relative to the site root (what BALANCEWATCH_DOCS_URL is joined with)."""
        return f"{RUNS_DIR}/{self.file_name}"


def _e(value: object) -> str:
    return html.escape(str(value))


def _usd(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+,.1f}%"


def _critical_count(report: RunReport) -> int:
    return sum(s.failed("critical") for s in report.suites)


def _critical(report: RunReport) -> str:
    failures = [f for s in report.suites for f in s.failures if f.severity == "critical"]
    if not failures:
        return ""
    rows = "".join(f"<tr><td>{_e(f.suite)}</td><td>{_e(f.check)}</td>"
                   f"<td>{_e(f.observed)}</td></tr>" for f in failures)
    return ('<div class="critical" id="critical"><h2>Critical checks failed: the data cannot be '
            'trusted; nothing was recorded</h2><div class="fit"><table><tr><th>suite</th>'
            f"<th>check</th><th>observed</th></tr>{rows}</table></div></div>")


def _causes_table(swing: SwingAlert) -> str:
    if not swing.causes:
        return '<p class="meta">No invoice of this day has a balance effect (the previous day ' \
               "moved).</p>"
    rows = "".join(
        f"<tr><td>{c.invoice_id}</td><td>{_e(c.status)}</td><td>{_e(c.currency)}</td>"
        f'<td class="num">{c.amount:,.2f}</td><td class="num">{_usd(c.effect_usd)}</td>'
        f"<td>{_e(c.created_at).replace('T', '<wbr>T', 1)}</td><td>"
        + (f"load {c.changed_by_load_id}" + (f", was {_e(c.previous_status)}"
                                             if c.previous_status else ", new")
           if c.changed_by_load_id is not None else "")
        + "</td></tr>"
        for c in swing.causes
    )
    return ('<div class="fit"><table class="causes"><tr><th>invoice</th><th>status</th>'
            "<th>currency</th><th>amount</th><th>USD effect</th><th>created at (UTC)</th>"
            f"<th>changed by</th></tr>{rows}</table></div>")


def _context(context: OrganizationContext | None) -> str:
    if context is None:
        return ""
    org = ("orphan: not in the organizations export" if context.is_orphan else
           f"country code {context.legal_entity_country_code}, "
           f"{context.active_contract_count} active contract(s), payments "
           f"{context.first_payment_date or 'n/a'} to {context.last_payment_date or 'n/a'}")
    rest = (f"; {context.other_invoice_count} more invoice(s) of the day: "
            f"{_usd(context.other_effect_usd)}" if context.other_invoice_count else "")
    return (f'<p class="meta">Organization: {_e(org)}. The day\'s change: '
            f"{_usd(context.daily_change_usd)} from {context.invoice_count} invoice(s){rest}.</p>")


def _swing(report: RunReport, swing: SwingAlert) -> str:
    key = swing.key
    late = (f" · late data, restated by load {swing.load_id}" if swing.is_late and
            swing.load_id is not None else " · late data" if swing.is_late else "")
    reopened = " · re-opened" if swing.reopened else ""
    rules = f" · {rules_label(swing)}" if is_anomaly(swing) else ""
    why = f'<p class="meta">Why an anomaly: {_e(w)}.</p>' if (w := anomaly_why(swing)) else ""
    chart = report.charts.get(key)
    return (
        f'<div class="swing" id="org-{swing.organization_id}-{swing.balance_date}">'
        f"<h3>org {swing.organization_id} · {swing.balance_date} · "
        f"{_usd(swing.previous_balance_usd)} → {_usd(swing.balance_usd)} "
        f"({_pct(swing.change_pct)}, {_usd(swing.change_usd)}){_e(late)}{reopened}"
        f"{_e(rules)}</h3>{why}{_causes_table(swing)}{_context(report.contexts.get(key))}"
        + (f'<div class="chart">{chart}</div>' if chart else
           f'<p class="meta">No chart: only {_charted(report)} are charted.</p>'
           if report.charts else "")
        + "</div>"
    )


def _charted(report: RunReport) -> str:
    """Which swings have a chart: "the 50 largest swings (of 1,165)"."""
    listed = len(report.swings) + len(report.late)
    return f"the {len(report.charts):,} largest swings (of {listed:,})"


def _charts_note(report: RunReport) -> str:
    """A sentence saying that some swings are listed without a chart, when that is so."""
    if len(report.charts) >= len(report.swings) + len(report.late):
        return ""
    if not report.charts:
        return '<p class="meta">The swings are listed without charts.</p>'
    return (f'<p class="meta">Charts for {_charted(report)}; the rest are listed without a '
            "chart.</p>")


def _what(swings: Sequence[SwingAlert], words: str) -> str:
    """``words`` and `` and anomalies`` when the anomaly rule flagged one of ``swings``."""
    return words + (" and anomalies" if any(is_anomaly(s) for s in swings) else "")


def _group(report: RunReport, title: str, anchor: str, swings: Sequence[SwingAlert]) -> str:
    body = "".join(_swing(report, s) for s in swings) or "<p>None.</p>"
    return f'<h2 id="{anchor}">{_e(title)} ({len(swings)})</h2>{body}'


def render_report(report: RunReport) -> str:
    """The page as HTML text."""
    resolved = "".join(
        f"<tr><td>{r.organization_id}</td><td>{r.balance_date}</td><td>{_e(r.sentence)}</td></tr>"
        for r in report.resolved
    )
    links = "".join(
        f'<li><a href="../{_e(v.page)}">{_e(v.suite)}</a> — {_e(v.status)}</li>'
        for v in report.validations
    )
    suites = "".join(
        f"<li>{_e(s.suite)}: {s.passed}/{s.evaluated} expectations met</li>" for s in report.suites
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{_e(report.heading)}</title><style>{_STYLE}</style></head>
<body>
<p><a href="../index.html">All runs</a></p>
<h1>{_e(report.heading)}</h1>
<p class="meta">Warehouse {_e(report.warehouse)} · as of {_e(report.as_of or 'n/a')} ·
{_e(report.window)} · run {_e(report.run_time)}</p>
<p><a href="#new-days">{len(report.swings)} {_what(report.swings, "swing(s)")} on new days</a> ·
<a href="#late-data">{len(report.late)} found in late data</a> ·
<a href="#resolved">{len(report.resolved)} alert(s) resolved</a> ·
<a href="#checks">{_critical_count(report)} critical check(s) failed</a></p>
{_charts_note(report)}
<h2 id="data-health">Data health</h2>
{'<ul>' + ''.join(f'<li>{_e(line)}</li>' for line in report.health) + '</ul>'
 if report.health else '<p>Fresh: no data-health alert.</p>'}
{_critical(report)}
{_group(report, _what(report.swings, "Balance swings") + " on new days", "new-days",
        report.swings)}
{_group(report, "Swings found in late data", "late-data", report.late)}
<h2 id="resolved">Alerts resolved ({len(report.resolved)})</h2>
{f'<div class="fit"><table><tr><th>organization</th><th>day</th><th>why</th></tr>{resolved}'
 '</table></div>' if resolved else '<p>None.</p>'}
<h2 id="checks">Checks of this run</h2><ul>{suites}</ul>
<h2 id="validations">GX validation pages</h2><ul>{links or '<li>none</li>'}</ul>
</body></html>
"""


def write_report(site_dir: Path, report: RunReport) -> Path:
    """Write the page into ``site_dir/runs/``; returns its path."""
    path = site_dir / report.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(report), encoding="utf-8")
    return path


def stored_reports(site_dir: Path) -> list[Path]:
    """Every run report of the site, newest first."""
    return sorted((site_dir / RUNS_DIR).glob("*.html"), reverse=True)


def build_report(
    conn: Connection, base: RunReport, validations: Sequence[ValidationLink], *,
    max_charts: int = MAX_CHARTS,
) -> RunReport:
    """``base`` (the run's figures) with the stored evidence of every listed swing, the charts
    of the ``max_charts`` largest, and the run's validation pages."""
    from monitors.alerts.svg_chart import render_svg
    from monitors.findings.causes import balance_series, load_causes, load_context

    listed = [*base.swings, *base.late]
    causes = load_causes(conn, [s.key for s in listed])

    def full(swings: Sequence[SwingAlert]) -> list[SwingAlert]:
        return [replace(s, causes=causes.get(s.key, s.causes)) for s in swings]

    largest = sorted(listed, key=lambda s: -abs(s.change_usd))[:max_charts]
    charts = {
        s.key: render_svg(balance_series(conn, s.organization_id, s.balance_date, base.as_of),
                          organization_id=s.organization_id, flagged_day=s.balance_date,
                          previous_usd=s.previous_balance_usd, balance_usd=s.balance_usd,
                          change_pct=s.change_pct)
        for s in largest
    }
    contexts = {s.key: c for s in listed if (c := load_context(conn, s.key)) is not None}
    return replace(base, swings=full(base.swings), late=full(base.late), contexts=contexts,
                   charts=charts, validations=tuple(validations))


def validation_links(site_root: Path, run_time: str) -> list[ValidationLink]:
    """The GX validation pages of one run (by its run time), as the report links them."""
    from monitors.docs.site import stored_results

    links = []
    for entry in stored_results(site_root):
        if entry.run_time != run_time:
            continue
        status = ("passed" if entry.success else f"FAILED ({entry.critical_failed} critical)"
                  if entry.critical_failed else f"passed with {entry.failed} warning(s)")
        links.append(ValidationLink(entry.suite, entry.page, status))
    return links


def publish(warehouse: Warehouse, site_root: Path, base: RunReport) -> Path:
    """Build ``base``'s report from the warehouse, write it and the site's index again."""
    from monitors.docs.site import SITE_DIR, write_static_index

    with warehouse.connection(read_only=True) as conn:
        full = build_report(conn, base, validation_links(site_root, base.run_time))
    path = write_report(site_root / SITE_DIR, full)
    write_static_index(site_root)
    return path
