"""What the custom expectations' Data Docs renderers have in common: the expectation's sentence,
the flagged rows the result carries, a count in words and the table of those rows (with the
caption above it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from great_expectations.render import RenderedStringTemplateContent, RenderedTableContent

TABLE_STYLING = {"body": {"classes": ["table-bordered", "table-sm", "mt-3"]}}


def sentence(template: str, params: dict[str, Any],
             runtime_configuration: dict | None = None) -> list[RenderedStringTemplateContent]:
    """The prescriptive renderer's one block: ``template`` with its ``$params``."""
    styling = (runtime_configuration or {}).get("styling", {})
    return [RenderedStringTemplateContent(
        content_block_type="string_template",
        string_template={"template": template, "params": params, "styling": styling},
    )]


def flagged_details(result: Any, rows_key: str) -> dict[str, Any] | None:
    """The result's ``details`` when its ``rows_key`` list has rows; else None."""
    details = (result.result or {}).get("details") if result is not None else None
    return details if details and details.get(rows_key) else None


def observed_count(result: Any, one: str, many: str) -> str:
    """The observed value (a count) in words, ``--`` when there is none."""
    count = (result.result or {}).get("observed_value") if result is not None else None
    return "--" if count is None else f"{count} {one if count == 1 else many}"


def table(header: Sequence[str], rows: list[list[str]], caption: str | None = None
          ) -> list[Any]:
    """The unexpected-rows renderer's blocks: the caption (if any), then the table."""
    blocks: list[Any] = []
    if caption:
        blocks.append(RenderedStringTemplateContent(
            content_block_type="string_template",
            string_template={"template": caption, "params": {}}))
    blocks.append(RenderedTableContent(content_block_type="table", header_row=list(header),
                                       table=rows, styling=TABLE_STYLING))
    return blocks
