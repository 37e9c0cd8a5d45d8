"""The run report page on the shipped sample: each swing's invoices, organization and chart; the
index lists it; it opens in headless Chromium with no network; each warehouse has its own site."""

from __future__ import annotations

import html
import io
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from balancewatch.build import build
from balancewatch.settings import SAMPLE_DIR, docs_dir_for
from balancewatch.warehouse import Warehouse, parse
from loaders import load_delivery
from monitors.docs.site import SITE_DIR
from monitors.run import MonitorReport, run_monitor
from tests.test_docs_assets import EXTERNAL, Chromium

LARGEST_PLANTED = "-8868877026281107500"  # data/sample/PLANTED.md: +300% from one EUR payment
PLANTED_INVOICE = "-5506689813387812186"  # ... paid EUR 281,899.30 = $307,256.53
SAMPLE_DAYS_ALERTED = 36  # first run on the sample: 31 swings + 5 anomalies that are not swings
CHART_PROBE = """(() => {
  const charts = [...document.querySelectorAll('.chart svg')];
  const sizes = charts.map(svg => svg.getBoundingClientRect()).map(r => r.width * r.height);
  return {charts: charts.length, visible: sizes.filter(a => a > 10000).length,
          images: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length,
          text: document.body.innerText};
})()"""


def _page_text(page: Path) -> str:
    """A page's text: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page.read_text())))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample loaded and built once (SQLite), not monitored: the fixtures below copy it."""
    root = tmp_path_factory.mktemp("built")
    warehouse = parse(root / "sample.db")
    load_delivery(SAMPLE_DIR, warehouse)
    assert build(warehouse, target_path=root / "dbt-target") == 0
    return warehouse.path


def _monitored(root: Path, built: Path, **options: int) -> tuple[Warehouse, MonitorReport]:
    """A copy of ``built`` monitored once, with its own GX project and site."""
    from balancewatch.settings import GX_DIR
    from monitors.gx_project.setup import sync

    sync(GX_DIR, root / "project" / "gx")
    warehouse = parse(root / "sample.db")
    shutil.copyfile(built, warehouse.path)
    report = run_monitor(warehouse, project_root=root / "project", notify_slack=False,
                         out=io.StringIO(), **options)
    assert report.exit_code == 0
    return warehouse, report


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, built: Path,
           ) -> Iterator[tuple[Warehouse, MonitorReport]]:
    """The sample's first run: the last 30 days."""
    yield _monitored(tmp_path_factory.mktemp("report"), built)


@pytest.fixture(scope="module")
def every_day(tmp_path_factory: pytest.TempPathFactory, built: Path,
              ) -> tuple[Warehouse, MonitorReport]:
    """A first run over the sample's whole history: hundreds of swings, more than are charted."""
    return _monitored(tmp_path_factory.mktemp("every-day"), built, first_run_days=3000)


def test_the_report_shows_each_swing_with_its_cause_and_chart(sample) -> None:
    warehouse, report = sample
    page = Path(report.docs_index)
    assert page.parent.name == "runs" and page.is_file()
    assert page.is_relative_to(docs_dir_for(warehouse))  # beside the warehouse, not in gx/
    text = page.read_text()
    assert not EXTERNAL.search(text) and "<script" not in text  # nothing loaded from elsewhere
    swing = text.split(f'id="org-{LARGEST_PLANTED}-2024-04-20"')[1].split('class="swing"')[0]
    first_cause = swing.split('<table class="causes">')[1].split("</tr>")[1]  # row after header
    assert PLANTED_INVOICE in first_cause and "$307,256.53" in first_cause and "EUR" in first_cause
    assert "<svg" in swing and "+300.0%" in swing  # its chart, with the move labelled
    # 31 swings (16 of them anomalies too, one entry each) and 5 anomalies that are not swings
    assert report.swing_total == 31 and len(report.anomalies) == 21
    assert text.count('class="swing"') == SAMPLE_DAYS_ALERTED == 36
    assert "Balance swings and anomalies on new days (36)" in text
    assert "Alerts resolved (0)" in text
    index = (page.parent.parent / "index.html").read_text()
    assert f'href="runs/{page.name}"' in index
    for link in text.split('href="../')[1:]:  # the run's GX validation pages exist
        target = link.split('"')[0]
        assert (page.parent.parent / target).is_file(), target


def test_the_report_opens_offline_with_its_charts_visible(sample, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (CI installs it: scripts/ensure-system-packages.sh)")
    _, report = sample
    browser = Chromium(chromium, tmp_path / "profile")
    try:
        probe, requested, failed = browser.open(Path(report.docs_index).as_uri(), CHART_PROBE)
    finally:
        browser.close()
    assert requested and all(u.startswith(("file://", "data:")) for u in requested), requested
    assert failed == [] and probe["images"] == 0  # no broken image
    assert probe["charts"] == SAMPLE_DAYS_ALERTED and probe["visible"] == SAMPLE_DAYS_ALERTED
    assert f"org {LARGEST_PLANTED} · 2024-04-20" in probe["text"]


def test_two_warehouses_keep_two_sites(sample, tmp_path: Path) -> None:
    warehouse, report = sample
    other = parse(tmp_path / "other.db")
    shutil.copyfile(warehouse.path, other.path)
    from balancewatch.settings import GX_DIR
    from monitors.gx_project.setup import sync

    sync(GX_DIR, tmp_path / "project" / "gx")
    again = run_monitor(other, project_root=tmp_path / "project", notify_slack=False,
                        out=io.StringIO())
    assert again.exit_code == 0
    first, second = docs_dir_for(warehouse), docs_dir_for(other)
    assert first != second and Path(again.docs_index).is_relative_to(second)
    assert len(list((first / SITE_DIR / "runs").glob("*.html"))) == 1  # untouched by the other
    assert len(list((second / SITE_DIR / "runs").glob("*.html"))) == 1
    assert not (tmp_path / "project" / "gx" / "uncommitted").exists()


PAGE_WIDTH_PROBE = """(() => {
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .map(e => e.tagName + (e.className ? '.' + e.className : ''));
  return {page: document.documentElement.scrollWidth, view: innerWidth,
          tables: document.querySelectorAll('table.causes').length, wide: wide.slice(0, 10)};
})()"""


def test_the_report_fits_an_800_px_window(sample, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (CI installs it: scripts/ensure-system-packages.sh)")
    _, report = sample
    browser = Chromium(chromium, tmp_path / "profile")
    try:
        probe, _, failed = browser.open(Path(report.docs_index).as_uri(), PAGE_WIDTH_PROBE,
                                        width=800)
    finally:
        browser.close()
    assert failed == [] and probe["view"] == 800 and probe["tables"] == SAMPLE_DAYS_ALERTED
    assert probe["page"] <= probe["view"], probe  # no sideways scrolling of the page
    assert probe["wide"] == [], probe  # nothing (a cause table, a chart) sticks out of it


def test_a_run_with_more_swings_than_charts_says_which_are_charted(every_day) -> None:
    warehouse, report = every_day
    with closing(sqlite3.connect(warehouse.path)) as db:
        recorded = db.execute("select count(*) from (select distinct organization_id, "
                              "balance_date from balance_alerts)").fetchone()[0]  # a day once
        largest = {f"org-{o}-{d}" for o, d in db.execute(
            "select organization_id, balance_date from balance_alerts group by 1, 2 "
            "order by max(abs(change_usd)) desc limit 50")}
        swings = db.execute("select count(*) from balance_alerts "
                            "where rule = 'balance_swing'").fetchone()[0]
    assert swings == report.swing_total > 50 and recorded > swings
    assert (f"Charts for the 50 largest swings (of {recorded:,}); the rest are listed without a "
            "chart." in _page_text(Path(report.docs_index)))
    text = Path(report.docs_index).read_text()
    charted = {block.split('"')[0] for block in text.split('<div class="swing" id="')[1:]
               if "<svg" in block}
    assert charted == largest  # the 50 largest by USD moved, as the sentence says


def test_the_swing_check_names_its_first_day_not_a_parameter_dict(sample) -> None:
    warehouse, _ = sample
    site = docs_dir_for(warehouse) / SITE_DIR
    suite_page = _page_text(site / "expectations" / "fact_daily_balance.html")
    validation, = (site / "validations" / "fact_daily_balance").rglob("*.html")
    run_page = _page_text(validation)
    for text in (suite_page, run_page):
        assert "$PARAMETER" not in text and "{'" not in text
    sentence = ("balance_usd of each organization_id must not move by more than 50% of its value "
                "on the calendar day before (balance_date from ")
    assert sentence + "the run's first evaluated day (swing_window_start))." in suite_page
    assert sentence + "2024-04-01)." in run_page  # the day this run evaluated from
