"""Read an uncommitted ``.env`` file into the environment (values already set win).

Only ``KEY=value`` lines are read (``export`` prefix and quotes allowed, ``#`` comments skipped).
Values are never printed: a malformed line is reported by its line number only.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def load_dotenv(path: Path, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set the file's variables that are not set yet; returns their names (never values)."""
    environ = os.environ if environ is None else environ
    if not path.is_file():
        return []
    loaded: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            print(f"{path.name}:{number}: ignored: not a KEY=value line", file=sys.stderr)
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key not in environ:
            environ[key] = value
            loaded.append(key)
    return loaded
