"""Platform configuration: the fault syntax of --fault, config errors, the serve command's refusals,
state that survives a restart of the same database file, and the benefit check."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_samples import Flow, memory_platform, persona
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ConfigError, SpecError
from harness.platform import Fault, Platform, PlatformConfig, parse_fault


@pytest.mark.parametrize(("spec", "expected"), [
    ("2207:delay=500", Fault("2207", "delay", delay_ms=500)),
    ("2207:drop-after-commit", Fault("2207", "drop-after-commit")),
    ("*:http-5xx=503", Fault("*", "http-5xx", status=503)),
    ("2207:garbled@2", Fault("2207", "garbled", times=2)),
    ("*:html-error", Fault("*", "html-error")),
    ("2207:mutant=skip-account-debit", Fault("2207", "mutant", name="skip-account-debit")),
])
def test_fault_specs(spec: str, expected: Fault) -> None:
    assert parse_fault(spec) == expected
    assert parse_fault(expected.to_json()).to_json() == expected.to_json()  # the admin JSON form round-trips


@pytest.mark.parametrize("spec", ["2207", "2207:explode", "22:delay=1", "2207:delay=soon", "2207:truncated=3",
                                  "2207:mutant", "2207:garbled@0"])
def test_bad_fault_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_fault(spec)


def test_faults_from_the_config_are_switched_on() -> None:
    platform = memory_platform(faults=["2207:delay=5", {"infno": "*", "kind": "http-5xx"}])
    assert [(f["infno"], f["kind"]) for f in platform.faults.list()] == [("2207", "delay"), ("*", "http-5xx")]
    assert platform.faults.list()[1]["status"] == 503


def test_a_fault_with_a_count_expires() -> None:
    platform = memory_platform(faults=["9001:http-5xx@1"])
    flow = Flow(platform.call)
    with pytest.raises(ValueError):
        flow.sign_in()  # the 503 page is not JSON
    flow.sign_in()
    assert platform.faults.list() == []


def test_unknown_profile_and_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        Platform(PlatformConfig(db_path=":memory:", profile="atlantis"))
    with pytest.raises(ConfigError, match="directory does not exist"):
        Platform(PlatformConfig(db_path=str(tmp_path / "no" / "such" / "dir.sqlite")))


def test_serve_reports_config_errors_before_listening() -> None:
    result = CliRunner().invoke(app, ["platform", "serve", "--db", ":memory:", "--fault", "2207:explode"])
    assert result.exit_code == 2 and "Unknown fault kind" in result.output
    result = CliRunner().invoke(app, ["platform", "serve", "--db", ":memory:", "--profile", "atlantis"])
    assert result.exit_code == 2


def test_state_survives_reopening_the_file_and_is_not_reseeded(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite")
    first = Platform(PlatformConfig(db_path=db))
    flow = Flow(first.call)
    flow.sign_in()
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    balc = flow.settle(who, mdtrt_id, amount)["setlinfo"]["balc"]
    first.close()
    again = Platform(PlatformConfig(db_path=db))
    flow.send = again.call
    assert float(flow.balance(who)) == balc  # the seeded balance was not restored
    assert len(again.exchanges(limit="1000")) > 5


def test_benefit_check_shows_suspension_without_refusing() -> None:
    flow = Flow(memory_platform().call)
    flow.sign_in()
    for archetype, flag in (("filed-employee", "1"), ("benefits-suspended", "0"), ("lapsed-contributions", "0")):
        who = persona(archetype)
        data = {"psn_no": who.psn_no, "insutype": who.insutype, "fixmedins_code": flow.his.fixmedins_code,
                "med_type": "11", "begntime": "2024-06-01 08:00:00"}
        (row,) = flow.ok("2001", {"data": data}, who)["trtinfo"]
        assert row["trt_enjymnt_flag"] == flag


def test_serve_refuses_a_port_in_use() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["platform", "serve", "--db", ":memory:", "--port", str(port)])
    assert result.exit_code == 3 and "cannot listen" in result.output
