"""Refuse a SQLite warehouse location that cannot be written, before anything is written.

A run writes the warehouse file, SQLite's journal beside it and the warehouse's docs folder
(``<name>-docs/``, also beside it), so the file and its folder must both be writable. A folder
that does not exist is refused too (a typo in ``--warehouse`` would otherwise start a new, empty
warehouse somewhere), except the default ``warehouse/`` folder of the repository.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from balancewatch.warehouse import SQLITE, Warehouse, WarehouseError


def check_sqlite_location(warehouse: Warehouse, creatable_folder: Path) -> None:
    """Raise :class:`WarehouseError` (one line: the path and the reason) unless a run can write
    this SQLite warehouse; ``creatable_folder`` is the one missing folder that may be created."""
    if warehouse.kind != SQLITE or warehouse.path is None:
        return
    path = warehouse.path
    if path.is_dir():
        raise WarehouseError(f"cannot use warehouse {path}: it is a folder, not a file")
    folder = path.parent
    if not folder.exists():
        if folder != creatable_folder:
            raise WarehouseError(
                f"cannot use warehouse {path}: folder {folder} does not exist "
                "(create it first, if that is the place you meant)")
        folder = _nearest_existing(folder)
    if not folder.is_dir():
        raise WarehouseError(f"cannot use warehouse {path}: {folder} is not a folder")
    _probe_folder(path, folder)
    if path.exists():
        _probe_file(path)


def _nearest_existing(folder: Path) -> Path:
    """The folder itself, or its nearest ancestor that exists (where it would be created)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _probe_folder(path: Path, folder: Path) -> None:
    """Create and remove an empty file in ``folder``: the one reliable test (root ignores mode
    bits, not read-only mounts or immutable folders)."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".balancewatch-probe-", dir=folder)
    except OSError as exc:
        raise WarehouseError(
            f"cannot write warehouse {path}: folder {folder}: {_reason(exc)}") from None
    os.close(handle)
    os.unlink(probe)


def _probe_file(path: Path) -> None:
    """Open the existing file for writing without changing a byte."""
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        raise WarehouseError(f"cannot write warehouse {path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    """The system's words for an error (``Read-only file system``, ``Permission denied``)."""
    return exc.strerror or type(exc).__name__
