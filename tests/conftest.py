"""Shared fixtures: a fresh warehouse path per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet."""
    return tmp_path / "warehouse" / "test.db"
