"""Balance charts: PNG for Slack, inline-able SVG, deterministic bytes, clear errors."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from monitors.alerts.charts import (
    FLAG_COLOUR,
    chart_filename,
    chart_for,
    render_chart,
)
from monitors.findings.results import SwingAlert

SVG_NS = "http://www.w3.org/2000/svg"
ALLOWED_URLS = {SVG_NS, "http://www.w3.org/1999/xlink"}  # namespace names, never fetched
FLAGGED = "2026-11-15"


def days(first: str, values: list[float]) -> list[tuple[str, float]]:
    start = date.fromisoformat(first)
    return [((start + timedelta(days=i)).isoformat(), v) for i, v in enumerate(values)]


# 30 days at $1,000 (with a little noise), then the swing to $2,200 on the flagged day, 7 days after
SERIES = days("2026-10-16", [1000.0 + (i % 3) for i in range(29)] + [1000.0] + [2200.0] * 8)
FIGURES = dict(organization_id=42, flagged_day=FLAGGED, previous_usd=1000.0, balance_usd=2200.0,
               change_pct=120.0)


def png_pixels(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return imread(io.BytesIO(data), format="png")


def test_png_is_800_by_400_not_blank_and_marks_the_flagged_day() -> None:
    assert dict(SERIES)[FLAGGED] == 2200.0 and len(SERIES) == 38
    pixels = png_pixels(render_chart(SERIES, **FIGURES))
    assert pixels.shape[:2] == (400, 800)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05
    colours = np.unique((rgb * 255).round().astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 20
    flag = np.array(to_rgb(FLAG_COLOUR))
    near_flag = (np.abs(rgb - flag) < 0.03).all(axis=-1)
    assert near_flag.sum() > 50  # the red point, dashed line and label are drawn


def test_svg_is_self_contained_xml_with_its_labels_as_text() -> None:
    svg = render_chart(SERIES, **FIGURES, fmt="svg")
    assert svg.startswith(b"<svg") and b"DOCTYPE" not in svg and b"<?xml" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{{{SVG_NS}}}svg"
    urls = set(re.findall(rb"https?://[^\s\"'<>)]+", svg))
    assert {u.decode() for u in urls} <= ALLOWED_URLS
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.endswith("href"):
                assert value.startswith("#"), (name, value)
    text = " ".join(t.strip() for t in root.itertext() if t.strip())
    assert "$1,000.00 → $2,200.00 (+120.0%)" in text
    assert "Organization 42" in text and "2026-11-15" in text
    ids = {element.get("id") for element in root.iter()}
    assert {"flagged-day", "day-before", "balance"} <= ids
    assert "zero-line" not in ids  # the balance never crosses zero


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_same_input_gives_the_same_bytes(fmt: str) -> None:
    one = render_chart(SERIES, **FIGURES, fmt=fmt)
    two = render_chart(list(reversed(SERIES)), **FIGURES, fmt=fmt)  # order does not matter
    assert one == two
    assert b"Matplotlib v" not in one  # no version string (it would churn on upgrades)


def test_png_and_svg_name_no_software_or_date() -> None:
    svg = render_chart(SERIES, **FIGURES, fmt="svg")
    assert b"<metadata" not in svg and str(date.today().year).encode() + b"-" not in svg[:2000]
    assert b"tEXt" not in render_chart(SERIES, **FIGURES)


def test_sign_flip_draws_a_zero_line() -> None:
    series = days("2026-11-10", [500.0, 480.0, 510.0, 505.0, 500.0, -1200.0, -1150.0, -1100.0])
    figures = dict(FIGURES, previous_usd=500.0, balance_usd=-1200.0, change_pct=-340.0)
    svg = render_chart(series, **figures, fmt="svg")
    root = ET.fromstring(svg)
    assert "zero-line" in {element.get("id") for element in root.iter()}
    text = " ".join(root.itertext())
    assert "$500.00 → -$1,200.00 (-340.0%)" in text
    assert "-$1,000" in text  # a negative tick keeps its sign and separator
    assert png_pixels(render_chart(series, **figures)).shape[:2] == (400, 800)


def test_single_point_series_renders() -> None:
    series = [(FLAGGED, 2200.0)]
    png = render_chart(series, **FIGURES)
    assert png_pixels(png).shape[:2] == (400, 800)
    svg = render_chart(series, **FIGURES, fmt="svg")
    ids = {element.get("id") for element in ET.fromstring(svg).iter()}
    assert "flagged-day" in ids and "day-before" not in ids


def test_no_percentage_and_small_balances() -> None:
    series = days("2026-11-13", [0.30, 0.31, 0.90])
    figures = dict(FIGURES, previous_usd=0.31, balance_usd=0.90, change_pct=None)
    text = " ".join(ET.fromstring(render_chart(series, **figures, fmt="svg")).itertext())
    assert "$0.31 → $0.90" in text and "%" not in text
    assert "$0.50" in text or "$0.60" in text  # cents on the axis when the range is small


def test_flagged_day_not_in_series_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"flagged day 2026-12-01 is not in the series "
                                         r"\(2026-10-16 to 2026-11-22, 38 days\)"):
        render_chart(SERIES, **dict(FIGURES, flagged_day="2026-12-01"))


@pytest.mark.parametrize(
    ("series", "overrides", "message"),
    [
        ([], {}, "the series is empty"),
        ([("15/11/2026", 1.0)], {}, "is not an ISO date"),
        ([(FLAGGED, 1.0), (FLAGGED, 2.0)], {}, "has day 2026-11-15 twice"),
        ([(FLAGGED, 1.0)], {"fmt": "pdf"}, "unknown chart format 'pdf'"),
    ],
)
def test_bad_input_is_a_value_error(series: list, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        render_chart(series, **{**FIGURES, **overrides})


def test_chart_for_a_recorded_swing() -> None:
    swing = SwingAlert(42, FLAGGED, 1000.0, 2200.0, 1200.0, 120.0)
    assert chart_for(swing, SERIES, "svg") == render_chart(SERIES, **FIGURES, fmt="svg")
    assert chart_filename(42, FLAGGED) == "balance-42-2026-11-15.png"


def test_the_report_chart_is_light_svg_with_the_move_labelled() -> None:
    import xml.etree.ElementTree as ET

    from monitors.alerts.svg_chart import render_svg

    series = [("2024-01-01", 1000.0), ("2024-01-02", 1000.0), ("2024-01-03", -1200.0),
              ("2024-01-04", -1200.0)]
    svg = render_svg(series, organization_id=7, flagged_day="2024-01-03", previous_usd=1000.0,
                     balance_usd=-1200.0, change_pct=-220.0)
    root = ET.fromstring(svg)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Swing on 2024-01-03: $1,000.00 → -$1,200.00 (-220.0%)" in texts
    assert "Organization 7" in texts and "2024-01-01" in texts and "2024-01-04" in texts
    circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
    assert len(circles) == 2  # the day before and the flagged day
    assert 'stroke="#222"' in svg  # a zero line: the balance crosses zero
    assert "href" not in svg
    with pytest.raises(ValueError, match="not in the series"):
        render_svg(series, organization_id=7, flagged_day="2024-02-01", previous_usd=1.0,
                   balance_usd=2.0, change_pct=100.0)


# x-axis day labels: estimated extents, deliberately generous (a digit or hyphen of the usual
# sans-serif faces is at most 0.64 em wide: DejaVu Sans), then measured in a real browser
EM_PER_CHAR = 0.65
SHIFT = {"start": 0.0, "middle": 0.5, "end": 1.0}
# (days in the series, index of the flagged day): at the very end, next to it, at the start, ...
LABEL_CASES = [(38, 37), (38, 36), (38, 35), (38, 34), (38, 33), (38, 30), (38, 0), (38, 1),
               (38, 2), (31, 30), (31, 29), (20, 18), (8, 7), (8, 6), (5, 2), (3, 1), (2, 1),
               (2, 0), (1, 0)]


def flagged_series(length: int, flag: int) -> tuple[list[tuple[str, float]], str]:
    series = days("2024-03-01", [1000.0] * flag + [2500.0] * (length - flag))
    return series, series[flag][0]


def report_svg(length: int, flag: int) -> str:
    from monitors.alerts.svg_chart import render_svg

    series, flagged = flagged_series(length, flag)
    return render_svg(series, organization_id=7, flagged_day=flagged, previous_usd=1000.0,
                      balance_usd=2500.0, change_pct=150.0)


def assert_apart(labels: list[tuple[float, float, str]], width: float) -> None:
    """No two labels (left, right, text) overlap, and each is inside the picture."""
    labels = sorted(labels)
    for (_, right, one), (left, _, two) in zip(labels, labels[1:]):
        assert right <= left, f"{one!r} and {two!r} overlap: {labels}"
    assert all(0 <= left and right <= width for left, right, _ in labels), labels


def report_chart_day_labels(svg: str) -> list[tuple[float, float, str]]:
    """The report chart's x-axis labels (the text under its plot frame, not left of it: the USD
    ticks are there): (left, right, text)."""
    root = ET.fromstring(svg)
    frame = next(root.iter(f"{{{SVG_NS}}}rect"))
    bottom = float(frame.get("y")) + float(frame.get("height"))
    labels = []
    for text in root.iter(f"{{{SVG_NS}}}text"):
        if float(text.get("y")) > bottom and float(text.get("x")) >= float(frame.get("x")):
            size = float(text.get("font-size") or root.get("font-size"))
            width = len(text.text) * size * EM_PER_CHAR
            left = float(text.get("x")) - width * SHIFT[text.get("text-anchor", "start")]
            labels.append((left, left + width, text.text))
    return labels


@pytest.mark.parametrize(("length", "flag"), LABEL_CASES)
def test_report_chart_day_labels_never_overlap(length: int, flag: int) -> None:
    svg = report_svg(length, flag)
    labels = report_chart_day_labels(svg)
    _, flagged = flagged_series(length, flag)
    assert flagged in {text for *_, text in labels}  # the flagged day is always named
    assert_apart(labels, float(ET.fromstring(svg).get("width")))


def test_report_chart_names_the_first_flagged_and_last_days_when_there_is_room() -> None:
    labels = {text for *_, text in report_chart_day_labels(report_svg(38, 30))}
    assert labels == {"2024-03-01", "2024-03-31", "2024-04-07"}


def png_chart_tick_labels(svg: bytes) -> list[tuple[float, float, str]]:
    """The matplotlib chart's x tick labels, from its SVG twin: (left, right, text)."""
    root = ET.fromstring(svg)
    labels = []
    for tick in root.iter(f"{{{SVG_NS}}}g"):
        if not (tick.get("id") or "").startswith("xtick_"):
            continue
        for text in tick.iter(f"{{{SVG_NS}}}text"):
            style = dict(part.split(":", 1) for part in text.get("style").split(";"))
            style = {k.strip(): v.strip() for k, v in style.items()}
            width = len(text.text) * float(style["font-size"].removesuffix("px")) * EM_PER_CHAR
            left = float(text.get("x")) - width * SHIFT[style.get("text-anchor", "start")]
            labels.append((left, left + width, text.text))
    return labels


@pytest.mark.parametrize(("length", "flag"), LABEL_CASES)
def test_png_chart_tick_labels_never_overlap(length: int, flag: int) -> None:
    series, flagged = flagged_series(length, flag)
    svg = render_chart(series, **dict(FIGURES, flagged_day=flagged), fmt="svg")
    labels = png_chart_tick_labels(svg)
    assert len(labels) >= 2
    assert_apart(labels, float(ET.fromstring(svg).get("width").removesuffix("pt")))


LABEL_PROBE = """(() => [...document.querySelectorAll('svg')].map(svg => {
  const frame = svg.querySelector('rect').getBBox();
  return [...svg.querySelectorAll('text')].filter(t => t.getBBox().y > frame.y + frame.height)
    .map(t => { const b = t.getBBox(); return [b.x, b.x + b.width, t.textContent]; });
}))()"""


def test_report_chart_day_labels_measured_in_chromium_do_not_overlap(tmp_path) -> None:
    import shutil

    from tests.test_docs_assets import Chromium

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (CI installs it: scripts/ensure-system-packages.sh)")
    page = tmp_path / "charts.html"
    page.write_text("<!DOCTYPE html><meta charset='utf-8'><body>"
                    + "".join(report_svg(*case) for case in LABEL_CASES) + "</body>")
    browser = Chromium(chromium, tmp_path / "profile")
    try:
        measured, _, failed = browser.open(page.as_uri(), LABEL_PROBE)
    finally:
        browser.close()
    assert failed == [] and len(measured) == len(LABEL_CASES)
    for case, labels in zip(LABEL_CASES, measured):
        assert labels, case
        assert_apart([tuple(label) for label in labels], 720), case
