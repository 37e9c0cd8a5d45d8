"""Stream one export file into typed rows, collecting every problem on the way."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from loaders.errors import ProblemCollector, ValueProblem
from loaders.fast_rows import build_fast_converter
from loaders.schema import Column, TableSpec

PROGRESS_EVERY_ROWS = 500_000
Converter = Callable[[str], object]


def _converter(column: Column) -> Converter:
    """Wrap a column's parser with its rule for empty values."""
    parse = column.parse
    if column.required:

        def required(text: str) -> object:
            if not text:
                raise ValueError("required value is empty")
            return parse(text)

        return required

    def optional(text: str) -> object:
        return parse(text) if text else None

    return optional


def _check_header(
    path: Path, header: list[str], spec: TableSpec, problems: ProblemCollector
) -> list[int] | None:
    """Map the file's columns onto the spec's; ``None`` when the header is unusable."""
    name = path.name
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        if title in positions:
            problems.add(ValueProblem(name, 1, title, None, "column appears twice in the header"))
        elif title not in spec.headers:
            problems.add(ValueProblem(name, 1, str(index + 1), title, "unknown column"))
        positions.setdefault(title, index)
    for title in spec.headers:
        if title not in positions:
            problems.add(ValueProblem(name, 1, title, None, "required column is missing"))
    if problems:
        return None
    return [positions[title] for title in spec.headers]


def _locate_bad_bytes(path: Path, problems: ProblemCollector) -> None:
    """Report each line that is not valid UTF-8, with the column of its first bad byte."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                column = len(line[: err.start].decode("utf-8", "replace")) + 1
                bad = line[err.start : err.end].hex(" ")
                problems.add(
                    ValueProblem(path.name, number, str(column), f"0x{bad}", "not valid UTF-8")
                )


class Progress:
    """Prints a progress line to stderr now and then while a large file loads."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled
        self.size = max(path.stat().st_size, 1)
        self.started = time.perf_counter()

    def update(self, rows: int, position: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        share = min(position / self.size, 1.0)
        print(
            f"  {self.path.name}: {rows:,} rows ({share:.0%}) in {elapsed:.1f} s",
            file=sys.stderr,
            flush=True,
        )


class ReadCount:
    """How many data rows a file held (good or bad), known once it was read."""

    def __init__(self) -> None:
        self.rows = 0


def read_rows(
    path: Path,
    spec: TableSpec,
    problems: ProblemCollector,
    *,
    extra: tuple[object, ...] = (),
    count: ReadCount | None = None,
    show_progress: bool = False,
) -> Iterator[tuple[object, ...]]:
    """Yield the file's rows typed in the spec's column order, followed by ``extra``.

    Rows with problems go to ``problems``; once there is any (in this file or an earlier one),
    nothing more is yielded, but the file is read to the end so that every problem is reported.
    Blank lines carry no data and are passed over. ``count`` receives the number of rows.
    """
    count = count if count is not None else ReadCount()
    if path.stat().st_size == 0:
        problems.add(ValueProblem(path.name, 1, "1", None, "empty file: no header row"))
        return
    converters = [_converter(c) for c in spec.columns]
    headers = spec.headers
    width = len(headers)
    progress = Progress(path, show_progress)
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                problems.add(ValueProblem(path.name, 1, "1", None, "empty file: no header row"))
                return
            order = _check_header(path, header, spec, problems)
            if order is None:
                return
            fast = build_fast_converter(spec, extra)
            in_spec_order = order == list(range(width))
            end_line = reader.line_num
            rows = 0
            for row in reader:
                line = end_line + 1
                end_line = reader.line_num
                if len(row) != width:
                    if row:
                        problems.add(_width_problem(path.name, line, row, headers))
                    continue
                if not in_spec_order:
                    row = [row[i] for i in order]
                rows += 1
                typed = fast(row)
                if typed is None:
                    typed = _convert_carefully(
                        path.name, line, row, converters, headers, problems, extra
                    )
                if typed is not None and not problems:
                    yield typed
                if rows % PROGRESS_EVERY_ROWS == 0:
                    progress.update(rows, handle.buffer.tell())
            count.rows = rows
    except UnicodeDecodeError:
        _locate_bad_bytes(path, problems)
    except csv.Error as err:
        problems.add(ValueProblem(path.name, reader.line_num, "?", None, f"malformed CSV: {err}"))


def _width_problem(name: str, line: int, row: list[str], headers: tuple[str, ...]) -> ValueProblem:
    """A row with too few or too many fields."""
    found, expected = len(row), len(headers)
    column = headers[found] if found < expected else str(expected + 1)
    return ValueProblem(name, line, column, None, f"expected {expected} fields, found {found}")


def _convert_carefully(
    name: str,
    line: int,
    row: list[str],
    converters: list[Converter],
    headers: tuple[str, ...],
    problems: ProblemCollector,
    extra: tuple[object, ...],
) -> tuple[object, ...] | None:
    """Type a row the fast path declined, reporting every bad value; None if any."""
    values: list[object] = []
    clean = True
    for convert, text, header in zip(converters, row, headers):
        try:
            values.append(convert(text))
        except ValueError as err:
            problems.add(ValueProblem(name, line, header, text, str(err)))
            clean = False
    return (*values, *extra) if clean else None
