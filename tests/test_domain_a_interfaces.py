"""The A versions of the outpatient visit and settlement (2203A, 2206A, 2207A; interface-facts §3.2 [C]):
schemas, profile selection of their scenarios, and the platform settling through them."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_samples import Flow, memory_platform, persona

from harness.platform.samples import settle_input, visit_input
from harness.scenarios.catalogue import load_suites
from harness.specs import load_registry

REGISTRY = load_registry()


def test_the_a_schemas_exist_with_their_additions() -> None:
    for infno in ("2203A", "2206A", "2207A"):
        assert REGISTRY.interface(infno).area == "outpatient"
    visit = REGISTRY.schema("interfaces/2203A.json")["$defs"]["in.mdtrtinfo"]["properties"]
    assert {"matn_type", "geso_val"} <= set(visit)
    settle = REGISTRY.schema("interfaces/2207A.json")["$defs"]["in.data"]
    assert set(REGISTRY.schema("interfaces/2207.json")["$defs"]["in.data"]["required"]) == set(settle["required"])


@pytest.mark.parametrize(("profile", "runs"), [("baseline", False), ("national-a", True)])
def test_the_profile_selects_the_a_scenarios(profile: str, runs: bool) -> None:
    ids = {s.id for s in load_suites(REGISTRY, profile, ["outpatient"])}
    assert ("outpatient.a.settle.reverse" in ids) is runs
    assert "outpatient.settle.reverse" in ids


def test_the_platform_settles_and_reverses_through_the_a_codes() -> None:
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    emp = persona("filed-employee")
    before = flow.balance(emp)
    mdtrt_id, amount = flow.register(emp)
    visit = visit_input(emp, mdtrt_id)
    visit["mdtrtinfo"].update(matn_type="", geso_val=0)
    flow.ok("2203A", visit, emp)
    pre = flow.ok("2206A", settle_input(emp, mdtrt_id, "B1", amount, presettle=True), emp)["setlinfo"]
    done = flow.ok("2207A", settle_input(emp, mdtrt_id, "B1", amount), emp)["setlinfo"]
    assert done["setl_id"] and done["medfee_sumamt"] == pre["medfee_sumamt"] == amount
    assert flow.balance(emp) < before
    # 2208 reverses a 2207A settlement; a second 2207A on the same batch is a duplicate until then
    flow.reverse(emp, mdtrt_id, done["setl_id"])
    assert flow.balance(emp) == before


def test_run_province_names_a_profile_and_is_for_the_embedded_platform_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    unknown = CliRunner().invoke(app, ["run", "--province", "atlantis", "--out", str(tmp_path / "a")])
    assert unknown.exit_code == 2 and "unknown province profile 'atlantis'" in unknown.output
    assert "national-a" in unknown.output
