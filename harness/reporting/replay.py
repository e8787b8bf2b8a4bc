"""`hsa-cert replay RUN SCENARIO`: what changed between a recorded flow and the same flow run again.

The command line re-runs the scenario (fresh msgids, times and signatures, the recorded seed and, on
the embedded platform, the recorded faults); this module reads both exchange logs and compares them
step by step: the interface, the HTTP status, the transport error, `infcode`, `err_msg`, and every
leaf of `output` except the values that differ on every run (message ids, times, ids the platform
issues). Same flow, same answers: "no difference"; a site that was fixed (or broke) shows where.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError

__all__ = ["RecordedFlow", "diff_flows", "load_flow"]

# Values that change on every run by design: never a difference worth showing.
_VOLATILE = re.compile(r"msgid|time|date|setl_id$|^(mdtrt_id|sign_no|ipt_no|ipt_otp_no|file_qury_no"
                       r"|medrcdno|bkkp_sn|feedetl_sn|trt_dcla_detl_sn)$")
MAX_LINES = 40


@dataclass(frozen=True, slots=True)
class RecordedFlow:
    scenario_id: str
    outcome: str
    exchanges: tuple[Mapping[str, Any], ...]
    run: Mapping[str, Any]  # results.json `run`: site, profile, seed, faults


def load_flow(run_dir: Path, scenario_id: str) -> RecordedFlow:
    try:
        results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError("Not a run directory: no readable results.json", location=str(run_dir),
                         detail=str(exc)) from exc
    outcome = next((s.get("outcome", "") for s in results.get("scenarios") or () if s.get("id") == scenario_id), None)
    if outcome is None:
        raise UsageError(f"Scenario {scenario_id!r} is not in this run", location=str(run_dir),
                         hint="the ids are in results.json (or `hsa-cert scenarios list`)")
    return RecordedFlow(scenario_id, str(outcome), tuple(_exchanges(run_dir, scenario_id)), results.get("run") or {})


def _exchanges(run_dir: Path, scenario_id: str) -> Iterator[Mapping[str, Any]]:
    path = run_dir / "exchanges.jsonl"
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("scenario_id") == scenario_id:
            yield entry


def _response(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    body = entry.get("response")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {"(body)": body[:200]}
    return body if isinstance(body, dict) else {}


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not _VOLATILE.search(str(key)):
                yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _step_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for key in ("infno", "status", "error"):
        if before.get(key) != after.get(key):
            found.append(f"{key} {before.get(key)!r} -> {after.get(key)!r}")
    old, new = _response(before), _response(after)
    for key in ("infcode", "err_msg"):
        if old.get(key) != new.get(key):
            found.append(f"{key} {old.get(key)!r} -> {new.get(key)!r}")
    was, now = (dict(_leaves(body.get("output"))) if isinstance(body.get("output"), (dict, list)) else {}
                for body in (old, new))
    if bool(was) != bool(now):  # an answer with output against one without: one line, not one per field
        found.append(f"output {len(was)} field(s) -> {len(now)} field(s)" if was or now else "")
        return [line for line in found if line]
    for path in sorted(was.keys() | now.keys()):
        if was.get(path, "<absent>") != now.get(path, "<absent>"):
            found.append(f"output.{path} {was.get(path, '<absent>')!r} -> {now.get(path, '<absent>')!r}")
    return found


def diff_flows(recorded: Sequence[Mapping[str, Any]], replayed: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per difference, by step (in order); empty when the flows answered alike."""
    lines: list[str] = []
    for i in range(max(len(recorded), len(replayed))):
        before = recorded[i] if i < len(recorded) else None
        after = replayed[i] if i < len(replayed) else None
        label = (before or after or {}).get("infno", "?")
        if before is None:
            lines.append(f"step {i} ({label}): only in the replay")
        elif after is None:
            lines.append(f"step {i} ({label}): only in the recorded run")
        else:
            lines.extend(f"step {i} ({label}): {what}" for what in _step_diff(before, after))
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more differences"]
    return lines
