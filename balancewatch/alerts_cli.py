"""``balancewatch alerts``: see, acknowledge and silence alerts without opening the warehouse.

Both rules' alerts: ``balance_alerts`` holds one per (organization, day, rule), the rule
``swing`` (day over day) or ``anomaly`` (unlike the organization's own history), and ``--rule``
narrows ``list``, ``show`` and ``ack`` to one. ``list`` (filters, a table with a row per alert and
rule, or ``--json``: an array, an object per row), ``show ORG DAY`` (each rule's alert of the day:
figures, the anomaly's why, cause, history; ``--json``: always an array, an object per rule),
``ack ORG DAY --note`` (every rule's alert of the day) and ``mute ORG --until DAY --reason`` /
``unmute ORG`` (an organization: both rules). Exit 0, or 2 with a one-line message, nothing
written, for a bad id or day, a day without an alert (of ``--rule``), a warehouse without alerts,
a mute of an organization the warehouse does not have or ending before today, and an unmute of
an organization not muted. What is printed, and the JSON, is :mod:`balancewatch.alerts_view`'s.
"""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import date

from balancewatch import alerts_view, exit_codes
from balancewatch.settings import WAREHOUSE_DEFAULT_HELP
from balancewatch.warehouse import Connection, Warehouse
from monitors.findings import alert_records, operations
from monitors.findings.causes import load_causes, load_context
from monitors.findings.results import RULE_NAMES, SWING_RULE


class Refused(Exception):
    """Bad arguments or an unknown alert: exit 2 with this message."""


WAREHOUSE_HELP = ("the warehouse a monitor run recorded its alerts in (must exist): SQLite file, "
                  "postgresql://user@host:port/dbname or spark://host:port/database; "
                  f"{WAREHOUSE_DEFAULT_HELP}")
_ORG_HELP = "the organization's id (a 64-bit integer, often negative)"
_DAY_HELP = "the alert's balance day, YYYY-MM-DD"
_BY_HELP = "who (default $USER)"
RULES = {word: rule for rule, word in RULE_NAMES.items()}  # swing / anomaly -> the stored rule
_RULE_HELP = ("only this rule's alerts: swing (moved more than the threshold day over day) or "
              "anomaly (unlike the organization's own history); default both")


def add_parser(sub: argparse._SubParsersAction, warehouse: argparse.ArgumentParser) -> None:
    """The ``alerts`` subcommand and its own subcommands (``warehouse``: the ``--warehouse``
    option, the only one they share)."""
    alerts = sub.add_parser("alerts", help="list, show, ack, mute alerts")
    act = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_list(act.add_parser("list", parents=[warehouse],
                             help="alerts of both rules, newest day first"))
    show = act.add_parser("show", parents=[warehouse],
                          help="a day's alerts (each rule's): figures, why, cause, history")
    _add_alert_key(show)
    show.add_argument("--json", action="store_true",
                      help="one JSON array, an object per rule's alert: figures, rule, status, "
                      "anomaly (its baseline and why; null for a swing), causes, organization, "
                      "history (for scripts; ids are strings)")
    ack = act.add_parser("ack", parents=[warehouse],
                         help="acknowledge a day's alerts (every rule's, or --rule's)")
    _add_alert_key(ack)
    ack.add_argument("--note", required=True,
                     help="why the alert is fine, or what was done about it (required)")
    ack.add_argument("--verdict", choices=operations.VERDICTS,
                     help="expected (a known cause), incident (a real problem) or false-positive "
                     "(the rule misfired)")
    ack.add_argument("--by", help=_BY_HELP)
    mute = act.add_parser("mute", parents=[warehouse],
                          help="record an organization's alerts (both rules) without sending "
                          "them (its pending alerts too)")
    mute.add_argument("org", metavar="ORG", help=_ORG_HELP)
    mute.add_argument("--until", required=True, metavar="DAY",
                      help="the last day the mute applies (UTC, today or later; required)")
    mute.add_argument("--reason", required=True,
                      help="why (kept with each muted alert; required)")
    mute.add_argument("--by", help=_BY_HELP)
    unmute = act.add_parser("unmute", parents=[warehouse], help="end an organization's mute")
    unmute.add_argument("org", metavar="ORG", help=_ORG_HELP)


def _add_list(listing: argparse.ArgumentParser) -> None:
    """``alerts list``'s filters."""
    listing.add_argument("--status", choices=operations.STATUSES,
                         help="only alerts in this status: pending (recorded, not sent yet), sent, "
                         "resolved (the day no longer swings, or is no longer an anomaly), "
                         "acknowledged, muted (recorded during a mute, never sent)")
    listing.add_argument("--rule", choices=tuple(RULES), help=_RULE_HELP)
    listing.add_argument("--since", metavar="DAY", help="alerts on this day or later")
    listing.add_argument("--org", metavar="ID", help="only this organization's alerts")
    listing.add_argument("--found-before", metavar="DAY",
                         help="alerts a run recorded before this day (UTC)")
    listing.add_argument("--json", action="store_true",
                         help="one JSON array, an object per row (alert and rule; for "
                         "scripts; ids are strings)")


def _add_alert_key(parser: argparse.ArgumentParser) -> None:
    """ORG DAY [--rule]: which day's alerts."""
    parser.add_argument("org", metavar="ORG", help=_ORG_HELP)
    parser.add_argument("day", metavar="DAY", help=_DAY_HELP)
    parser.add_argument("--rule", choices=tuple(RULES), help=_RULE_HELP)


def _org(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Refused(f"an organization id is a 64-bit integer, got {text!r}") from None


def _day(text: str, what: str = "DAY") -> str:
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise Refused(f"{what} must be a day YYYY-MM-DD, got {text!r}")


def _who(given: str | None) -> str:
    return given or os.environ.get("USER") or getpass.getuser()


def _rows(conn: Connection, where: str = "", params: tuple = ()) -> list[dict]:
    """Alerts of both rules (``where``: more conditions on ``a``), newest day first, the largest
    change first, an organization's rules together, the swing's first."""
    acked = ("select distinct organization_id, balance_date, rule from balance_alert_acks"
             if "balance_alert_acks" in conn.table_names()
             else "select null as organization_id, null as balance_date, null as rule")
    sql = (f"select a.organization_id, a.balance_date, a.rule, a.previous_balance_usd, "
           f"a.balance_usd, a.change_usd, a.change_pct, {operations.status_sql()}, "
           "a.detected_as, a.first_seen_at, a.sent_at, a.updated_at, a.resolved_at, "
           "a.resolution, a.muted_reason, a.day_kind, a.baseline_median_pct, "
           "a.baseline_spread_pct, a.baseline_days, a.anomaly_score "
           f"from balance_alerts as a left join ({acked}) as k "
           "on k.organization_id = a.organization_id and k.balance_date = a.balance_date "
           f"and k.rule = a.rule where 1 = 1 {where} "
           "order by a.balance_date desc, abs(a.change_usd) desc, a.organization_id, "
           f"case when a.rule = '{SWING_RULE}' then 0 else 1 end, a.rule")
    rows = [dict(zip((*alerts_view.COLUMNS, *alerts_view.BASELINE), r))
            for r in conn.execute(sql, params).fetchall()]
    return [{**r, "rule": RULE_NAMES.get(r["rule"], r["rule"])} for r in rows]


def list_alerts(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts list``: the table, or one JSON array."""
    where, params = "", []
    if args.rule:
        where, params = where + " and a.rule = ?", [*params, RULES[args.rule]]
    if args.since:
        where, params = where + " and a.balance_date >= ?", [*params, _day(args.since, "--since")]
    if args.org:
        where, params = where + " and a.organization_id = ?", [*params, _org(args.org)]
    if args.found_before:
        where += " and a.first_seen_at < ?"
        params.append(_day(args.found_before, "--found-before"))
    rows = [r for r in _rows(conn, where, tuple(params))
            if args.status is None or r["status"] == args.status]
    return [alerts_view.rows_json(rows)] if args.json else alerts_view.table(rows)


def _day_alerts(conn: Connection, args: argparse.Namespace) -> list[dict]:
    """The alerts of ORG on DAY (of ``--rule``); refuses a day without one."""
    org, day = _org(args.org), _day(args.day)
    found = _rows(conn, "and a.organization_id = ? and a.balance_date = ?", (org, day))
    wanted = [r for r in found if args.rule is None or r["rule"] == args.rule]
    if not wanted:
        other = (f" (its alert that day: {' + '.join(r['rule'] for r in found)})"
                 if found else "")
        rule = f"{args.rule} " if args.rule else ""
        raise Refused(f"no {rule}alert for organization {org} on {day}{other}")
    return wanted


def _key(alert: dict) -> tuple[int, str, str]:
    return (int(alert["organization_id"]), alert["balance_date"], RULES[alert["rule"]])


def show_alert(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts show``: the day's page (each rule's alert), or one JSON array (an object per
    rule's alert, even one)."""
    found = _day_alerts(conn, args)
    causes = load_causes(conn, map(_key, found))
    pages = [alerts_view.AlertPage(a, causes.get(_key(a), ()), load_context(conn, _key(a)),
                                   operations.acks_of(conn, _key(a))) for a in found]
    return [alerts_view.page_json(pages)] if args.json else alerts_view.page_lines(pages)


def acknowledge(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts ack``: every rule's alert of the day (``--rule``'s only); refuses a day without
    one, writing nothing."""
    found = _day_alerts(conn, args)
    operations.acknowledge(conn, [_key(a) for a in found], args.note, args.verdict,
                           _who(args.by))
    rules = " + ".join(a["rule"] for a in found)
    return [f"acknowledged org {found[0]['organization_id']} on {found[0]['balance_date']} "
            f"({rules}) as {_who(args.by)}"]


def mute(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts mute``: refuses a day before today (UTC) and an organization the warehouse does
    not have; marks the organization's pending alerts muted."""
    org, until, today = _org(args.org), _day(args.until, "--until"), operations.today()
    if until < today:
        raise Refused(f"--until {until} is in the past (today is {today}, UTC): "
                      "a mute ends today or later")
    if not operations.known_organization(conn, org):
        raise Refused(f"organization {org} is not in the warehouse (dim_organizations lists "
                      "every organization of the exports and every one an invoice names): "
                      "nothing to mute")
    marked = operations.mute(conn, org, until, args.reason, _who(args.by))
    return [f"muted org {org} until {until}: {args.reason}; "
            f"{marked} pending alert(s) marked muted, never to be sent"]


def unmute(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts unmute``: refuses an organization that is not muted."""
    org = _org(args.org)
    if operations.mute_of(conn, org) is None:
        raise Refused(f"organization {org} is not muted: nothing to unmute")
    operations.unmute(conn, org)
    return [f"unmuted org {org}"]


def run_alerts(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """The ``alerts`` subcommand; prints its answer, returns an exit status."""
    try:
        if not warehouse.exists():
            raise Refused(f"warehouse not found: {warehouse}")
        with warehouse.connection() as conn:
            if "balance_alerts" not in conn.table_names():
                raise Refused(f"{warehouse} has no alerts yet: run `balancewatch monitor` first")
            with conn.transaction():  # an older warehouse gets this release's columns
                alert_records.ensure_table(conn)
                operations.ensure_tables(conn)
            if args.action == "list":
                lines = list_alerts(conn, args)
            elif args.action == "show":
                lines = show_alert(conn, args)
            elif args.action == "ack":
                lines = acknowledge(conn, args)
            elif args.action == "mute":
                lines = mute(conn, args)
            else:
                lines = unmute(conn, args)
    except Refused as exc:
        print(f"alerts: {exc}")
        return exit_codes.BAD_INPUT
    print("\n".join(lines))
    return exit_codes.OK
