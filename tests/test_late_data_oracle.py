"""The late-data oracle (tests/late_data.py) against numbers worked out by hand, and the generated
sequence's guarantees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deel_csv import invoice, organization, write_delivery
from tests.late_data import (
    BASE_ORG,
    alert_log,
    daily_balances,
    delivery_sequence,
    describe,
    expected_alerts,
    first_evaluated_day,
    invoices_as_of,
    swings,
)

ORG = -4611686018427387904  # listed
ORPH = -4611686018427387000  # orphan: in no organizations.csv


def _inv(id_: int, org: int, status: str, currency: str, amount: str, fx: str, at: str) -> dict:
    paid = status in ("paid", "refunded")
    return invoice(INVOICE_ID=str(id_), ORGANIZATION_ID=str(org), STATUS=status, CURRENCY=currency,
                   AMOUNT=amount, FX_RATE=fx, CREATED_AT=at,
                   PAYMENT_CURRENCY=currency if paid else "", PAYMENT_METHOD="card" if paid else "",
                   PAYMENT_AMOUNT=amount if paid else "", FX_RATE_PAYMENT=fx if paid else "")


USD, EUR, JPY, GBP = "1.00000000", "0.92000000", "148.50000000", "0.79000000"
P2_PAID = _inv(12, ORPH, "paid", "GBP", "237.00", GBP, "2024-03-03T15:30:00.000Z")  # 300 USD
FIRST = [
    _inv(1, ORG, "open", "EUR", "46.00", EUR, "2024-03-01T08:00:00.000Z"),  # ORG's first day: 0
    _inv(2, ORG, "paid", "USD", "200.00", USD, "2024-03-02T00:00:00.000Z"),  # 0 -> 200
    _inv(3, ORG, "paid", "USD", "100.00", USD, "2024-03-03T23:59:59.999Z"),  # 200 -> 300, +50%
    _inv(4, ORG, "paid", "USD", "400.00", USD, "2024-03-04T00:00:00.000Z"),  # 300 -> 700, +133%
    _inv(11, ORPH, "paid", "JPY", "29700.00", JPY, "2024-03-02T10:00:00.000Z"),  # 200 USD
    P2_PAID,
    _inv(13, ORPH, "refunded", "USD", "250.00", USD, "2024-03-03T16:00:00.000Z"),  # 200 -> 250
]
SECOND = [
    _inv(5, ORG, "paid", "USD", "500.00", USD, "2024-03-03T12:00:00.000Z"),  # late: 200 -> 800
    dict(P2_PAID, STATUS="refunded"),  # ORPH 03-03: 200 -> 200 - 300 - 250 = -350
]
STATE_1 = {
    (ORG, "2024-03-01"): (None, 0.0), (ORG, "2024-03-02"): (0.0, 200.0),
    (ORG, "2024-03-03"): (200.0, 300.0), (ORG, "2024-03-04"): (300.0, 700.0),
    (ORPH, "2024-03-02"): (None, 200.0), (ORPH, "2024-03-03"): (200.0, 250.0),
    (ORPH, "2024-03-04"): (250.0, 250.0),
}
STATE_2 = {
    (ORG, "2024-03-01"): (None, 0.0), (ORG, "2024-03-02"): (0.0, 200.0),
    (ORG, "2024-03-03"): (200.0, 800.0), (ORG, "2024-03-04"): (800.0, 1200.0),
    (ORPH, "2024-03-02"): (None, 200.0), (ORPH, "2024-03-03"): (200.0, -350.0),
    (ORPH, "2024-03-04"): (-350.0, -350.0),
}


@pytest.fixture
def hand(tmp_path: Path) -> list[Path]:
    orgs = [organization(ORGANIZATION_ID=str(ORG))]
    return [write_delivery(tmp_path / "d1", orgs, FIRST),
            write_delivery(tmp_path / "d2", orgs, SECOND)]


def _rounded(balances: dict) -> dict:
    return {key: (None if prev is None else round(prev, 6), round(bal, 6))
            for key, (prev, bal) in balances.items()}


def test_later_delivery_replaces_the_row_of_the_same_invoice(hand: list[Path]) -> None:
    first, both = invoices_as_of(hand[:1]), invoices_as_of(hand)
    assert sorted(first) == [1, 2, 3, 4, 11, 12, 13]
    assert sorted(both) == [1, 2, 3, 4, 5, 11, 12, 13]
    assert first[12]["STATUS"] == "paid" and both[12]["STATUS"] == "refunded"
    assert both[12]["CREATED_AT"] == first[12]["CREATED_AT"]


def test_balances_by_hand_orphan_fx_and_utc_midnight(hand: list[Path]) -> None:
    # 23:59:59.999Z stays on 03-03 and 00:00:00.000Z opens 03-04; JPY and GBP are divided by
    # FX_RATE; the orphan ORPH has rows; ORG's first day (an open invoice only) has balance 0.
    assert _rounded(daily_balances(invoices_as_of(hand[:1]))) == STATE_1
    assert _rounded(daily_balances(invoices_as_of(hand))) == STATE_2


def test_days_carry_forward_to_the_latest_invoice_day_of_all(tmp_path: Path) -> None:
    rows = [_inv(1, ORG, "paid", "USD", "10.00", USD, "2024-03-01T00:00:00.000Z"),
            _inv(2, ORPH, "open", "USD", "10.00", USD, "2024-03-03T00:00:00.000Z")]
    balances = daily_balances(invoices_as_of([write_delivery(tmp_path / "d", [], rows)]))
    assert balances == {(ORG, "2024-03-01"): (None, 10.0), (ORG, "2024-03-02"): (10.0, 10.0),
                        (ORG, "2024-03-03"): (10.0, 10.0), (ORPH, "2024-03-03"): (None, 0.0)}


def test_swings_by_hand(hand: list[Path]) -> None:
    state_1 = daily_balances(invoices_as_of(hand[:1]))
    # 03-02 from a zero balance and 03-03 at exactly +50% are no swings; 03-04 +133% is one.
    assert swings(state_1, from_day="2024-03-01") == {(ORG, "2024-03-04")}
    assert swings(state_1, threshold=0.4, from_day="2024-03-01") == {
        (ORG, "2024-03-03"), (ORG, "2024-03-04")}
    state_2 = daily_balances(invoices_as_of(hand))
    # ORG 03-04 is now exactly +50% (resolved); ORPH 03-03 flips sign (-275%): a swing.
    assert swings(state_2, from_day="2024-03-01") == {(ORG, "2024-03-03"), (ORPH, "2024-03-03")}
    assert swings(state_2, from_day="2024-03-04") == set()


def test_first_evaluated_day() -> None:
    assert first_evaluated_day("2024-03-04") == "2024-02-04"
    assert first_evaluated_day("2024-03-04", 1) == "2024-03-04"
    assert first_evaluated_day("2024-02-09") == "2024-01-11"


def test_expected_alerts_by_hand(hand: list[Path]) -> None:
    every, still = expected_alerts(hand)
    assert every == {(ORG, "2024-03-04"), (ORG, "2024-03-03"), (ORPH, "2024-03-03")}
    assert still == {(ORG, "2024-03-03"), (ORPH, "2024-03-03")}
    # A first run of one day evaluates 03-04 only: the late swings of 03-03 are before it.
    assert expected_alerts(hand, first_run_days=1) == ({(ORG, "2024-03-04")}, set())
    assert alert_log(hand) == {
        (ORG, "2024-03-04"): {"sent": 0, "detected_as": "new_day", "resolved": 1},
        (ORG, "2024-03-03"): {"sent": 1, "detected_as": "late_data", "resolved": None},
        (ORPH, "2024-03-03"): {"sent": 1, "detected_as": "late_data", "resolved": None},
    }


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_delivery_sequence_is_deterministic(tmp_path: Path) -> None:
    first = delivery_sequence(tmp_path / "a")
    delivery_sequence(tmp_path / "b")
    delivery_sequence(tmp_path / "c", seed=8)
    assert [p.name for p in first] == ["00_history"] + [f"{k:02d}_delta" for k in range(1, 7)]
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_each_delta_adds_one_day_and_resends_keep_their_fields(tmp_path: Path) -> None:
    deliveries = delivery_sequence(tmp_path)
    orgs = {(d / "organizations.csv").read_bytes() for d in deliveries}
    assert len(orgs) == 1
    seen: dict[int, dict[str, str]] = {}
    for i, delivery in enumerate(deliveries):
        rows = invoices_as_of([delivery])
        assert len(rows) == len((delivery / "invoices.csv").read_text().splitlines()) - 1
        if i:
            days = {row["CREATED_AT"][:10] for key, row in rows.items() if key not in seen}
            assert max(days) == f"2024-02-{9 + i:02d}"
        for key, row in rows.items():
            assert float(row["AMOUNT"]) > 0 and len(row["FX_RATE"].split(".")[1]) == 8
            assert bool(row["PAYMENT_CURRENCY"]) == (row["STATUS"] in ("paid", "refunded"))
            if key in seen:
                kept = {c for c in row if c.startswith("PAYMENT") or c == "FX_RATE_PAYMENT"}
                kept |= {"STATUS"}
                assert {c: v for c, v in row.items() if c not in kept} == {
                    c: v for c, v in seen[key].items() if c not in kept}
        seen.update(rows)
    assert all(-(2**63) <= key < 2**63 for key in seen)


@pytest.mark.parametrize("seed", [7, 1, 2024])
def test_describe_reports_what_the_sequence_exercises(tmp_path: Path, seed: int) -> None:
    facts = describe(delivery_sequence(tmp_path, seed=seed))
    assert facts["first_evaluated_day"] == "2024-01-11" and facts["as_of"] == "2024-02-15"
    assert facts["resolved"] >= 2  # B 01-21 (its previous day moved), A 02-01 (a refund)
    assert facts["late_swings"] >= 3  # A 02-01, C 02-05, the orphan's 02-07
    assert facts["pre_window_restatements"] >= 1  # D 01-05
    assert facts["zero_previous_moves"] >= 1 and facts["exact_threshold_moves"] >= 1
    assert facts["sign_flip_swings"] >= 1 and facts["orphan_alerts"] >= 1
    assert facts["neighbour_effects"] >= 2 and facts["late_new_invoices"] >= 6
    assert facts["resent_rows"] >= 6 * 3
    assert facts["flapping"] == 0  # no day swings, stops, and swings again: alerts are unambiguous


def test_scripted_alerts_of_the_sequence(tmp_path: Path) -> None:
    log = alert_log(delivery_sequence(tmp_path))
    scripted = {(org - BASE_ORG, day): entry for (org, day), entry in log.items()
                if org - BASE_ORG >= 2}
    assert scripted == {
        (3, "2024-01-21"): {"sent": 0, "detected_as": "new_day", "resolved": 3},
        (2, "2024-02-01"): {"sent": 1, "detected_as": "late_data", "resolved": 3},
        (5, "2024-02-11"): {"sent": 2, "detected_as": "new_day", "resolved": None},
        (4, "2024-02-05"): {"sent": 4, "detected_as": "late_data", "resolved": None},
        (99, "2024-02-07"): {"sent": 6, "detected_as": "late_data", "resolved": None},
    }
