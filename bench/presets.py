"""Benchmark presets: which deterministic data set the project's generator writes for each."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SEED = 2024


@dataclass(frozen=True)
class BenchPreset:
    """A named data size and the ``python -m data.generate`` arguments that produce it."""

    name: str
    generator_args: tuple[str, ...]
    description: str


PRESETS: dict[str, BenchPreset] = {
    "tiny": BenchPreset(
        "tiny", ("--preset", "tiny"), "generator preset tiny: 30 orgs, ~1.9k invoices, 6 months"
    ),
    "small": BenchPreset(
        "small",
        ("--preset", "sample"),
        "generator preset sample (= the shipped data/sample): 300 orgs, ~24k invoices, 1 year",
    ),
    "medium": BenchPreset(
        "medium",
        (
            "--preset",
            "full",
            "--organizations",
            "2000",
            "--invoices",
            "1000000",
            "--start",
            "2022-05-01",
            "--end",
            "2024-04-30",
        ),
        "2,000 orgs, ~1M invoices, 2 years (full preset's shape, scaled down)",
    ),
    "full": BenchPreset(
        "full",
        ("--preset", "full"),
        "generator preset full: 21,806 orgs, ~12.7M invoices (~2.3 GB), 5 years",
    ),
}
DEFAULT_PRESET = "full"
