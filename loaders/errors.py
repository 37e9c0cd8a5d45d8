"""Errors a delivery can be rejected with, formatted as ``file:line:column: value: reason``."""

from __future__ import annotations

from dataclasses import dataclass

MAX_REPORTED = 20


@dataclass(frozen=True)
class ValueProblem:
    """One value (or one structural fault) that stops a delivery from loading."""

    file: str
    line: int
    column: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        shown = "" if self.value is None else f"{self.value!r}: "
        return f"{self.file}:{self.line}:{self.column}: {shown}{self.reason}"


class DeliveryRejected(Exception):
    """The whole delivery was rejected; the warehouse was left as it was."""

    def __init__(self, problems: list[ValueProblem], total: int | None = None) -> None:
        self.problems = problems[:MAX_REPORTED]
        self.total = total if total is not None else len(problems)
        super().__init__(self.message())

    def message(self) -> str:
        """The user-facing text: the first problems, then how many more there were."""
        lines = [str(p) for p in self.problems]
        hidden = self.total - len(self.problems)
        if hidden > 0:
            lines.append(f"... and {hidden:,} more problem(s)")
        lines.append(f"delivery rejected: {self.total:,} problem(s); the warehouse was not changed")
        return "\n".join(lines)


class ProblemCollector:
    """Keeps the first problems of a delivery and counts all of them."""

    def __init__(self) -> None:
        self.kept: list[ValueProblem] = []
        self.total = 0

    def add(self, problem: ValueProblem) -> None:
        self.total += 1
        if len(self.kept) < MAX_REPORTED:
            self.kept.append(problem)

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self) -> None:
        if self.total:
            raise DeliveryRejected(self.kept, self.total)
