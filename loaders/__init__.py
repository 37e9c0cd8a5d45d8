"""Loaders: put a delivery of Deel-format CSV exports into the SQLite warehouse."""

from loaders.delivery import LoadReport, TableSummary, load_delivery
from loaders.errors import DeliveryRejected, ValueProblem

__all__ = ["DeliveryRejected", "LoadReport", "TableSummary", "ValueProblem", "load_delivery"]
