"""``UnexpectedRowsExpectation`` run as one count per check, with one query per SQL dialect.

Two things GX's own ``UnexpectedRowsExpectation`` does not do:

* **One query, not two.** GX computes both ``unexpected_rows_query.table`` (up to 200 rows, shown
  only with result format COMPLETE) and ``unexpected_rows_query.row_count``; when nothing is
  unexpected each of them scans the whole batch. The monitor's checkpoints use SUMMARY, so this
  class asks for the count only: at full scale (20M daily rows) that halves every such check.
* **A query per dialect.** A few checks need SQL that engines spell differently (SQLite's
  ``typeof``/``date()``/``glob`` against PostgreSQL's ``pg_typeof``/date subtraction/``~`` and
  Spark SQL's ``typeof``/``date_sub``/``rlike``). ``unexpected_rows_query`` is the SQLite query
  (shown in Data Docs), ``dialect_queries`` holds the other dialects' versions, keyed by
  SQLAlchemy dialect name (``postgresql``, ``hive`` for Spark through PyHive); at validation
  time the execution engine's dialect picks the query.

Import this module before any suite loads (GX registers classes on import).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation

ROW_COUNT_METRIC = "unexpected_rows_query.row_count"


class UnexpectedRowsByDialectExpectation(UnexpectedRowsExpectation):
    """No rows returned by this dialect's query (``dialect_queries``, else the default one)."""

    dialect_queries: dict[str, str] = {}
    metric_dependencies: ClassVar[tuple[str, ...]] = (ROW_COUNT_METRIC,)

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

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        count = metrics[ROW_COUNT_METRIC]
        return {"success": count == 0, "result": {"observed_value": count}}
