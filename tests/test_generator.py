"""The sample-data generator: Deel export format, its quirks, planted swings, follow-ups.

Balances here are recomputed from the CSV text with plain Python, independently of the
generator's own bookkeeping.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import re
import statistics
from decimal import Decimal
from pathlib import Path

import pytest

from data import generate, planted_events, planted_swings
from data.generate import main

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
HASH_NULL = "8817975702393619368"
ORG_HEADER = (
    "ORGANIZATION_ID,FIRST_PAYMENT_DATE,LAST_PAYMENT_DATE,LEGAL_ENTITY_COUNTRY_CODE,"
    "COUNT_TOTAL_CONTRACTS_ACTIVE,CREATED_DATE"
)
INVOICE_HEADER = (
    "INVOICE_ID,PARENT_INVOICE_ID,TRANSACTION_ID,ORGANIZATION_ID,TYPE,STATUS,CURRENCY,"
    "PAYMENT_CURRENCY,PAYMENT_METHOD,AMOUNT,PAYMENT_AMOUNT,FX_RATE,FX_RATE_PAYMENT,CREATED_AT"
)
STATUSES = {
    "paid", "open", "skipped", "cancelled", "credited", "pending", "failed", "processing",
    "refunded", "unpayable", "awaiting_payment",
}
CREATED_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SIGN = {"paid": 1, "refunded": -1}


def read(path: Path) -> list[dict[str, str]]:
    """Rows of a generated CSV file."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def is_int64(text: str) -> bool:
    """True for the decimal text of a signed 64-bit integer."""
    return re.fullmatch(r"-?\d+", text) is not None and -(2**63) <= int(text) < 2**63


def daily_balances(invoices: list[dict[str, str]], org_id: str, last: str) -> dict[str, float]:
    """Balance per calendar day (docs/contract.md §2), from the first invoice day to `last`."""
    changes: dict[str, float] = collections.defaultdict(float)
    for row in invoices:
        if row["ORGANIZATION_ID"] == org_id:
            usd = float(row["AMOUNT"]) / float(row["FX_RATE"])
            changes[row["CREATED_AT"][:10]] += SIGN.get(row["STATUS"], 0) * usd
    day, end = dt.date.fromisoformat(min(changes)), dt.date.fromisoformat(last)
    balances, balance = {}, 0.0
    while day <= end:
        balance += changes.get(day.isoformat(), 0.0)
        balances[day.isoformat()] = balance
        day += dt.timedelta(days=1)
    return balances


def change_ratio(balances: dict[str, float], day: str) -> float | None:
    """|balance - previous| / |previous| on `day`, None when there is no non-zero previous day."""
    previous_day = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    previous = balances.get(previous_day)
    if not previous:
        return None
    return abs(balances[day] - previous) / abs(previous)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny delivery with the default seed."""
    out = tmp_path_factory.mktemp("tiny")
    generate(out, preset="tiny")
    return out


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample preset regenerated with the default seed."""
    out = tmp_path_factory.mktemp("sample")
    generate(out, preset="sample")
    return out


@pytest.fixture(scope="module")
def orgs(sample: Path) -> list[dict[str, str]]:
    return read(sample / "organizations.csv")


@pytest.fixture(scope="module")
def invoices(sample: Path) -> list[dict[str, str]]:
    return read(sample / "invoices.csv")


@pytest.mark.parametrize("name", ["organizations.csv", "invoices.csv", "PLANTED.md"])
def test_committed_sample_is_what_the_documented_command_produces(sample: Path, name: str) -> None:
    assert (sample / name).read_bytes() == (SAMPLE / name).read_bytes()


def test_same_arguments_give_byte_identical_files(tiny: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", preset="tiny")
    generate(tmp_path / "other", preset="tiny", seed=7)
    for name in ("organizations.csv", "invoices.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tiny / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (tiny / name).read_bytes()


@pytest.mark.parametrize(("name", "header"), [
    ("organizations.csv", ORG_HEADER), ("invoices.csv", INVOICE_HEADER)
])
def test_exact_header_lf_endings_and_minimal_quoting(tiny: Path, name: str, header: str) -> None:
    raw = (tiny / name).read_bytes()
    assert raw.startswith(header.encode() + b"\n") and b"\r" not in raw and raw.endswith(b"\n")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    again = io.StringIO()
    csv.writer(again, lineterminator="\n").writerows(rows)
    assert again.getvalue().encode() == raw
    assert {len(row) for row in rows} == {len(header.split(","))}


def test_organization_columns(orgs: list[dict[str, str]]) -> None:
    ids = [o["ORGANIZATION_ID"] for o in orgs]
    assert len(orgs) == 300 and len(set(ids)) == len(ids) and all(map(is_int64, ids))
    assert 0.3 < sum(i.startswith("-") for i in ids) / len(ids) < 0.7
    countries = {o["LEGAL_ENTITY_COUNTRY_CODE"] for o in orgs}
    assert all(map(is_int64, countries)) and 40 <= len(countries) <= 150
    contracts = [int(o["COUNT_TOTAL_CONTRACTS_ACTIVE"]) for o in orgs]
    assert min(contracts) >= 1 and statistics.median(contracts) == 2 and max(contracts) >= 30


def test_created_date_has_zero_to_six_fraction_digits(orgs: list[dict[str, str]]) -> None:
    assert all(CREATED_DATE.match(o["CREATED_DATE"]) for o in orgs)
    digits = {len((o["CREATED_DATE"][:-1].split(".") + [""])[1]) for o in orgs}
    assert digits == set(range(7))


def test_payment_dates_match_paid_invoices_and_are_empty_for_about_11_percent(
    orgs: list[dict[str, str]], invoices: list[dict[str, str]]
) -> None:
    paid_days = collections.defaultdict(list)
    first_invoice: dict[str, str] = {}
    for row in invoices:
        org, created = row["ORGANIZATION_ID"], row["CREATED_AT"]
        first_invoice[org] = min(first_invoice.get(org, created), created)
        if row["STATUS"] in SIGN:
            paid_days[org].append(created[:10])
    empty = [o for o in orgs if not o["FIRST_PAYMENT_DATE"]]
    assert all(not o["LAST_PAYMENT_DATE"] for o in empty)
    assert 0.07 <= len(empty) / len(orgs) <= 0.15
    for org in orgs:
        days = paid_days.get(org["ORGANIZATION_ID"], [])
        expected = (min(days), max(days)) if days else ("", "")
        assert (org["FIRST_PAYMENT_DATE"], org["LAST_PAYMENT_DATE"]) == expected
        first = first_invoice.get(org["ORGANIZATION_ID"])
        if first:
            created = dt.datetime.fromisoformat(org["CREATED_DATE"])
            assert created < dt.datetime.fromisoformat(first)


def test_invoice_ids_sentinels_orphans_and_types(
    orgs: list[dict[str, str]], invoices: list[dict[str, str]]
) -> None:
    n = len(invoices)
    ids = [row["INVOICE_ID"] for row in invoices]
    assert 20_000 <= n <= 28_000 and len(set(ids)) == n and all(map(is_int64, ids))
    assert HASH_NULL not in ids
    parent_null = sum(row["PARENT_INVOICE_ID"] == HASH_NULL for row in invoices) / n
    txn_null = sum(row["TRANSACTION_ID"] == HASH_NULL for row in invoices) / n
    assert 0.30 < parent_null < 0.40 and 0.22 < txn_null < 0.32
    listed = {o["ORGANIZATION_ID"] for o in orgs}
    assert 0.10 < sum(row["ORGANIZATION_ID"] not in listed for row in invoices) / n < 0.16
    types = {row["TYPE"] for row in invoices}
    assert len(types) == 17 and all(map(is_int64, types))


def test_all_statuses_in_a_realistic_mix(invoices: list[dict[str, str]]) -> None:
    mix = collections.Counter(row["STATUS"] for row in invoices)
    share = {status: count / len(invoices) for status, count in mix.items()}
    assert set(mix) == STATUSES
    assert 0.65 < share["paid"] < 0.8
    assert 0.01 < share["refunded"] < 0.06 and 0.01 < share["credited"] < 0.06


def test_currencies_and_per_usd_fx_rates(invoices: list[dict[str, str]]) -> None:
    rates = collections.defaultdict(list)
    for row in invoices:
        assert re.fullmatch(r"\d+\.\d{8}", row["FX_RATE"])
        rates[row["CURRENCY"]].append(float(row["FX_RATE"]))
    assert len(rates) >= 50 and "USDC" in rates
    assert set(rates["USD"]) == {1.0}
    for code, expected in {"EUR": 0.92, "GBP": 0.79, "JPY": 148.0, "USDC": 1.0}.items():
        assert abs(statistics.median(rates[code]) / expected - 1) < 0.05
        assert max(rates[code]) / min(rates[code]) < 1.15


def test_payment_fields_only_when_something_was_paid(invoices: list[dict[str, str]]) -> None:
    columns = ("PAYMENT_CURRENCY", "PAYMENT_METHOD", "PAYMENT_AMOUNT", "FX_RATE_PAYMENT")
    dropped_zeros = 0
    for row in invoices:
        assert re.fullmatch(r"\d+\.\d\d", row["AMOUNT"]) and Decimal(row["AMOUNT"]) > 0
        filled = [bool(row[c]) for c in columns]
        assert filled == [row["STATUS"] in SIGN] * 4
        if row["PAYMENT_AMOUNT"]:
            assert re.fullmatch(r"\d+(\.\d?[1-9])?", row["PAYMENT_AMOUNT"])
            dropped_zeros += not row["PAYMENT_AMOUNT"].endswith(row["AMOUNT"][-2:])
            if row["PAYMENT_CURRENCY"] == row["CURRENCY"]:
                assert Decimal(row["PAYMENT_AMOUNT"]) == Decimal(row["AMOUNT"])
    assert dropped_zeros > 0


def test_created_at_format_and_monthly_runs(invoices: list[dict[str, str]]) -> None:
    created = [row["CREATED_AT"] for row in invoices]
    assert all(CREATED_AT.match(c) for c in created)
    assert 0.27 < sum(c[8:10] == "01" for c in created) / len(created) < 0.37
    assert any("T23:59:59.9" in c for c in created) and any("T00:00:00.0" in c for c in created)
    assert min(created) >= "2023-05-01" and max(created) < "2024-05-01"


def test_planted_swings_show_up_in_balances_recomputed_from_the_csv(
    sample: Path, invoices: list[dict[str, str]]
) -> None:
    events = planted_events("sample")
    swings = planted_swings("sample")
    assert 5 <= len(swings) <= 8 and len(events) == len(swings) + 1
    assert all("2024-04-17" <= e.day <= "2024-04-30" for e in events)
    currencies = {
        row["CURRENCY"] for row in invoices
        for e in events
        if row["ORGANIZATION_ID"] == str(e.organization_id) and row["CREATED_AT"][:10] == e.day
    }
    assert currencies - {"USD"}
    for org_id in {e.organization_id for e in events}:
        balances = daily_balances(invoices, str(org_id), "2024-04-30")
        flagged = {day for day in balances if day >= "2024-04-01"
                   and (change_ratio(balances, day) or 0) > 0.5}
        assert flagged == {s.day for s in swings if s.organization_id == org_id}
    control = next(e for e in events if not e.is_swing)
    balances = daily_balances(invoices, str(control.organization_id), "2024-04-30")
    assert change_ratio(balances, control.day) == 0.5
    planted_md = (sample / "PLANTED.md").read_text()
    assert all(str(s.organization_id) in planted_md and s.day in planted_md for s in swings)


def test_mature_organizations_are_mostly_swing_free_at_the_end(
    invoices: list[dict[str, str]],
) -> None:
    planted = {str(e.organization_id) for e in planted_events("sample")}
    first_day: dict[str, str] = {}
    for row in invoices:
        org = row["ORGANIZATION_ID"]
        first_day[org] = min(first_day.get(org, row["CREATED_AT"]), row["CREATED_AT"])
    mature = [o for o, first in first_day.items() if first < "2023-06-01" and o not in planted]
    by_org = collections.defaultdict(list)
    for row in invoices:
        by_org[row["ORGANIZATION_ID"]].append(row)
    swinging = []
    for org in mature:
        balances = daily_balances(by_org[org], org, "2024-04-30")
        if any((change_ratio(balances, d) or 0) > 0.5 for d in balances if d >= "2024-04-17"):
            swinging.append(org)
    assert len(mature) >= 50 and len(swinging) <= 0.05 * len(mature)


def test_follow_up_delivery_extends_the_base_consistently(tiny: Path, tmp_path: Path) -> None:
    summary = generate(tmp_path / "d7", preset="tiny", follow_up_days=7)
    generate(tmp_path / "d14", preset="tiny", follow_up_days=14)
    base = {row["INVOICE_ID"]: row for row in read(tiny / "invoices.csv")}
    delta = read(tmp_path / "d7" / "invoices.csv")
    assert summary.invoices == len(delta) > 0
    assert (tmp_path / "d7" / "organizations.csv").read_text().startswith(ORG_HEADER + "\n")
    changes = collections.Counter()
    for row in delta:
        old = base.get(row["INVOICE_ID"])
        if old is None:
            assert "2024-05-01" <= row["CREATED_AT"] < "2024-05-08"
            continue
        same = ("ORGANIZATION_ID", "AMOUNT", "CURRENCY", "CREATED_AT", "TYPE", "FX_RATE")
        assert all(row[c] == old[c] for c in same) and row["STATUS"] != old["STATUS"]
        assert bool(row["PAYMENT_AMOUNT"]) == (row["STATUS"] in SIGN)
        changes[(old["STATUS"], row["STATUS"])] += 1
    assert any(new == "paid" for _, new in changes) and ("paid", "refunded") in changes
    later = {row["INVOICE_ID"]: row for row in read(tmp_path / "d14" / "invoices.csv")}
    new_in_week = [row for row in delta if row["INVOICE_ID"] not in base]
    assert all(later[row["INVOICE_ID"]]["AMOUNT"] == row["AMOUNT"] for row in new_in_week)


def test_cli_custom_range_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--out", str(tmp_path), "--preset", "tiny", "--organizations", "5",
            "--invoices", "300", "--start", "2024-01-01", "--end", "2024-02-29"]
    assert main(args) == 0
    assert "5 organizations" in capsys.readouterr().out
    assert len(read(tmp_path / "organizations.csv")) == 5
    created = [row["CREATED_AT"] for row in read(tmp_path / "invoices.csv")]
    assert created and "2024-01-01" <= min(created) and max(created) < "2024-03-01"
    assert main(["--out", str(tmp_path), "--start", "2024-03-01", "--end", "2024-02-01"]) == 2
    assert "--end must not be before --start" in capsys.readouterr().err


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_incidents_plant_each_kind_in_its_own_follow_up_delivery(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path / "inc"), "--preset", "tiny", "--incidents"]) == 0
    out = tmp_path / "inc"
    assert sorted(p.name for p in out.iterdir()) == [
        "INCIDENTS.md", "day-1-ordinary", "day-2-short", "day-3-resent", "day-4-balance-anomaly",
        "day-5-fx-inverted"]
    plain = tmp_path / "plain"
    for k, name in enumerate(("day-1-ordinary", "day-2-short", "day-3-resent",
                              "day-4-balance-anomaly", "day-5-fx-inverted"), start=1):
        generate(plain / name, "tiny", follow_up_days=k, follow_up_from=k)
    day = {name: f"2024-05-0{k}" for k, name in enumerate(sorted(
        p.name for p in out.iterdir() if p.is_dir()), start=1)}

    def new(rows: list[dict[str, str]], name: str) -> list[dict[str, str]]:
        return [r for r in rows if r["CREATED_AT"].startswith(day[name])]

    assert _rows(out / "day-1-ordinary" / "invoices.csv") == _rows(
        plain / "day-1-ordinary" / "invoices.csv")
    short, full = (_rows(p / "day-2-short" / "invoices.csv") for p in (out, plain))
    assert len(new(short, "day-2-short")) == -(-len(new(full, "day-2-short")) // 10)
    resent = new(_rows(out / "day-3-resent" / "invoices.csv"), "day-3-resent")
    key = collections.Counter((r["ORGANIZATION_ID"], r["AMOUNT"], r["CURRENCY"],
                               r["CREATED_AT"], r["TRANSACTION_ID"]) for r in resent)
    assert set(key.values()) == {2} and len({r["INVOICE_ID"] for r in resent}) == len(resent)
    anomaly = _rows(out / "day-4-balance-anomaly" / "invoices.csv")
    extra = [r for r in anomaly if r not in _rows(plain / "day-4-balance-anomaly" /
                                                  "invoices.csv")]
    assert [(r["STATUS"], r["CURRENCY"], r["CREATED_AT"]) for r in extra] == [
        ("refunded", "USD", "2024-05-04T14:30:00.000Z")]
    inverted = {r["INVOICE_ID"]: r for r in _rows(out / "day-5-fx-inverted" / "invoices.csv")}
    eur = [r for r in new(_rows(plain / "day-5-fx-inverted" / "invoices.csv"),
                          "day-5-fx-inverted") if r["CURRENCY"] == "EUR"]
    assert eur and all(float(inverted[r["INVOICE_ID"]]["FX_RATE"]) * float(r["FX_RATE"])
                       == pytest.approx(1, abs=1e-6) for r in eur)
    listed = (out / "INCIDENTS.md").read_text()
    assert "| `day-2-short` | 2024-05-02 |" in listed and "2024-05-09" in listed
