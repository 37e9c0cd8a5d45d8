"""The lock file and pyproject.toml agree, and this environment was installed from the lock.

requirements/lock.txt pins, with ``==``, every package the default install and each extra bring
(plus pip, uv and the build backend); `make` installs with it as constraints. These tests fail when
pyproject.toml changed without `make lock`, or when the running virtualenv was not built from the
lock (``pip install -e .`` resolved afresh, a package upgraded by hand, ...).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;(.*))?$")


def locked() -> dict[str, str]:
    """canonical name -> pinned version, for the pins that apply on this platform."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{LOCK.name}: not an exact '==' pin: {line!r}"
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        pins[canonicalize_name(name)] = version
    return pins


def declared() -> dict[str, list[Requirement]]:
    """'default' and each extra -> its requirements in pyproject.toml."""
    project = PYPROJECT["project"]
    groups = {"default": project["dependencies"], **project.get("optional-dependencies", {})}
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


@pytest.mark.parametrize("group", sorted(declared()))
def test_every_declared_dependency_is_pinned_within_its_range(group: str) -> None:
    pins = locked()
    problems = []
    for req in declared()[group]:
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req.name}: not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}: locked {pins[name]}, pyproject asks {req.specifier}")
    assert not problems, f"pyproject.toml [{group}] and {LOCK.name} drifted (run `make lock`): " + (
        "; ".join(problems)
    )


def test_the_installer_and_build_backend_are_pinned() -> None:
    pins = locked()
    assert "pip" in pins, "the lock pins pip itself (make installs it first)"
    for text in PYPROJECT["build-system"]["requires"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"build requirement {req.name} is not in the lock"
        assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])


def installed_extras() -> set[str]:
    """The extras of balancewatch installed here: dev (the tests need it), spark if present."""
    extras = {"dev"}
    try:
        metadata.version("pyspark")
        extras.add("spark")
    except metadata.PackageNotFoundError:
        pass
    return extras


def required_closure(extras: set[str]) -> set[str]:
    """Every distribution balancewatch with ``extras`` needs, from the installed metadata."""
    seen: set[str] = set()
    todo: list[tuple[str, set[str]]] = [("balancewatch", extras)]
    while todo:
        dist, dist_extras = todo.pop()
        for text in metadata.requires(dist) or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in dist_extras | {""}]
            if req.marker and not any(req.marker.evaluate(env) for env in envs):
                continue
            name = canonicalize_name(req.name)
            key = f"{name}[{','.join(sorted(req.extras))}]"
            if key in seen:
                continue
            seen.add(key)
            seen.add(name)
            todo.append((req.name, set(req.extras)))
    return {name for name in seen if "[" not in name}


def test_this_environment_is_installed_from_the_lock() -> None:
    try:
        metadata.version("balancewatch")
    except metadata.PackageNotFoundError:
        pytest.fail("balancewatch is not installed here: run the tests from `make venv`'s .venv")
    pins = locked()
    wrong = []
    for name, version in sorted(pins.items()):
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a package of an extra that is not installed here (checked below)
        if Version(have) != Version(version):
            wrong.append(f"{name} {have} (locked {version})")
    assert not wrong, "installed versions differ from requirements/lock.txt: " + ", ".join(wrong)

    needed = required_closure(installed_extras())
    assert needed, "balancewatch's installed metadata lists no requirements"
    unlocked = sorted(needed - pins.keys())
    assert not unlocked, f"needed here but not in the lock (run `make lock`): {unlocked}"
    missing = []
    for name in sorted(needed):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    assert not missing, f"needed but not installed: {missing}"
