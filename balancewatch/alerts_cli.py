"""``balancewatch alerts``: see, acknowledge and silence alerts without opening the warehouse.

``list`` (filters, a table or ``--json``), ``show ORG DAY`` (figures, cause, history, or
``--json``), ``ack ORG DAY --note`` and ``mute ORG --until DAY --reason`` / ``unmute ORG``. Exit 0,
or 2 with a one-line message, nothing written, for a bad id or day, an unknown alert, a warehouse
without alerts, a mute of an organization the warehouse does not have or ending before today, and
an unmute of an organization not muted. What is printed, and the JSON, is
:mod:`balancewatch.alerts_view`'s.
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
from monitors.findings.results import SWING_RULE


class Refused(Exception):
    """Bad arguments or an unknown alert: exit 2 with this message."""


WAREHOUSE_HELP = ("the warehouse a monitor run recorded its alerts in (must exist): SQLite file, "
                  "postgresql://user@host:port/dbname or spark://host:port/database; "
                  f"{WAREHOUSE_DEFAULT_HELP}")
_ORG_HELP = "the organization's id (a 64-bit integer, often negative)"
_DAY_HELP = "the alert's balance day, YYYY-MM-DD"
_BY_HELP = "who (default $USER)"


def add_parser(sub: argparse._SubParsersAction, warehouse: argparse.ArgumentParser) -> None:
    """The ``alerts`` subcommand and its own subcommands (``warehouse``: the ``--warehouse``
    option, the only one they share)."""
    alerts = sub.add_parser("alerts", help="list, show, ack, mute alerts")
    act = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_list(act.add_parser("list", parents=[warehouse], help="alerts, newest day first"))
    show = act.add_parser("show", parents=[warehouse], help="one alert: figures, cause, history")
    _add_alert_key(show)
    show.add_argument("--json", action="store_true",
                      help="one JSON object: figures, status, causes, organization, history "
                      "(for scripts; ids are strings)")
    ack = act.add_parser("ack", parents=[warehouse], help="acknowledge an alert")
    _add_alert_key(ack)
    ack.add_argument("--note", required=True,
                     help="why the alert is fine, or what was done about it (required)")
    ack.add_argument("--verdict", choices=operations.VERDICTS,
                     help="expected (a known cause), incident (a real problem) or false-positive "
                     "(the rule misfired)")
    ack.add_argument("--by", help=_BY_HELP)
    mute = act.add_parser("mute", parents=[warehouse],
                          help="record an organization's swings without sending them (its "
                          "pending alerts too)")
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
                         "resolved (the day no longer swings), acknowledged, muted (recorded "
                         "during a mute, never sent)")
    listing.add_argument("--since", metavar="DAY", help="alerts on this day or later")
    listing.add_argument("--org", metavar="ID", help="only this organization's alerts")
    listing.add_argument("--found-before", metavar="DAY",
                         help="alerts a run recorded before this day (UTC)")
    listing.add_argument("--json", action="store_true",
                         help="one JSON array (for scripts; ids are strings)")


def _add_alert_key(parser: argparse.ArgumentParser) -> None:
    """ORG DAY: which alert."""
    parser.add_argument("org", metavar="ORG", help=_ORG_HELP)
    parser.add_argument("day", metavar="DAY", help=_DAY_HELP)


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
    acked = ("select distinct organization_id, balance_date, rule from balance_alert_acks"
             if "balance_alert_acks" in conn.table_names()
             else "select null as organization_id, null as balance_date, null as rule")
    sql = (f"select a.organization_id, a.balance_date, a.previous_balance_usd, a.balance_usd, "
           f"a.change_usd, a.change_pct, {operations.status_sql()}, a.detected_as, "
           "a.first_seen_at, a.sent_at, a.updated_at, a.resolved_at, a.resolution, "
           f"a.muted_reason from balance_alerts as a left join ({acked}) as k "
           "on k.organization_id = a.organization_id and k.balance_date = a.balance_date "
           f"and k.rule = a.rule where a.rule = ? {where} "
           "order by a.balance_date desc, abs(a.change_usd) desc")
    rows = conn.execute(sql, (SWING_RULE, *params)).fetchall()
    return [dict(zip(alerts_view.COLUMNS, r)) for r in rows]


def list_alerts(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts list``: the table, or one JSON array."""
    where, params = "", []
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


def _page(conn: Connection, key: tuple[int, str, str]) -> alerts_view.AlertPage:
    """Everything ``alerts show`` tells of one alert; refuses an unknown one."""
    found = _rows(conn, "and a.organization_id = ? and a.balance_date = ?", key[:2])
    if not found:
        raise Refused(f"no alert for organization {key[0]} on {key[1]}")
    return alerts_view.AlertPage(found[0], load_causes(conn, [key]).get(key, ()),
                                 load_context(conn, key), operations.acks_of(conn, key))


def show_alert(conn: Connection, args: argparse.Namespace) -> list[str]:
    """``alerts show``: the alert's page, or one JSON object."""
    page = _page(conn, (_org(args.org), _day(args.day), SWING_RULE))
    return [alerts_view.page_json(page)] if args.json else alerts_view.page_lines(page)


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
                key = (_org(args.org), _day(args.day), SWING_RULE)
                _page(conn, key)  # refuses an unknown alert
                operations.acknowledge(conn, key, args.note, args.verdict, _who(args.by))
                lines = [f"acknowledged org {key[0]} on {key[1]} as {_who(args.by)}"]
            elif args.action == "mute":
                lines = mute(conn, args)
            else:
                lines = unmute(conn, args)
    except Refused as exc:
        print(f"alerts: {exc}")
        return exit_codes.BAD_INPUT
    print("\n".join(lines))
    return exit_codes.OK
