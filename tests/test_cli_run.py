"""`hsa-cert run`: a small subset against the embedded platform over real HTTP, a dead site, usage errors."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

SUBSET = "outpatient.settle.reverse or outpatient.registration.cancel"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
PER_RUN = {"msgid", "inf_time", "omsgid", "sign_no"}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args], catch_exceptions=False)
    return result.exit_code, result.output


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: nothing listens there


def site_toml(tmp_path: Path, base_url: str, extra: str = "") -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f"""
[site]
id = "down"
base_url = "{base_url}"
fixmedins_code = "H52010200001"
fixmedins_name = "测试医院"
mdtrtarea_admvs = "520102"
capabilities = ["outpatient"]
{extra}""", encoding="utf-8")
    return path


def test_a_site_that_is_down_exits_3_fast_with_a_clear_message(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    started = time.monotonic()
    code, output = invoke("--site", str(site_toml(tmp_path, url)), "--out", str(tmp_path / "out"))
    assert code == 3
    assert "the site is not reachable: connection refused" in output and url in output
    assert time.monotonic() - started < 15  # probed first, not N timeouts (generous bound for slow CI)
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--fault", "2207:delay=5"], "--fault applies only to the embedded reference platform"),
    ([], "bad site config key site.capabilities"),
])
def test_usage_and_config_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path = site_toml(tmp_path, "http://127.0.0.1:1")
    if not args:  # a config error: an undeclarable capability
        path.write_text(path.read_text(encoding="utf-8").replace('["outpatient"]', '["dentistry"]'), encoding="utf-8")
    code, output = invoke("--site", str(path), *args)
    assert code == 2 and message in output


def normalised_bodies(run_dir: Path) -> list[dict]:
    """Request bodies with what legitimately changes between runs blanked: msgids, sign-in, timestamps."""

    def scrub(value):
        if isinstance(value, dict):
            return {k: ("<per-run>" if k in PER_RUN else scrub(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str) and TIMESTAMP.match(value):
            return "<time>"
        return value

    lines = (run_dir / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()
    return [scrub(json.loads(line)["request"]) for line in lines]


@pytest.mark.slow
def test_subset_against_the_embedded_platform_and_the_same_seed_twice(tmp_path: Path) -> None:
    runs = []
    for n in (1, 2):
        out = tmp_path / f"run{n}"
        code, output = invoke("-k", SUBSET, "--seed", "42", "--out", str(out), "--no-mask")
        assert code == 0, output
        runs.append(out)
        assert "embedded reference platform at http://127.0.0.1:" in output
        assert re.search(r"outpatient 门诊\s+(\d+)\s+\1\s+0\s+0", output)  # the summary table by area
    first = json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))
    second = json.loads((runs[1] / "results.json").read_text(encoding="utf-8"))
    total = len(first["scenarios"])
    assert total >= 2 and {s["id"] for s in first["scenarios"]} >= {"outpatient.settle.reverse",
                                                                    "outpatient.registration.cancel"}
    assert first["summary"] == {"total": total, "passed": total, "failed": 0, "error": 0, "not_provisioned": 0,
                                "not_applicable": 0, "pass_rate": 1.0, "inconclusive": 0, "coverage": 1.0,
                                "advisories": 0, "grades": {"MUST": total, "SHOULD": 0, "MAY": 0}}
    assert [s["id"] for s in first["scenarios"]] == [s["id"] for s in second["scenarios"]]
    entry = first["scenarios"][0]
    assert set(entry) >= {"id", "outcome", "clauses", "duration_ms", "failures"} and entry["clauses"]
    assert first["run"]["seed"] == 42 and first["run"]["exit_code"] == 0
    assert normalised_bodies(runs[0]) == normalised_bodies(runs[1])
    assert (runs[0] / "junit.xml").exists() and list((runs[0] / "allure-results").glob("*-result.json"))


@pytest.mark.slow
def test_a_dropped_settlement_is_resolved_with_2601_and_settled_again(tmp_path: Path) -> None:
    out = tmp_path / "drop"
    code, output = invoke("-k", "outpatient.settle.reverse", "--fault", "2207:drop-after-commit@1", "--seed", "5",
                          "--out", str(out))
    assert code == 3, output  # the drop is an infrastructure error, never a finding
    assert "resolved with 2601 冲正: reversed" in output
    [entry] = json.loads((out / "results.json").read_text(encoding="utf-8"))["scenarios"]
    assert entry["outcome"] == "error" and entry["failures"] == []
    assert "sent again after the 冲正" in entry["reason"]
    lines = [json.loads(line) for line in (out / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()]
    flow = [(e["infno"], e["error"] is not None) for e in lines if e["scenario_id"]]
    settle = flow.index(("2207", True))
    assert flow[settle + 1:settle + 4] == [("2601", False), ("2207", False), ("2208", False)]
