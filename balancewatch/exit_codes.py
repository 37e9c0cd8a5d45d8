"""Exit statuses shared by every stage (see the contract's interface table)."""

OK = 0  # ran; warnings and alerts are allowed
CRITICAL_FAILURE = 1  # a critical expectation (or a dbt test) failed
BAD_INPUT = 2  # bad input or usage; nothing was written
