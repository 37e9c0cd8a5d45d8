"""What a checkpoint run said, as plain typed values (no GX objects past this module)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SWING_RULE = "balance_swing"  # the rule name alerts are recorded under
ANOMALY_RULE = "anomaly"  # ... and the anomaly rule's (an organization against its own history)
NEW_DAY, LATE_DATA = "new_day", "late_data"  # balance_alerts.detected_as
SWING_TYPE = "expect_daily_balance_swings_within_threshold"
FX_RATE_TYPE = "expect_fx_rates_near_trailing_median"
VOLUME_TYPE = "expect_daily_invoice_volume_near_baseline"
RESENT_TYPE = "expect_no_resent_invoices"
#: expectation type -> what its flagged rows are, in words (the console's observed value)
FLAGGED_WORDS = {FX_RATE_TYPE: "currency-day(s) flagged", VOLUME_TYPE: "day figure(s) off band",
                 RESENT_TYPE: "day(s) with re-sent invoices"}
ANOMALY_TYPE = "expect_daily_balance_changes_typical_of_organization"
RULE_NAMES = {SWING_RULE: "swing", ANOMALY_RULE: "anomaly"}  # what a person reads
REPORTED_TYPES = ("expect_column_values_to_reference_other_table",)  # shown even when passing


@dataclass(frozen=True)
class Cause:
    """One invoice behind a day's balance change (its effect is what the balance rule counts)."""

    invoice_id: int
    status: str
    currency: str
    amount: float
    effect_usd: float
    created_at: str
    changed_by_load_id: int | None = None  # late data: the load that re-sent it
    previous_status: str | None = None  # ... and its status before

    def describe(self) -> str:
        """``invoice 42 paid EUR 307,256.53 = +$333,974.49`` (+ what changed, for late data)."""
        sign = "+" if self.effect_usd >= 0 else "-"
        line = (f"invoice {self.invoice_id} {self.status} {self.currency} {self.amount:,.2f} = "
                f"{sign}${abs(self.effect_usd):,.2f}")
        if self.changed_by_load_id is not None:
            was = f" (was {self.previous_status})" if self.previous_status else " (new)"
            line += f", load {self.changed_by_load_id}{was}"
        return line


@dataclass(frozen=True)
class OrganizationContext:
    """The organization behind an alert, and what its listed causes leave out."""

    daily_change_usd: float
    invoice_count: int
    other_invoice_count: int
    other_effect_usd: float
    is_orphan: bool
    legal_entity_country_code: int | None = None
    active_contract_count: int | None = None
    first_payment_date: str | None = None
    last_payment_date: str | None = None


@dataclass(frozen=True)
class Baseline:
    """Why the anomaly rule flagged a day: the organization's usual move on days of its kind."""

    day_kind: str  # "first" (the 1st of a month) or "ordinary"
    median_pct: float  # median relative change of those days, in percent
    spread_pct: float  # robust standard deviation (1.4826 x MAD, else 1.2533 x MeanAD), percent
    history_days: int  # how many such days the baseline holds
    score: float  # |change - median| / max(spread, min_scale)


@dataclass(frozen=True)
class SwingAlert:
    """One organization-day whose balance moved by more than the threshold."""

    organization_id: int
    balance_date: str
    previous_balance_usd: float
    balance_usd: float
    change_usd: float
    change_pct: float | None
    rule: str = SWING_RULE
    detected_as: str = NEW_DAY  # NEW_DAY, or LATE_DATA: a day evaluated before, restated since
    load_id: int | None = None  # late data: the newest load that restated the day
    reopened: bool = False  # it had been resolved, and swings again
    causes: tuple[Cause, ...] = ()  # its day's invoices by |USD effect| (as stored; may be cut)
    invoice_count: int = 0  # its day's invoices with a balance effect (causes may list fewer)
    first_seen_at: str | None = None  # when a run recorded it (UTC, utc_now's format)
    baseline: Baseline | None = None  # anomaly rule: the organization's usual move
    also: tuple[str, ...] = ()  # the other rules that flagged the same day (shown as one line)

    @property
    def key(self) -> tuple[int, str, str]:
        """The alert's identity: it is sent at most once per (organization, day, rule)."""
        return (self.organization_id, self.balance_date, self.rule)

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule that flagged this day: its own first."""
        return (self.rule, *self.also)

    @property
    def is_late(self) -> bool:
        return self.detected_as == LATE_DATA


@dataclass(frozen=True)
class Resolution:
    """A recorded alert whose day no longer swings after a restatement."""

    organization_id: int
    balance_date: str
    rule: str
    previous_balance_usd: float | None  # the day's figures now
    balance_usd: float | None
    sentence: str  # "no longer a swing: 900.00 -> 1,050.00 USD after load 7"
    message_ts: str | None = None  # the digest that carried the alert (None: never sent)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.organization_id, self.balance_date, self.rule)


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation that did not pass (or raised)."""

    suite: str
    expectation_type: str
    severity: str  # critical / warning / info
    what: str  # column or description
    observed: str  # observed value, unexpected count, or the exception message
    sentence: str = ""  # the check in words (its description; else its type and column)

    @property
    def check(self) -> str:
        """What a person reads for this check: its sentence, else its expectation type."""
        return self.sentence or self.expectation_type


@dataclass(frozen=True)
class SuiteSummary:
    """One suite's outcome in one run."""

    suite: str
    evaluated: int
    passed: int
    failures: tuple[FailedExpectation, ...]
    reported: tuple[str, ...] = ()  # observations printed even when they pass (orphan share)

    def failed(self, severity: str) -> int:
        return sum(1 for f in self.failures if f.severity == severity)


@dataclass(frozen=True)
class SwingFinding:
    """The swing expectation's answer: the full count and the top rows it returned."""

    total: int
    top: tuple[SwingAlert, ...]
    threshold: float
    window_start: str | None
    min_usd: float = 0.0  # the materiality floor the check applied
    rule: str = SWING_RULE
    settings: tuple[tuple[str, Any], ...] = ()  # anomaly rule: its query's settings


def raised_info(result: Any) -> dict[str, Any] | None:
    """The exception an expectation's validation raised, if any: GX 1.24 puts it at the top of
    ``exception_info``, or, when one of its metrics failed (a query error), under the metric's
    id."""
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return info
    return next((v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")),
                None)


def _severity(config: Any) -> str:
    value = getattr(config, "severity", "critical")
    return str(getattr(value, "value", value))


def _what(config: Any) -> str:
    kwargs = config.kwargs or {}
    if config.type in REPORTED_TYPES:
        return f"{kwargs.get('column')} -> {kwargs.get('other_table')}"
    if config.description:
        return str(config.description)
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ", ".join(kwargs["column_list"])
    return ""


def _sentence(config: Any) -> str:
    """``Paid invoices carry payment currency, method and amount`` (the description), or the
    type in words: ``Column values to not be null (amount_usd)``."""
    if config.description:
        return str(config.description)
    words = config.type.removeprefix("expect_").replace("_", " ")
    what = _what(config)
    words = words[:1].upper() + words[1:]
    return f"{words} ({what})" if what else words


def _observed(result: Any) -> str:
    info = raised_info(result)
    if info:
        message = str(info.get("exception_message") or "exception").splitlines()[0]
        return f"raised: {message[:200]}"
    res = result.result or {}
    if result.expectation_config.type == SWING_TYPE:
        count = res.get("observed_value") or 0
        return f"{count:,} swing{'' if count == 1 else 's'}"
    if result.expectation_config.type == ANOMALY_TYPE:
        count = res.get("observed_value") or 0
        return f"{count:,} anomal{'y' if count == 1 else 'ies'}"
    details = res.get("details") or {}
    words = FLAGGED_WORDS.get(result.expectation_config.type)
    if words and details.get("worst"):
        return f"{details.get('flagged_count', 0):,} {words}; worst: {details['worst']}"
    if "unmatched_count" in details:
        rows, unmatched = details["row_count"], details["unmatched_count"]
        return f"{unmatched:,} of {rows:,} rows unmatched ({100 * unmatched / max(rows, 1):.1f}%)"
    if res.get("unexpected_count") is not None:
        return f"{res['unexpected_count']:,} unexpected"
    observed = res.get("observed_value")
    if "unexpected_rows" in result.expectation_config.type and isinstance(observed, int):
        return f"{observed:,} unexpected row(s)"
    if isinstance(observed, float):
        return f"observed {observed:.4g}"
    return f"observed {observed}" if observed is not None else "failed"


def summarize_suite(validation: Any) -> SuiteSummary:
    """Summary of one ExpectationSuiteValidationResult."""
    failures, reported = [], []
    for r in validation.results:
        raised = raised_info(r)
        config = r.expectation_config
        if config.type in REPORTED_TYPES and not raised:
            reported.append(f"{_what(config) or config.type}: {_observed(r)}")
        if r.success and not raised:
            continue
        failures.append(
            FailedExpectation(
                suite=validation.suite_name,
                expectation_type=config.type,
                # a check that could not run vouches for nothing: critical, whatever its level
                severity="critical" if raised else _severity(config),
                what=_what(config),
                observed=_observed(r),
                sentence=_sentence(config),
            )
        )
    evaluated = len(validation.results)
    return SuiteSummary(validation.suite_name, evaluated, evaluated - len(failures),
                        tuple(failures), tuple(reported))


def swing_finding(validation: Any) -> SwingFinding | None:
    """The swing expectation's result in a suite's validation result, if it ran cleanly."""
    for r in validation.results:
        config = r.expectation_config
        if config.type != SWING_TYPE or raised_info(r):
            continue
        details = (r.result or {}).get("details") or {}
        top = tuple(
            SwingAlert(
                organization_id=s["entity_id"],
                balance_date=s["day"],
                previous_balance_usd=s["previous_balance"],
                balance_usd=s["balance"],
                change_usd=s["change_usd"],
                change_pct=s["change_pct"],
                rule=SWING_RULE,
            )
            for s in details.get("swings") or []
        )
        return SwingFinding(
            total=int(details.get("swing_count") or 0),
            top=top,
            threshold=float(details.get("threshold") or 0.5),
            window_start=details.get("window_start"),
            min_usd=float(details.get("min_abs_change_usd") or 0.0),
        )
    return None


def health_flags(validation: Any) -> list[tuple[str, dict[str, Any]]]:
    """(expectation type, flagged row) of the data-health checks (volume, re-sent invoices) in a
    suite's validation result: what :mod:`monitors.findings.check_health` records."""
    return [(r.expectation_config.type, row) for r in validation.results
            if r.expectation_config.type in (VOLUME_TYPE, RESENT_TYPE)
            and not raised_info(r)
            for row in ((r.result or {}).get("details") or {}).get("flagged") or []]

