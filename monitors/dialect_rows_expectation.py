"""``UnexpectedRowsExpectation`` with one query per SQL dialect, chosen when it runs.

A few checks need SQL that engines spell differently (SQLite's ``typeof``/``julianday`` against
PostgreSQL's ``pg_typeof``/date subtraction). The suite keeps one expectation for such a check:
``unexpected_rows_query`` is the SQLite query (shown in Data Docs), ``dialect_queries`` holds the
other dialects' versions, keyed by SQLAlchemy dialect name; at validation time the execution
engine's dialect picks the query. Import this module before any suite loads (GX registers
classes on import).
"""

from __future__ import annotations

from typing import Any

from great_expectations.expectations import UnexpectedRowsExpectation


class UnexpectedRowsByDialectExpectation(UnexpectedRowsExpectation):
    """No rows returned by this dialect's query (``dialect_queries``, else the default one)."""

    dialect_queries: dict[str, str] = {}

    def query_for(self, dialect_name: str | None) -> Any:
        """The query the engine of ``dialect_name`` runs."""
        return self.dialect_queries.get(dialect_name or "", self.unexpected_rows_query)

    def get_validation_dependencies(
        self, execution_engine: Any = None, runtime_configuration: dict | None = None
    ) -> Any:
        engine = getattr(execution_engine, "engine", None)
        dialect = getattr(getattr(engine, "dialect", None), "name", None)
        query = self.query_for(dialect)
        chosen = self if query == self.unexpected_rows_query else self.copy(
            update={"unexpected_rows_query": query}
        )
        return UnexpectedRowsExpectation.get_validation_dependencies(
            chosen, execution_engine=execution_engine, runtime_configuration=runtime_configuration
        )
