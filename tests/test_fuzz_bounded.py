"""The whole harness against the hostile site, bounded for CI: no crash, no hang, nothing lost.

A few hundred malformed answers go through `run_session` (the `hsa-cert run --site` path: runner,
pytest plugin, Allure, junit, results.json, exchanges.jsonl); every scenario gets a result that is not
an internal error, every answer the site gave is in exchanges.jsonl, and no exchange outlives its
deadline. Then one run per dangerous malformation, each checking what the harness makes of it.
`bench/fuzz.py` is the long version (10,000 answers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.hostile import HostileSite
from harness.personas import load_catalogue
from harness.scenarios.catalogue import load_suites
from harness.session import run_session
from harness.specs import load_registry

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 0.3
DEADLINE_S = TIMEOUT_S * 3
HANG_MS = (DEADLINE_S * 2 + 2.0) * 1000


def _site_toml(url: str) -> str:
    lines = []
    for line in (ROOT / "fixtures" / "sites" / "embedded.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("base_url"):
            line = f'base_url = "{url}"'
        elif line.startswith("timeout_s"):
            line = f"timeout_s = {TIMEOUT_S}"
        elif line.startswith("breaker_threshold"):
            line = "breaker_threshold = 1000000"
        lines.append(line)
    return "\n".join(lines) + "\n"


_SCENARIOS: list[Any] = []


def _scenarios(count: int) -> list[Any]:
    """Flows and negative cases of every area, the same ones every time (every k-th of the default suite)."""
    if not _SCENARIOS:
        _SCENARIOS.extend(load_suites(load_registry(), "baseline", catalogue=load_catalogue()))
    step = max(1, len(_SCENARIOS) // count)
    return _SCENARIOS[::step][:count]


def _fuzz(tmp_path: Path, *, scenarios: int, only: list[str] | None = None, seed: int = 7) -> dict[str, Any]:
    with HostileSite(seed, only=only, honest={"9001"}, slow_weight=0.05) as site:
        site_file = tmp_path / "hostile.toml"
        site_file.write_text(_site_toml(site.url), encoding="utf-8")
        out = tmp_path / "run"
        run_session(site_file=site_file, seed=seed, out=out, scenarios=_scenarios(scenarios), echo=lambda _t: None)
        log = list(site.log)
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in (out / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()]
    return {"log": log, "document": document, "records": records, "out": out}


def _crashes(run: dict[str, Any]) -> list[str]:
    """Scenarios without a real result, answers missing from exchanges.jsonl, exchanges past the deadline."""
    problems = [f"{s['id']}: {s['reason'][:160]}" for s in run["document"]["scenarios"]
                if s["reason"].startswith(("internal error", "not run: the run was interrupted"))]
    by_msgid = {str((r.get("request") or {}).get("msgid") or ""): r for r in run["records"]}
    unkeyed: dict[str, int] = {}
    for record in run["records"]:
        if not (record.get("request") or {}).get("msgid"):
            unkeyed[record["infno"]] = unkeyed.get(record["infno"], 0) + 1
    for msgid, infno, name in run["log"]:
        if not msgid and not infno:
            continue  # the GET a redirect made: part of the redirected exchange
        if msgid:
            found = msgid in by_msgid
        else:
            found = unkeyed.get(infno, 0) > 0
            unkeyed[infno] = unkeyed.get(infno, 0) - 1
        if not found:
            problems.append(f"{name}: the answer to {infno} {msgid} is not in exchanges.jsonl")
    # A hang: an exchange held well past its deadline (a trickled answer read to its end takes ~15 s; the
    # margin keeps a loaded CI machine from passing for a hang).
    problems += [f"{r['infno']} took {r['elapsed_ms']:.0f} ms" for r in run["records"]
                 if float(r["elapsed_ms"] or 0) > HANG_MS]
    return problems


def _findings(run: dict[str, Any]) -> set[str]:
    return {f["clause"] for s in run["document"]["scenarios"] for f in s["failures"]}


def test_a_few_hundred_malformed_answers_no_crash_no_hang_nothing_lost(tmp_path: Path) -> None:
    run = _fuzz(tmp_path, scenarios=240)
    assert len(run["log"]) >= 200
    assert _crashes(run) == []
    kinds = {name for _m, _i, name in run["log"]}
    assert len(kinds) >= 30  # most of the catalogue was drawn


@pytest.mark.parametrize(("kind", "clause"), [
    ("lone-surrogate", None),
    ("surrogate-in-output", "ENV.resp.unicode"),
    ("moderate-nesting", "ENV.resp.nesting"),
    ("deep-nesting", None),
    ("duplicate-keys", "ENV.resp.duplicate-keys"),
    ("text-plain-json", "ENV.resp.content-type"),
    ("huge-err-msg", None),
    ("gzip-bomb", None),
])
def test_each_dangerous_malformation_is_taken_in_stride(tmp_path: Path, kind: str, clause: str | None) -> None:
    run = _fuzz(tmp_path, scenarios=8, only=[kind])
    assert run["log"]
    assert _crashes(run) == []
    if clause is not None:
        assert clause in _findings(run)
    for name in ("results.json", "exchanges.jsonl", "junit.xml"):
        (run["out"] / name).read_text(encoding="utf-8")  # written, and valid UTF-8
