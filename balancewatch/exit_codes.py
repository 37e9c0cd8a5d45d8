"""Exit statuses shared by every stage (docs/contract.md §3, the interface table)."""

OK = 0  # ran; warnings and alerts are allowed
CRITICAL_FAILURE = 1  # a critical expectation (or a dbt test) failed
BAD_INPUT = 2  # bad input or usage; nothing was written
