"""The benchmark's data: generated once per preset and seed with ``python -m data.generate``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.presets import BenchPreset

REPO_ROOT = Path(__file__).resolve().parent.parent
STAMP = "bench-data.json"


@dataclass(frozen=True)
class Delivery:
    """A generated delivery directory and what it holds."""

    directory: Path
    invoice_rows: int
    organization_rows: int
    bytes: int
    generated: bool  # False when reused from the cache
    seconds: float


def _csv_rows(directory: Path, prefix: str) -> int:
    """Data rows in the delivery's ``prefix*.csv`` files (lines minus the header; no quoted
    newlines in generated data)."""
    total = 0
    for path in sorted(directory.glob(f"{prefix}*.csv")):
        with path.open("rb") as handle:
            chunks = iter(lambda: handle.read(1 << 20), b"")
            total += sum(chunk.count(b"\n") for chunk in chunks) - 1
    return total


def _describe(directory: Path, generated: bool, seconds: float) -> Delivery:
    size = sum(p.stat().st_size for p in directory.glob("*.csv"))
    return Delivery(
        directory=directory,
        invoice_rows=_csv_rows(directory, "invoices"),
        organization_rows=_csv_rows(directory, "organizations"),
        bytes=size,
        generated=generated,
        seconds=seconds,
    )


def ensure_delivery(
    cache: Path, preset: BenchPreset, seed: int, *, follow_up_days: int | None = None,
    follow_up_from: int = 1,
) -> Delivery:
    """The delivery for ``preset``/``seed`` (or its follow-up of days ``follow_up_from`` ..
    ``follow_up_days``), generated unless already cached.

    A directory counts as cached only when its stamp file records the same generator arguments:
    an interrupted generation is regenerated from scratch.
    """
    args = [*preset.generator_args, "--seed", str(seed)]
    name = f"{preset.name}-seed{seed}"
    if follow_up_days is not None:
        args += ["--follow-up-days", str(follow_up_days)]
        name += f"-followup{follow_up_days}d"
        if follow_up_from != 1:
            args += ["--follow-up-from", str(follow_up_from)]
            name += f"-from{follow_up_from}"
    directory = cache / name
    stamp = directory / STAMP
    if stamp.is_file() and json.loads(stamp.read_text()).get("args") == args:
        return _describe(directory, generated=False, seconds=0.0)
    if directory.exists():
        for path in directory.iterdir():
            path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "data.generate", "--out", str(directory), *args]
    subprocess.run(command, check=True, cwd=REPO_ROOT, stdout=sys.stderr)
    seconds = time.perf_counter() - started
    stamp.write_text(json.dumps({"args": args, "seconds": round(seconds, 2)}, indent=2) + "\n")
    return _describe(directory, generated=True, seconds=seconds)
