"""Load one delivery directory into the warehouse: all of it in one transaction, or nothing.

The same on both engines (:mod:`balancewatch.warehouse`); only the bulk write differs
(:mod:`loaders.bulk`).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from balancewatch.warehouse import Connection, Warehouse, parse
from loaders.bulk import DuplicateKey, Writer
from loaders.duplicates import find_repeated_keys
from loaders.errors import DeliveryRejected, ProblemCollector, ValueProblem
from loaders.reader import ReadCount, read_rows
from loaders.schema import TABLES, TableSpec

LARGE_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class TableSummary:
    """What one delivery did to one raw table."""

    table: str
    files_loaded: int = 0
    files_skipped: int = 0
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """The one-line summary printed after a load."""
        if not self.files_loaded:
            return f"{self.table}: nothing new ({self.files_skipped} file(s) already loaded)"
        rate = self.rows_read / self.seconds if self.seconds else 0.0
        skipped = f", {self.files_skipped} already loaded" if self.files_skipped else ""
        return (
            f"{self.table}: {self.rows_read:,} rows read, {self.rows_inserted:,} inserted, "
            f"{self.rows_updated:,} updated from {self.files_loaded} file(s){skipped} "
            f"in {self.seconds:.2f} s ({rate:,.0f} rows/s)"
        )


@dataclass
class LoadReport:
    """The outcome of loading a delivery."""

    load_id: int | None
    tables: dict[str, TableSummary] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.load_id is not None

    def lines(self) -> list[str]:
        return [summary.line() for summary in self.tables.values()]


@dataclass(frozen=True)
class DeliveryFile:
    """One export file of a delivery, with its content hash."""

    path: Path
    spec: TableSpec
    sha256: str


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def discover(directory: Path) -> list[DeliveryFile]:
    """The delivery's export files, organizations first, each kind in name order."""
    if not directory.is_dir():
        raise DeliveryRejected([ValueProblem(str(directory), 0, "-", None, "not a directory")])
    files: list[DeliveryFile] = []
    unknown: list[ValueProblem] = []
    csvs = sorted(p for p in directory.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    for spec in TABLES:
        for path in csvs:
            if path.name.lower().startswith(spec.file_prefix):
                files.append(DeliveryFile(path, spec, _sha256(path)))
    known = {f.path for f in files}
    for path in csvs:
        if path not in known:
            reason = "not an organizations*.csv or invoices*.csv export file"
            unknown.append(ValueProblem(path.name, 0, "-", None, reason))
    if unknown:
        raise DeliveryRejected(unknown)
    if not files:
        reason = "no organizations*.csv or invoices*.csv files in this directory"
        raise DeliveryRejected([ValueProblem(str(directory), 0, "-", None, reason)])
    return files


def _loaded_hashes(conn: Connection) -> set[str]:
    if "load_log" not in conn.table_names():
        return set()
    return {row[0] for row in conn.execute("select sha256 from load_log")}


def _load_file(
    writer: Writer,
    item: DeliveryFile,
    load_id: int,
    problems: ProblemCollector,
    show_progress: bool,
) -> tuple[int, int, int, float]:
    """Upsert one file; returns rows read, inserted, updated and seconds."""
    started = time.perf_counter()
    count = ReadCount()
    progress = show_progress and item.path.stat().st_size >= LARGE_FILE_BYTES
    rows = read_rows(
        item.path, item.spec, problems, extra=(load_id,), count=count, show_progress=progress
    )
    # Into an empty table a plain insert is faster; a key repeated in the delivery then fails the
    # unique key, and the delivery is rejected with the repeated keys' lines.
    try:
        inserted, updated = writer.write_rows(item.spec, rows)
    except DuplicateKey:
        find_repeated_keys([item.path], item.spec).raise_if_any()
        raise
    if problems:
        return count.rows, 0, 0, 0.0
    seconds = time.perf_counter() - started
    return count.rows, inserted, updated, seconds


def load_delivery(
    directory: Path,
    warehouse: str | os.PathLike[str] | Warehouse,
    *,
    show_progress: bool = True,
) -> LoadReport:
    """Load every new export file of ``directory`` into ``warehouse`` atomically.

    ``warehouse`` is a SQLite file path or a PostgreSQL URL (or a parsed :class:`Warehouse`).
    Files already loaded (same SHA-256) are skipped. Any problem rejects the whole delivery with
    :class:`DeliveryRejected` and leaves the warehouse as it was: the transaction is rolled back
    (a SQLite file stays byte-for-byte identical), and a warehouse that did not exist (file or
    database) is not left behind. Files of 50 MB or more report progress on stderr.
    """
    files = discover(directory)
    target = parse(warehouse)
    created = target.create()
    try:
        conn = target.connect()
    except BaseException:
        if created:
            target.drop()
        raise
    try:
        report = _load_in_transaction(conn, files, show_progress)
    except BaseException:
        conn.close()
        if created:
            target.drop()
        raise
    conn.close()
    return report


def _load_in_transaction(
    conn: Connection, files: list[DeliveryFile], show_progress: bool
) -> LoadReport:
    loaded = _loaded_hashes(conn)
    report = LoadReport(load_id=None)
    for spec in TABLES:
        report.tables[spec.name] = TableSummary(spec.name)
    pending: list[DeliveryFile] = []
    seen: set[str] = set(loaded)
    for item in files:
        if item.sha256 in seen:
            report.tables[item.spec.name].files_skipped += 1
            report.skipped.append(item.path.name)
        else:
            seen.add(item.sha256)
            pending.append(item)
    if not pending:
        return report

    writer = Writer(conn)
    try:
        load_id = conn.scalar("select coalesce(max(load_id), 0) + 1 from load_log")
        problems = ProblemCollector()
        loaded_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for item in pending:
            read, inserted, updated, seconds = _load_file(
                writer, item, load_id, problems, show_progress
            )
            summary = report.tables[item.spec.name]
            summary.files_loaded += 1
            summary.rows_read += read
            summary.rows_inserted += inserted
            summary.rows_updated += updated
            summary.seconds += seconds
            writer.log_file((load_id, item.path.name, item.sha256, item.spec.name, read,
                             inserted, updated, loaded_at, round(seconds, 3)))
        problems.raise_if_any()
        _reject_repeated_keys(pending, report)
        writer.finish()
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        writer.close()
    report.load_id = load_id
    return report


def _reject_repeated_keys(pending: list[DeliveryFile], report: LoadReport) -> None:
    """A key given twice in one delivery leaves fewer rows written than read: find and report."""
    for spec in TABLES:
        summary = report.tables[spec.name]
        written = summary.rows_inserted + summary.rows_updated
        if written < summary.rows_read:
            paths = [item.path for item in pending if item.spec is spec]
            find_repeated_keys(paths, spec).raise_if_any()
