"""What the custom SQL metrics share: one query on the batch's selectable, and safe identifiers.

A :class:`SqlTableMetric` subclass names its metric and implements :meth:`SqlTableMetric.compute`
(build one SELECT from the batch, run it, shape the rows); the GX plumbing (compute domain,
connection) lives here once.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def plain_identifier(value: str) -> str:
    """``value`` when it is a plain SQL identifier (config never reaches SQL unchecked)."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"must be a plain SQL identifier, got {value!r}")
    return value


class SqlTableMetric(TableMetricProvider):
    """A table metric computed by one SQL query in the warehouse (no metric name: not registered).

    Subclasses set ``metric_name``, ``value_keys``, ``default_kwarg_values`` and implement
    :meth:`compute`.
    """

    @classmethod
    def compute(
        cls, selectable: sa.FromClause, dialect_name: str, kwargs: dict[str, Any],
        conn: sa.Connection,
    ) -> Any:
        raise NotImplementedError

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> Any:
        selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        kwargs = {k: metric_value_kwargs.get(k, v) for k, v in cls.default_kwarg_values.items()}
        with execution_engine.get_connection() as conn:
            return cls.compute(selectable, execution_engine.engine.dialect.name, kwargs, conn)
