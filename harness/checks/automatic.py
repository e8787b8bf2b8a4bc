"""The checks every successful answer of an interface gets, whatever scenario sent it.

`specs/checks/<spec-version>/checks-by-interface.json` (hand-written, so beside the generated spec folder,
not in it) maps an infno to the checks that hold for every successful answer of that interface, and
`"*"` to those that hold for any answer.
The runner calls `run_interface_checks` once per successful answer, after the checks the scenario
named: a check the scenario already named is not run twice. The checks run with `automatic=True`, so
one that compares with an earlier answer finds it in the scenario's remembered answers (history) and
stays silent when there is none; then the answer itself is remembered for the checks of later steps.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.checks import history
from harness.checks.registry import CHECKS, CheckContext, run_check
from harness.model import Failure
from harness.resources import specs_dir

__all__ = ["TABLE_NAME", "checks_dir", "interface_checks", "load_table", "run_interface_checks"]

TABLE_NAME = "checks-by-interface.json"
_DEFAULT_DIR = specs_dir() / "checks" / "v1.1.27"  # checkout or installed copy (harness.resources)


def checks_dir(version_dir: Path) -> Path:
    """specs/checks/<version> for the spec folder specs/<version>."""
    return version_dir.parent / "checks" / version_dir.name


@functools.lru_cache(maxsize=8)
def load_table(folder: Path = _DEFAULT_DIR) -> Mapping[str, tuple[str, ...]]:
    """infno (or "*") -> check names, from the folder's checks-by-interface.json; unknown names are a suite bug."""
    path = folder / TABLE_NAME
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    table = {str(k): tuple(v) for k, v in (doc.get("interfaces") or {}).items()}
    unknown = sorted({n for names in table.values() for n in names if n not in CHECKS})
    if unknown:
        raise ValueError(f"{path}: unknown checks {', '.join(unknown)}")
    return table


def interface_checks(infno: str, folder: Path | None = None) -> tuple[str, ...]:
    table = load_table(folder or _DEFAULT_DIR)
    return (*table.get("*", ()), *table.get(infno, ()))


def run_interface_checks(ctx: CheckContext, *, listed: Iterable[str] = (),
                         memory: MutableMapping[str, Any] | None = None) -> list[Failure]:
    """Run the table's checks for ctx.infno (those not in `listed`) on a successful answer, then remember it."""
    version_dir = getattr(ctx.registry, "version_dir", None)
    folder = checks_dir(Path(version_dir)) if version_dir else None
    names = [n for n in interface_checks(ctx.infno, folder) if n not in set(listed)]
    remembered = (memory or {}).get(history.ANSWERS, ctx.saved.get(history.ANSWERS, []))
    auto = replace(ctx, saved={**ctx.saved, history.ANSWERS: remembered}, automatic=True)
    failures = [failure for name in names for failure in run_check(name, auto)]
    if memory is not None:
        history.remember(memory, auto)
    return failures
