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
