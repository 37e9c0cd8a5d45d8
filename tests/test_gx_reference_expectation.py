"""The orphan-share expectation: NULL keys are no orphans; NULLs in the other table are harmless."""

from __future__ import annotations

import sqlite3

import pytest

gx = pytest.importorskip("great_expectations")

from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from monitors.checks.reference_expectation import ExpectColumnValuesToReferenceOtherTable  # noqa: E402


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    db = tmp_path_factory.mktemp("ref") / "w.db"
    conn = sqlite3.connect(db)
    conn.execute("create table orgs (organization_id integer)")
    conn.executemany("insert into orgs values (?)", [(1,), (2,), (None,)])
    conn.execute("create table inv (invoice_id integer, organization_id integer)")
    conn.executemany("insert into inv values (?, ?)", [(10, 1), (11, 2), (12, 3), (13, None)])
    conn.commit()
    conn.close()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_sqlite("ref", connection_string=f"sqlite:///{db}")
    return source.add_table_asset("inv", table_name="inv").add_batch_definition_whole_table(
        "all").get_batch()


@pytest.mark.parametrize(("max_share", "success"), [(0.2, False), (0.25, True), (0.3, True)])
def test_share_of_unmatched_keys(batch, max_share, success):
    result = batch.validate(ExpectColumnValuesToReferenceOtherTable(
        column="organization_id", other_table="orgs", other_column="organization_id",
        max_share=max_share, severity="warning"))
    assert result.success is success
    assert result.result["observed_value"] == 0.25  # 1 orphan (org 3) of 4 rows; NULL is no orphan
    assert result.result["details"] == {"row_count": 4, "unmatched_count": 1}


def test_identifiers_are_validated():
    with pytest.raises(ValueError):
        ExpectColumnValuesToReferenceOtherTable(
            column="organization_id", other_table="orgs; drop table inv", other_column="x")
