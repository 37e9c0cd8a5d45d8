"""The report: one dict (saved as JSON), the issue's targets judged on it, the printed table."""

from __future__ import annotations

from typing import Any

from bench.floor import FloorStage
from bench.measure import Measurement
from bench.pipeline import IncrementalResult, StageResult

GB = 1024.0  # MB per GB (RSS is reported in MiB)

ANY = "any"  # a target judged at every preset
#: The targets: (id, what, limit, unit, the preset at which the target is judged).
TARGETS = (
    ("nothing_new_s", "`make pipeline` with nothing new", 2.0, "s", ANY),
    ("incremental_s", "one new day on top of full history (day +2)", 10.0, "s", "full"),
    ("sample_pipeline_s", "`make pipeline` on the sample, fresh warehouse", 6.0, "s", ANY),
    ("end_to_end_cold_s", "full scale end to end, cold", 300.0, "s", "full"),
    ("peak_rss_mb", "peak RSS of any stage at full scale", 1.0 * GB, "MB", "full"),
    ("pipeline_over_floor", "pipeline / floor, overall", 1.5, "x", "full"),
)


def _rate(rows: int | None, seconds: float | None) -> float | None:
    if rows is None or not seconds:
        return None
    return rows / seconds


def stage_record(result: StageResult, floor: FloorStage | None) -> dict[str, Any]:
    """One stage's row of the report: the pipeline's numbers, the floor's, and their ratio."""
    m = result.measurement
    seconds = m.seconds if m else None
    record: dict[str, Any] = {
        "stage": result.stage,
        "status": result.status,
        "reason": result.reason,
        "exit_code": m.exit_code if m else None,
        "seconds": round(seconds, 3) if seconds is not None else None,
        "rows": result.rows,
        "rows_per_second": _rate(result.rows, seconds),
        "peak_rss_mb": round(m.peak_rss_mb, 1) if m else None,
        "command": m.command if m else None,
        "log": m.log if m else None,
        "floor": None,
        "ratio": None,
    }
    if floor is not None:
        fm = floor.measurement
        record["floor"] = {
            "what": floor.description,
            "seconds": round(fm.seconds, 3),
            "rows": floor.rows,
            "rows_per_second": _rate(floor.rows, fm.seconds),
            "peak_rss_mb": round(fm.peak_rss_mb, 1),
            "command": fm.command,
            "log": fm.log,
        }
        if result.status == "ran" and seconds is not None and fm.seconds > 0:
            record["ratio"] = seconds / fm.seconds
        if result.rows is not None:
            # same data, same definition: a mismatch means one side computes something else
            record["floor"]["rows_match"] = result.rows == floor.rows
    return record


def summarize(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over the stages that ran, and the overall ratio over the same stages."""
    ran = [s for s in stages if s["status"] == "ran"]
    pipeline_s = sum(s["seconds"] for s in ran)
    floor_s = sum(s["floor"]["seconds"] for s in ran if s["floor"])
    floor_all = sum(s["floor"]["seconds"] for s in stages if s["floor"])
    return {
        "stages_ran": [s["stage"] for s in ran],
        "complete": len(ran) == len(stages),
        "pipeline_seconds": round(pipeline_s, 3),
        "floor_seconds": round(floor_s, 3),  # floor of the same stages
        "floor_seconds_all_stages": round(floor_all, 3),
        "overall_ratio": pipeline_s / floor_s if ran and floor_s > 0 else None,
        "peak_rss_mb": max((s["peak_rss_mb"] for s in ran), default=None),
    }


def incremental_record(inc: IncrementalResult | None, full_seconds: float, delivery: dict) -> dict:
    """The follow-up run: its time and its share of the full run."""
    if inc is None:
        return {"status": "skipped", "reason": "`balancewatch run` does not exist in this checkout"}
    m = inc.measurement
    return {
        "status": "ran" if m.exit_code in (0, 1) else "failed",
        "exit_code": m.exit_code,
        "delivery": delivery,
        "seconds": round(m.seconds, 3),
        "peak_rss_mb": round(m.peak_rss_mb, 1),
        "stages_in_run": inc.stages,
        "found": inc.found,
        "share_of_full_run": m.seconds / full_seconds if full_seconds else None,
        "command": m.command,
        "log": m.log,
    }


def measured_record(m: Measurement) -> dict:
    """A ``make pipeline`` run measured as a whole (nothing new; the sample)."""
    return {
        "status": "ran" if m.exit_code in (0, 1) else "failed",
        "exit_code": m.exit_code,
        "seconds": round(m.seconds, 3),
        "peak_rss_mb": round(m.peak_rss_mb, 1),
        "command": m.command,
        "log": m.log,
    }


def _incremental_line(label: str, inc: dict) -> str:
    """One follow-up run as a line of the printed report."""
    if inc["status"] == "skipped":
        return f"{label}: skipped: {inc['reason']}"
    dv = inc["delivery"]
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in inc["stages_in_run"].items())
    found = inc.get("found") or {}
    anomalies = (
        f", {found['new_day_anomalies']} anomaly(ies) "
        f"({found.get('new_day_anomalies_also_swings', 0)} of them swings too)"
        if "new_day_anomalies" in found else ""
    )
    findings = (
        f"; found {found.get('new_day_swings', 0)} swing(s){anomalies} on new days, "
        f"{found.get('late_data_swings', 0)} in late data, "
        f"{found.get('resolved_alerts', 0)} alert(s) resolved" if found else ""
    )
    return (
        f"{label} (day +{dv['days']}: {dv['invoice_rows']:,} invoices / "
        f"{dv['organization_rows']:,} organizations) via `balancewatch run`: "
        f"{inc['seconds']:,.2f} s ({parts or 'no stage timings printed'}), "
        f"{_num(inc['share_of_full_run'], '{:.0%}')} of the full run, peak RSS "
        f"{inc['peak_rss_mb']:,.0f} MB, exit {inc['exit_code']}{findings}"
    )


def judge_targets(preset: str, summary: dict, incremental: dict) -> list[dict[str, Any]]:
    """Each target with the measured value and pass / miss / n/a (judged at another preset) /
    incomplete (a stage it needs did not run)."""
    before = incremental.get("before") or {}
    peaks = [summary["peak_rss_mb"], incremental.get("peak_rss_mb"), before.get("peak_rss_mb")]
    values = {
        "nothing_new_s": (incremental.get("nothing_new") or {}).get("seconds"),
        "end_to_end_cold_s": summary["pipeline_seconds"],
        "peak_rss_mb": max((p for p in peaks if p is not None), default=None),
        "pipeline_over_floor": summary["overall_ratio"],
        "incremental_s": incremental.get("seconds"),
        "sample_pipeline_s": (incremental.get("sample") or {}).get("seconds"),
    }
    needs_all = {"end_to_end_cold_s", "pipeline_over_floor"}
    judged = []
    for key, what, limit, unit, at in TARGETS:
        value = values[key]
        if value is None:
            status = "not measured"
        elif key in needs_all and not summary["complete"]:
            status = "incomplete"
        elif at not in (preset, ANY):
            status = f"n/a (judged at {at})"
        else:
            status = "pass" if value <= limit else "miss"
        judged.append(
            {
                "target": key,
                "what": what,
                "limit": limit,
                "unit": unit,
                "preset": at,
                "value": value,
                "status": status,
            }
        )
    return judged


def _num(value: float | None, fmt: str = "{:,.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def render(report: dict[str, Any]) -> str:
    """The printed report: stage table with floor and ratios, incremental, targets."""
    d = report["data"]
    mach = report["machine"]
    out = [
        f"balancewatch bench, preset {report['preset']} (seed {report['seed']}): "
        f"{d['invoice_rows']:,} invoices, {d['organization_rows']:,} organizations, "
        f"{d['bytes'] / 1e6:,.1f} MB of CSV",
        f"machine: {mach['cpus']} CPUs, load average {mach['load_before'][0]:.2f} before / "
        f"{mach['load_after'][0]:.2f} after, sqlite3 shell {mach['sqlite3_version']}",
        "",
        f"{'stage':<8} {'status':<8} {'seconds':>9} {'rows':>12} {'rows/s':>11} {'peak RSS':>9}"
        f" | {'floor s':>8} {'floor rows/s':>12} {'floor RSS':>9} | {'÷ floor':>8}",
    ]
    for s in report["stages"]:
        f = s["floor"] or {}
        rss = _num(s["peak_rss_mb"], "{:,.0f} MB")
        frss = _num(f.get("peak_rss_mb"), "{:,.0f} MB")
        out.append(
            f"{s['stage']:<8} {s['status']:<8} {_num(s['seconds'], '{:,.2f}'):>9} "
            f"{_num(s['rows'], '{:,.0f}'):>12} {_num(s['rows_per_second'], '{:,.0f}'):>11} "
            f"{rss:>9} | {_num(f.get('seconds'), '{:,.2f}'):>8} "
            f"{_num(f.get('rows_per_second'), '{:,.0f}'):>12} {frss:>9} | "
            f"{_num(s['ratio'], '{:,.2f}x'):>8}"
        )
    t = report["summary"]
    out.append(
        f"{'total':<8} {'':<8} {_num(t['pipeline_seconds'], '{:,.2f}'):>9} {'':>12} {'':>11} "
        f"{_num(t['peak_rss_mb'], '{:,.0f} MB'):>9} | {_num(t['floor_seconds'], '{:,.2f}'):>8} "
        f"{'':>12} {'':>9} | {_num(t['overall_ratio'], '{:,.2f}x'):>8}"
    )
    for s in report["stages"]:
        if s["reason"]:
            out.append(f"  {s['stage']}: {s['reason']}")
    if not t["complete"]:
        out.append(
            f"  overall ratio over the stages that ran ({', '.join(t['stages_ran']) or 'none'}); "
            f"the floor of all three stages took {t['floor_seconds_all_stages']:,.2f} s"
        )
    inc = report["incremental"]
    out.append("")
    for label, record in (("day +1", inc.get("before")), ("one new day", inc)):
        if record is not None:
            out.append(_incremental_line(label, record))
    if "health_checks" in inc:
        from bench.health_checks import health_line

        out.append(health_line(inc["health_checks"]))
    for label, key in (("nothing new", "nothing_new"), ("sample, fresh warehouse", "sample")):
        record = inc.get(key)
        if record is not None:
            out.append(f"{label} (`make pipeline`): {record['seconds']:,.2f} s, peak RSS "
                       f"{record['peak_rss_mb']:,.0f} MB, exit {record['exit_code']}")
    mismatched = [
        s["stage"] for s in report["stages"] if (s["floor"] or {}).get("rows_match") is False
    ]
    if mismatched:
        out.append(f"  WARNING: row counts differ from the floor's in: {', '.join(mismatched)}")
    out += ["", f"{'target':<48} {'limit':>14} {'measured':>12}  status"]
    for g in report["targets"]:
        unit = g["unit"]
        fmt = "{:,.2f}x" if unit == "x" else "{:,.1f} " + unit
        out.append(
            f"{g['what']:<48} {'<= ' + fmt.format(g['limit']):>14} "
            f"{_num(g['value'], fmt):>12}  {g['status']}"
        )
    for note in report["notes"]:
        out.append(f"note: {note}")
    return "\n".join(out)
