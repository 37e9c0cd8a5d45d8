"""Command line of the sample-data generator.

    python -m data.generate --out data/sample                      # the shipped sample
    python -m data.generate --out /tmp/full --preset full          # 12.7M invoices, streamed
    python -m data.generate --out /tmp/next --follow-up-days 7     # the next 7 days' delta
    python -m data.generate --out /tmp/day2 --follow-up-from 2 --follow-up-days 2  # day 2 only
    python -m data.generate --out /tmp/incidents --incidents      # 5 deliveries, an incident each
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from data.presets import DEFAULT_PRESET, DEFAULT_SEED, PRESETS
from data.writer import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate", "main"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m data.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--organizations", type=int, help="listed organizations (override)")
    parser.add_argument("--invoices", type=int, help="approximate invoice count (override)")
    parser.add_argument("--start", type=dt.date.fromisoformat, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last day, YYYY-MM-DD")
    parser.add_argument("--follow-up-days", type=int, default=0,
                        help="write the delta for N days after the range end instead (1..300)")
    parser.add_argument("--follow-up-from", type=int, default=1, metavar="K",
                        help="with --follow-up-days N: only days K..N, as the delivery that "
                        "follows the one of days 1..K-1 (default 1)")
    parser.add_argument("--incidents", action="store_true",
                        help="write follow-up deliveries of days 1..5 with an incident planted in "
                        "each (short, re-sent, balance anomaly, inverted FX), and INCIDENTS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: exit 0 on success, 2 on bad arguments."""
    args = parse_args(argv)
    if not 0 <= args.follow_up_days <= 300:
        print("error: --follow-up-days must be between 0 and 300", file=sys.stderr)
        return 2
    if not 1 <= args.follow_up_from <= max(args.follow_up_days, 1):
        print("error: --follow-up-from must be between 1 and --follow-up-days", file=sys.stderr)
        return 2
    if args.incidents:
        from data.incidents import write_incidents

        try:
            incidents = write_incidents(args.out, args.preset, args.seed)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for incident in incidents:
            print(f"{incident.day}  {incident.folder}: {incident.what}")
        return 0
    try:
        summary = generate(
            args.out, args.preset, args.seed, organizations=args.organizations,
            invoices=args.invoices, start=args.start, end=args.end,
            follow_up_days=args.follow_up_days, follow_up_from=args.follow_up_from,
            progress=sys.stderr,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
