"""The first ten minutes with hsa-cert (issue 12): a failing certify ends with the gate's reasons and the
verdict; a count and an estimate instead of a dot per scenario (plain lines in a CI log); something shown
while the Allure report builds; without Node a note, not an error; offline, the npm install fails fast
and is not retried on every run."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.model import Outcome, RunEvent
from harness.reporting.allure_install import ALLURE_HOME_ENV, RETRY_ENV
from harness.reporting.allure_report import generate_report
from harness.reporting.gate import GateFinding, GateResult
from harness.reporting.progress import ProgressDisplay, estimate_left


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Result:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def test_plain_progress_lines_count_failures_and_estimate_the_time_left() -> None:
    lines: list[str] = []
    clock = Clock()
    display = ProgressDisplay(lines.append, terminal=False, clock=clock)
    display(RunEvent(kind="run-started", payload={"total": 200}))
    for index in range(200):
        clock.now += 0.5
        outcome = Outcome.FAILED if index in (3, 150) else Outcome.PASSED
        display(RunEvent(kind="scenario-finished", scenario_id=f"s{index}", payload={"result": Result(outcome)}))
    display(RunEvent(kind="run-finished"))
    assert len(lines) == 10  # one per tenth, not one per scenario
    assert lines[0] == "hsa-cert: 20/200 scenarios (10%), 1 failed; about 1 min 30 s left"
    assert lines[-1] == "hsa-cert: 200/200 scenarios (100%), 2 failed in 1 min 40 s"
    assert estimate_left(0, 10, 5.0) is None and estimate_left(5, 10, 5.0) == 5.0


def test_on_a_terminal_the_progress_is_one_live_line_and_messages_go_above_it() -> None:
    stream = io.StringIO()
    lines: list[str] = []
    display = ProgressDisplay(lines.append, stream=stream, terminal=True)
    display(RunEvent(kind="run-started", payload={"total": 3}))
    display.write("hsa-cert: the circuit breaker opened")
    for _ in range(3):
        display(RunEvent(kind="scenario-finished", payload={"result": Result(Outcome.PASSED)}))
    display(RunEvent(kind="run-finished"))
    assert lines == []  # nothing through the plain writer
    assert "circuit breaker" in stream.getvalue()


def test_the_gate_ends_with_the_verdict_and_counts_what_it_does_not_list() -> None:
    findings = tuple(GateFinding("mandatory", f"mandatory scenario s{i} failed", f"s{i}") for i in range(24))
    text = GateResult(1, findings=findings, notes=("1 advisory finding(s)",)).render(limit=10, full_list="x.json")
    lines = text.splitlines()
    assert lines[-1] == "verdict: NOT CERTIFIED (exit 1): 24 mandatory"
    assert sum("finding [mandatory]" in line for line in lines) == 10
    assert "… and 14 more findings (all in x.json)" in text
    assert GateResult(0).render().splitlines()[-1] == "verdict: CERTIFIED (exit 0)"


def _fake_tools(folder: Path, npm_exit: int) -> Path:
    folder.mkdir()
    log = folder / "npm.log"
    (folder / "node").write_text("#!/bin/sh\necho v20.11.0\n", encoding="utf-8")
    (folder / "npm").write_text(f'#!/bin/sh\necho "$@" >> "{log}"\necho "npm error code ENOTFOUND" >&2\n'
                                f"exit {npm_exit}\n", encoding="utf-8")
    for tool in ("node", "npm"):
        (folder / tool).chmod(0o755)
    return log


@pytest.mark.skipif(sys.platform == "win32", reason="shell scripts stand for node and npm")
def test_offline_the_npm_install_fails_fast_once_and_is_not_retried_on_every_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = _fake_tools(tmp_path / "bin", npm_exit=1)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv(ALLURE_HOME_ENV, str(tmp_path / "cache" / "allure"))
    monkeypatch.delenv(RETRY_ENV, raising=False)
    said: list[str] = []

    def build() -> str:
        return generate_report([tmp_path / "results"], tmp_path / "out", history=tmp_path / "h.jsonl", name="x",
                               environment="embedded", progress=said.append).message

    first = build()
    assert first.startswith("note:") and "ENOTFOUND" in first and RETRY_ENV in first
    (call,) = log.read_text(encoding="utf-8").splitlines()
    assert "--prefer-offline" in call and "--fetch-retries=0" in call and "--fetch-timeout=" in call
    second = build()
    assert second.startswith("note:") and "not retried" in second
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1  # npm was not run again
    monkeypatch.setenv(RETRY_ENV, "1")
    build()
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2
    assert any("installing Allure" in s for s in said)


def test_without_node_the_report_is_a_note_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = generate_report([tmp_path / "r"], tmp_path / "out", history=tmp_path / "h.jsonl", name="x",
                              environment="embedded").message
    assert message.startswith("note: Node.js is not installed") and "error:" not in message


@pytest.mark.slow
def test_a_failing_certify_ends_with_the_gate_and_the_verdict_and_shows_progress_not_dots(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-m", "harness", "certify", "--fault", "2207:mutant=skip-account-debit",
                          "-k", "outpatient", "--no-allure", "--reports-dir", str(tmp_path / "reports"),
                          "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env, timeout=600)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.rstrip().splitlines()
    assert lines[-1].startswith("verdict: NOT CERTIFIED (exit 1): ") and "mandatory" in lines[-1]
    assert lines[-2].startswith(("  finding", "  note", "  …"))
    assert not [line for line in lines if re.fullmatch(r"[.FE]{10,}.*", line)], "no line of progress dots"
    assert re.search(r"hsa-cert: \d+/\d+ scenarios \(100%\), \d+ failed in ", run.stdout)
    assert "Traceback" not in run.stdout + run.stderr
    assert json.loads((tmp_path / "run" / "certification.json").read_text(encoding="utf-8"))
