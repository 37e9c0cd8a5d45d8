"""``balancewatch alerts``: list, show, ack, mute and unmute as an operator reads them, both rules'
alerts (a day only the anomaly rule flagged, and one both flagged), and a muted organization's
swing recorded but never sent."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("great_expectations")

from balancewatch.cli import main  # noqa: E402
from tests.test_monitor_run import day, run, steady_invoices, write_warehouse  # noqa: E402

# org 101, day 9: 10,700 -> 1,800 after a 9,000 refund (-83.2 %): a swing, and an anomaly too
# (its 7 ordinary days before moved +1 % each); org 104, day 5: -96.1 %, a swing only (3 days of
# history, fewer than the anomaly rule's 6)
INVOICES = steady_invoices(10) + [(1, 101, day(9), "refunded", 9_000.0),
                                  (2, 104, day(5), "refunded", 10_000.0)]


def alerts(capsys: pytest.CaptureFixture[str], warehouse: Path, *args: str) -> tuple[int, str]:
    status = main(["alerts", *args, "--warehouse", str(warehouse)])
    return status, capsys.readouterr().out


@pytest.fixture
def monitored(tmp_path: Path, project: Path) -> Path:
    warehouse = tmp_path / "w.db"
    write_warehouse(warehouse, INVOICES)
    assert run(warehouse, project)[0].exit_code == 0
    return warehouse


# ids beyond 2**53, where a float-based JSON reader (jq) rounds: 718824783273183028 -> ...3000
BIG, NEGATIVE = "718824783273183028", "-718824783273183029"
INVOICE, COUNTRY = "9007199254740993", "-7010795234873981553"  # 2**53 + 1; a country hash
HEADER = ["organization", "day", "rule", "previous", "USD", "balance", "USD", "change", "status",
          "found", "as"]
BOTH = "; 1 of them flagged by both rules (a row each)"  # 101's day 9: a row per rule


@pytest.fixture
def big_ids(monitored: Path) -> Path:
    """The monitored warehouse with organizations 101 and 104 renumbered BIG and NEGATIVE, the
    refund behind 101's alert INVOICE, and its country code COUNTRY."""
    import sqlite3

    conn = sqlite3.connect(monitored)
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
    for table in tables:
        if "organization_id" in {c[1] for c in conn.execute(f"pragma table_info({table})")}:
            for old, new in ((101, BIG), (104, NEGATIVE)):
                conn.execute(f"update {table} set organization_id = ? where organization_id = ?",
                             (int(new), old))
    conn.execute("update balance_alert_causes set invoice_id = ? where invoice_id = 1",
                 (int(INVOICE),))
    conn.execute("update balance_alert_context set legal_entity_country_code = ?", (int(COUNTRY),))
    conn.commit()
    conn.close()
    return monitored


def test_json_ids_are_strings_a_float_parser_keeps_and_show_accepts(big_ids: Path, capsys) -> None:
    status, out = alerts(capsys, big_ids, "list", "--json")
    rows = json.loads(out, parse_int=float)  # as jq reads a number: a double
    assert status == 0
    assert [(r["organization_id"], r["balance_date"], r["rule"]) for r in rows] == [
        (BIG, day(9), "swing"), (BIG, day(9), "anomaly"), (NEGATIVE, day(5), "swing")]
    for row in rows:  # each id, as the script read it, back to `alerts show`
        status, out = alerts(capsys, big_ids, "show", row["organization_id"], row["balance_date"])
        assert status == 0 and out.splitlines()[1].split()[:2] == [row["organization_id"],
                                                                   row["balance_date"]]
    status, out = alerts(capsys, big_ids, "list", "--org", NEGATIVE, "--json")
    assert [r["organization_id"] for r in json.loads(out, parse_int=float)] == [NEGATIVE]


def test_show_json_is_an_array_an_object_per_rule_with_figures_causes_context_and_history(
    big_ids: Path, capsys
) -> None:
    assert alerts(capsys, big_ids, "ack", BIG, day(9), "--note", "known refund", "--verdict",
                  "expected", "--by", "ops-anna")[0] == 0
    status, out = alerts(capsys, big_ids, "show", BIG, day(9), "--json")
    swing, anomaly = json.loads(out, parse_int=float)
    assert status == 0
    assert [(a["organization_id"], a["balance_date"], a["rule"], a["status"])
            for a in (swing, anomaly)] == [(BIG, day(9), "swing", "acknowledged"),
                                           (BIG, day(9), "anomaly", "acknowledged")]
    assert swing["anomaly"] is None and anomaly["anomaly"]["history_days"] == 7
    assert anomaly["causes"] == swing["causes"]
    alert = swing
    assert (alert["previous_balance_usd"], alert["balance_usd"]) == (10_700.0, 1_800.0)
    assert [(c["invoice_id"], c["status"], c["effect_usd"]) for c in alert["causes"]] == [
        (INVOICE, "refunded", -9_000.0), ("201009", "paid", 100.0)]
    assert alert["organization"]["legal_entity_country_code"] == COUNTRY
    assert alert["organization"]["is_orphan"] is False
    assert [h["event"] for h in alert["history"]] == ["found", "acknowledged"]
    assert alert["history"][0]["detail"] == "new_day"
    assert {k: alert["history"][1][k] for k in ("by", "note", "verdict")} == {
        "by": "ops-anna", "note": "known refund", "verdict": "expected"}


def test_show_prints_the_list_header_above_its_row(big_ids: Path, capsys) -> None:
    status, out = alerts(capsys, big_ids, "list")
    assert out.splitlines()[0].split() == HEADER
    status, out = alerts(capsys, big_ids, "show", NEGATIVE, day(5))
    assert status == 0 and out.splitlines()[0].split() == HEADER
    assert out.splitlines()[1].split()[:2] == [NEGATIVE, day(5)]


def test_list_shows_every_alert_and_filters(monitored: Path, capsys) -> None:
    status, out = alerts(capsys, monitored, "list")
    assert status == 0 and out.splitlines()[-1] == "2 alert(s)" + BOTH
    assert "101  " + day(9) in out and "-83.2%" in out and "pending" in out
    status, out = alerts(capsys, monitored, "list", "--org", "104", "--json")
    rows = json.loads(out)
    assert status == 0 and [(r["organization_id"], r["balance_date"]) for r in rows] == [
        ("104", day(5))]
    status, out = alerts(capsys, monitored, "list", "--since", day(6))
    assert out.splitlines()[-1] == "1 alert(s)" + BOTH


def test_list_found_before_a_day(monitored: Path, capsys) -> None:
    from balancewatch.warehouse import parse

    with parse(monitored).connection() as conn, conn.transaction():  # as if found on 11-20
        conn.execute("update balance_alerts set first_seen_at = '2026-11-20T06:00:00Z' "
                     "where organization_id = 104")
    status, out = alerts(capsys, monitored, "list", "--found-before", "2026-11-21")
    assert status == 0 and out.splitlines()[-1] == "1 alert(s)" and "104  " + day(5) in out
    status, out = alerts(capsys, monitored, "list", "--found-before", "2026-11-20")
    assert out.splitlines()[-1] == "0 alert(s)"
    status, out = alerts(capsys, monitored, "list", "--found-before", "last week")
    assert status == 2 and "--found-before must be a day YYYY-MM-DD, got 'last week'" in out


def test_show_ack_and_the_history(monitored: Path, capsys) -> None:
    status, out = alerts(capsys, monitored, "show", "101", day(9))
    assert status == 0 and "cause:" in out and "refunded USD 9,000.00 = -$9,000.00" in out
    assert "found (new_day)" in out
    status, out = alerts(capsys, monitored, "ack", "101", day(9), "--note", "known refund",
                         "--verdict", "expected", "--by", "ops-anna")
    assert status == 0 and out.strip() == (
        f"acknowledged org 101 on {day(9)} (swing + anomaly) as ops-anna")
    status, out = alerts(capsys, monitored, "show", "101", day(9))
    assert "acknowledged by ops-anna: known refund (expected) [swing + anomaly]" in out
    status, out = alerts(capsys, monitored, "list", "--status", "acknowledged")
    assert out.splitlines()[-1] == "1 alert(s)" + BOTH and "101  " + day(9) in out


@pytest.mark.parametrize("args, message", [
    (("show", "abc", "2024-03-09"), "an organization id is a 64-bit integer, got 'abc'"),
    (("show", "101", "2024-02-30"), "DAY must be a day YYYY-MM-DD, got '2024-02-30'"),
    (("show", "101", "2024-03-01"), "no alert for organization 101 on 2024-03-01"),
    (("ack", "102", "2024-03-09", "--note", "x"), "no alert for organization 102 on 2024-03-09"),
    (("list", "--since", "yesterday"), "--since must be a day YYYY-MM-DD, got 'yesterday'"),
])
def test_bad_ids_and_days_exit_2_with_a_message(monitored: Path, capsys, args, message) -> None:
    status, out = alerts(capsys, monitored, *args)
    assert status == 2 and out.strip() == f"alerts: {message}"


def test_a_muted_organizations_swing_is_recorded_not_sent_and_a_mute_expires(
    tmp_path: Path, project: Path, capsys
) -> None:
    from balancewatch.warehouse import parse
    from monitors.alerts.digest import Digest
    from monitors.alerts.outbox import notify
    from monitors.alerts.slack_delivery import SlackSettings
    from monitors.findings.alert_records import pending_swings
    from monitors.findings.operations import mute
    from tests.slack_server import FakeSlack

    warehouse = tmp_path / "w.db"
    write_warehouse(warehouse, steady_invoices(4))  # a first run: nothing swings yet
    assert run(warehouse, project)[0].exit_code == 0
    assert alerts(capsys, warehouse, "mute", "101", "--until", "2999-12-31", "--reason",
                  "migration in progress")[0] == 0
    with parse(warehouse).connection() as conn:  # a mute that ended long ago (the CLI refuses
        mute(conn, 104, "2000-01-01", "long over", "ops-anna")  # a past day): applies to nothing
    write_warehouse(warehouse, INVOICES, loads={inv[0]: 2 for inv in INVOICES
                                                if inv[2] > day(4) or inv[0] < 10})
    assert run(warehouse, project)[0].exit_code == 0
    status, out = alerts(capsys, warehouse, "list", "--status", "muted")
    assert out.splitlines()[-1] == "1 alert(s)" + BOTH and "101  " + day(9) in out
    with parse(warehouse).connection() as conn:
        pending = {(s.organization_id, s.balance_date) for s in pending_swings(conn)}
    assert pending == {(104, day(5))}  # the muted one never goes out; the expired mute is moot
    with FakeSlack() as slack, parse(warehouse).connection() as conn:
        settings = SlackSettings(bot_token=slack.state.token, channel="#balance-alerts",
                                 api_url=slack.api_url)
        notify(conn, Digest(as_of=day(10), first_day=day(5), last_day=day(10),
                            days_evaluated=6), settings)
    digest = str(slack.posted[0]["blocks"])
    assert "org 104" in digest and "org 101" not in digest
    assert "1 muted alert(s) · 0 unacknowledged alert(s) older than 7 days" in digest
    assert alerts(capsys, warehouse, "unmute", "101") == (0, "unmuted org 101\n")
    assert alerts(capsys, warehouse, "unmute", "101") == (
        2, "alerts: organization 101 is not muted: nothing to unmute\n")
    assert alerts(capsys, warehouse, "unmute", "104")[1].strip() == "unmuted org 104"


TODAY = datetime.now(UTC).date()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


@pytest.mark.parametrize("args, message", [
    (("mute", "999", "--until", "2999-12-31", "--reason", "x"),
     "organization 999 is not in the warehouse (dim_organizations lists every organization of "
     "the exports and every one an invoice names): nothing to mute"),
    (("mute", "101", "--until", YESTERDAY, "--reason", "x"),
     f"--until {YESTERDAY} is in the past (today is {TODAY}, UTC): a mute ends today or later"),
    (("unmute", "102"), "organization 102 is not muted: nothing to unmute"),
])
def test_a_pointless_mute_or_unmute_exits_2_and_writes_nothing(monitored: Path, capsys, args,
                                                               message) -> None:
    assert alerts(capsys, monitored, *args) == (2, f"alerts: {message}\n")
    with sqlite3.connect(monitored) as conn:
        assert conn.execute("select count(*) from monitor_mutes").fetchone() == (0,)
        assert conn.execute("select count(*) from balance_alerts "
                            "where muted_reason is not null").fetchone() == (0,)


def test_a_mute_until_today_is_taken(monitored: Path, capsys) -> None:
    assert alerts(capsys, monitored, "mute", "102", "--until", TODAY.isoformat(), "--reason",
                  "one day") == (0, f"muted org 102 until {TODAY}: one day; "
                                 "0 pending alert(s) marked muted, never to be sent\n")


def test_mute_marks_pending_alerts_muted_and_the_next_digest_leaves_them_out(
    monitored: Path, project: Path, slack, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from monitors.run import run_monitor

    assert alerts(capsys, monitored, "mute", "101", "--until", "2999-12-31", "--reason",
                  "migration in progress") == (
        0, "muted org 101 until 2999-12-31: migration in progress; "
        "1 pending alert(s) marked muted, never to be sent\n")
    status, out = alerts(capsys, monitored, "list", "--status", "pending")
    assert out.splitlines()[1:] == [line for line in out.splitlines()[1:] if "101  " not in line]
    assert out.splitlines()[-1] == "1 alert(s)" and "104  " + day(5) in out
    status, out = alerts(capsys, monitored, "list", "--status", "muted")
    assert out.splitlines()[-1] == "1 alert(s)" + BOTH and "101  " + day(9) in out
    assert alerts(capsys, monitored, "show", "101", day(9))[1].splitlines()[-1] == (
        "muted: migration in progress")
    for name in ("SLACK_WEBHOOK_URL", "BALANCEWATCH_DOCS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.state.token)
    monkeypatch.setenv("SLACK_CHANNEL", "#balance-alerts")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    assert run_monitor(monitored, project_root=project, out=io.StringIO()).exit_code == 0
    assert len(slack.posted) == 1  # the digest of the alerts recorded before the mute ...
    digest = str(slack.posted[0]["blocks"])
    assert "org 104" in digest and "org 101" not in digest  # ... without the muted one
    status, out = alerts(capsys, monitored, "list", "--status", "sent")
    assert out.splitlines()[-1] == "1 alert(s)" and "104  " + day(5) in out
    status, out = alerts(capsys, monitored, "list", "--status", "muted")
    assert out.splitlines()[-1] == "1 alert(s)" + BOTH and "101  " + day(9) in out


# Both rules. Org 102, day 9: 10,700 -> 7,055 after a 3,745 refund (-34.1 %): no swing (under
# 50 %), but an anomaly: its 7 ordinary days before moved about +1.0 % (0.94 .. 1.00 %), spread
# under the 5 % floor, so (34.1 + 1.0) / 5 = 7.0 spreads off, more than 6.
ANOMALY_INVOICES = INVOICES + [(3, 102, day(9), "refunded", 3_745.0)]
ROWS = [  # alerts list, as the operator reads it: day desc, |change| desc, the swing first
    ["101", day(9), "swing", "10,700.00", "1,800.00", "-83.2%", "pending", "new_day"],
    ["101", day(9), "anomaly", "10,700.00", "1,800.00", "-83.2%", "pending", "new_day"],
    ["102", day(9), "anomaly", "10,700.00", "7,055.00", "-34.1%", "pending", "new_day"],
    ["104", day(5), "swing", "10,300.00", "400.00", "-96.1%", "pending", "new_day"],
]
WHY_102 = ("why: -34.1% where this organization usually moves +1.0% ±0.0% on ordinary days "
           "(7 days; 7.0 spreads off)")
WHY_101 = ("why: -83.2% where this organization usually moves +1.0% ±0.0% on ordinary days "
           "(7 days; 16.8 spreads off)")


@pytest.fixture
def anomalies(tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[Path, str]:
    """A warehouse monitored once without Slack: 101's day 9 (both rules), 102's day 9 (the
    anomaly rule only), 104's day 5 (the swing rule only); and what the run printed."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    warehouse = tmp_path / "w.db"
    write_warehouse(warehouse, ANOMALY_INVOICES)
    report, out = run(warehouse, project, notify_slack=True)
    assert report.exit_code == 0, out
    return warehouse, out


def rows_of(out: str) -> list[list[str]]:
    """The table's rows (between the header and the count), as words."""
    return [line.split() for line in out.splitlines()[1:-1]]


def test_list_has_a_row_per_rule_and_counts_a_day_once(anomalies, capsys) -> None:
    warehouse, _ = anomalies
    status, out = alerts(capsys, warehouse, "list")
    assert status == 0 and out.splitlines()[0].split() == HEADER
    assert rows_of(out) == ROWS
    assert out.splitlines()[-1] == "3 alert(s)" + BOTH
    status, out = alerts(capsys, warehouse, "list", "--json")
    assert [(r["organization_id"], r["balance_date"], r["rule"], r["status"])
            for r in json.loads(out)] == [(r[0], r[1], r[2], "pending") for r in ROWS]


@pytest.mark.parametrize("rule, rows, count", [
    ("anomaly", [ROWS[1], ROWS[2]], "2 alert(s)"),
    ("swing", [ROWS[0], ROWS[3]], "2 alert(s)"),
])
def test_list_rule_keeps_one_rules_alerts(anomalies, capsys, rule, rows, count) -> None:
    status, out = alerts(capsys, anomalies[0], "list", "--rule", rule)
    assert status == 0 and rows_of(out) == rows and out.splitlines()[-1] == count
    status, out = alerts(capsys, anomalies[0], "list", "--rule", rule, "--json")
    assert {r["rule"] for r in json.loads(out)} == {rule}


def test_an_anomaly_only_day_is_shown_with_its_why_and_acknowledged(anomalies, capsys) -> None:
    warehouse, _ = anomalies
    status, out = alerts(capsys, warehouse, "show", "102", day(9))
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == HEADER and lines[1].split() == ROWS[2]
    assert lines[2].strip() == WHY_102
    assert lines[3:6] == ["cause:", "  invoice 3 refunded USD 3,745.00 = -$3,745.00",
                          "  invoice 202009 paid USD 100.00 = +$100.00"]
    status, out = alerts(capsys, warehouse, "show", "102", day(9), "--json")
    [alert] = json.loads(out)
    assert (alert["organization_id"], alert["rule"], alert["status"]) == (
        "102", "anomaly", "pending")
    assert alert["anomaly"]["day_kind"] == "ordinary" and alert["anomaly"]["history_days"] == 7
    assert alert["anomaly"]["score"] == pytest.approx(7.0, abs=0.01)
    assert "why: " + alert["anomaly"]["why"] == WHY_102
    status, out = alerts(capsys, warehouse, "ack", "102", day(9), "--note", "a known refund",
                         "--by", "ops-anna")
    assert (status, out) == (0, f"acknowledged org 102 on {day(9)} (anomaly) as ops-anna\n")
    status, out = alerts(capsys, warehouse, "list", "--status", "acknowledged")
    assert rows_of(out) == [[*ROWS[2][:6], "acknowledged", "new_day"]]
    assert out.splitlines()[-1] == "1 alert(s)"


def test_a_day_both_rules_flag_is_shown_on_one_page_and_acked_whole(anomalies, capsys) -> None:
    warehouse, _ = anomalies
    status, out = alerts(capsys, warehouse, "show", "101", day(9))
    lines = out.splitlines()
    assert status == 0 and [line.split() for line in lines[1:3]] == ROWS[:2]
    assert lines[3].strip() == WHY_101
    assert lines[4:7] == ["cause:", "  invoice 1 refunded USD 9,000.00 = -$9,000.00",
                          "  invoice 201009 paid USD 100.00 = +$100.00"]
    status, out = alerts(capsys, warehouse, "ack", "101", day(9), "--note", "known refund",
                         "--verdict", "expected", "--by", "ops-anna")
    assert (status, out) == (
        0, f"acknowledged org 101 on {day(9)} (swing + anomaly) as ops-anna\n")
    status, out = alerts(capsys, warehouse, "list", "--status", "acknowledged")
    assert rows_of(out) == [[*row[:6], "acknowledged", "new_day"] for row in ROWS[:2]]
    assert out.splitlines()[-1] == "1 alert(s)" + BOTH
    status, out = alerts(capsys, warehouse, "show", "101", day(9))
    acked = [line for line in out.splitlines() if "acknowledged by" in line]
    assert len(acked) == 1  # one acknowledgement of the day, both rules'
    assert acked[0].endswith("acknowledged by ops-anna: known refund (expected) "
                             "[swing + anomaly]")


def test_ack_and_show_of_one_rule(anomalies, capsys) -> None:
    warehouse, _ = anomalies
    status, out = alerts(capsys, warehouse, "show", "101", day(9), "--rule", "anomaly")
    assert status == 0 and [line.split() for line in out.splitlines()[1:2]] == [ROWS[1]]
    assert out.splitlines()[2].strip() == WHY_101 and "swing" not in out.splitlines()[1]
    status, out = alerts(capsys, warehouse, "ack", "101", day(9), "--rule", "swing", "--note",
                         "known refund", "--by", "ops-anna")
    assert (status, out) == (0, f"acknowledged org 101 on {day(9)} (swing) as ops-anna\n")
    status, out = alerts(capsys, warehouse, "list", "--org", "101")
    assert rows_of(out) == [[*ROWS[0][:6], "acknowledged", "new_day"], ROWS[1]]
    status, out = alerts(capsys, warehouse, "list", "--status", "pending")
    assert rows_of(out) == ROWS[1:]  # 101's anomaly still pending


@pytest.mark.parametrize("args, message", [
    (("ack", "104", day(5), "--rule", "anomaly", "--note", "x"),
     f"no anomaly alert for organization 104 on {day(5)} (its alert that day: swing)"),
    (("ack", "102", day(9), "--rule", "swing", "--note", "x"),
     f"no swing alert for organization 102 on {day(9)} (its alert that day: anomaly)"),
    (("ack", "103", day(9), "--note", "x"), f"no alert for organization 103 on {day(9)}"),
    (("show", "104", day(5), "--rule", "anomaly"),
     f"no anomaly alert for organization 104 on {day(5)} (its alert that day: swing)"),
])
def test_a_day_without_the_rules_alert_is_refused_and_nothing_written(anomalies, capsys, args,
                                                                      message) -> None:
    assert alerts(capsys, anomalies[0], *args) == (2, f"alerts: {message}\n")
    with sqlite3.connect(anomalies[0]) as conn:
        assert conn.execute("select count(*) from balance_alert_acks").fetchone() == (0,)


def test_the_runs_never_sent_count_is_what_list_status_pending_counts(anomalies, capsys) -> None:
    warehouse, run_out = anomalies
    hint = next(line for line in run_out.splitlines() if "were never sent" in line)
    assert hint == ("slack: not configured, nothing sent; 3 alert(s) in balance_alerts were "
                    "never sent (`balancewatch alerts list --status pending`)")
    status, out = alerts(capsys, warehouse, "list", "--status", "pending")
    assert status == 0 and out.splitlines()[-1] == "3 alert(s)" + BOTH
    assert rows_of(out) == ROWS
