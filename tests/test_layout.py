"""The monitor's packages import only 'earlier' packages (monitors/__init__.py), and stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MONITORS = Path(__file__).resolve().parent.parent / "monitors"
ORDER = ["checks", "findings", "alerts", "docs", "gx_project"]
ALLOWED = {  # package -> the monitors packages its modules may import
    "checks": {"checks"},
    "findings": {"checks", "findings"},
    "alerts": {"findings", "alerts"},
    "docs": {"findings", "alerts", "docs"},
    "gx_project": set(ORDER),
}


def monitors_imports(path: Path) -> set[str]:
    """The ``monitors.<package>`` names a module imports (at top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "monitors":
                found.add(parts[1] if len(parts) > 1 else "")
    return found


@pytest.mark.parametrize("package", ORDER)
def test_packages_import_only_earlier_packages(package: str) -> None:
    for module in sorted((MONITORS / package).glob("*.py")):
        used = monitors_imports(module)
        assert used <= ALLOWED[package], f"{module.name} imports monitors.{used - ALLOWED[package]}"


def test_every_module_is_in_a_package_and_under_300_lines() -> None:
    top = sorted(p.name for p in MONITORS.glob("*.py"))
    assert top == ["__init__.py", "run.py"]
    for module in MONITORS.rglob("*.py"):
        lines = len(module.read_text().splitlines())
        assert lines <= 300, f"{module.relative_to(MONITORS)} has {lines} lines"


def test_every_package_says_what_it_may_import() -> None:
    for package in ORDER:
        doc = ast.get_docstring(ast.parse((MONITORS / package / "__init__.py").read_text()))
        assert doc and "May import" in doc, package
