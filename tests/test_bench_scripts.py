"""Every benchmark script starts, as a user runs it (`python bench/NAME.py`), and shows its usage.

bench/platform.py carries the name the issue gives it, which is also a standard library module: a script
in bench/ that does not take its own folder off the import path imports the benchmark instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "bench").glob("*.py"))


def test_the_benchmarks_are_there() -> None:
    assert {p.name for p in SCRIPTS} >= {"platform.py", "run.py", "validate.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_script_starts_and_shows_its_usage(script: Path) -> None:
    done = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
