"""Gateway-signature scenarios (scenarios/gateway/, harness/runner/tamper.py): a tampered request must be refused.

Against the reference platform verifying its signatures under each signing profile they pass; against the
same platform with verification off (`--no-verify`, and the platform mutant no-verify of `hsa-cert selftest
--province`) the MUST ones fail with a MUST finding against R-GATEWAY-SIGNATURE; under a profile that signs
nothing they are not applicable (and the mutant is not exercised).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.gateway import TAMPERS, csb_headers, make_signer, tampered, tif_headers
from harness.model import Exchange, Outcome
from harness.personas import load_catalogue
from harness.platform import PlatformConfig
from harness.platform.server import start_background
from harness.proxy import MutatingTarget, load_mutations
from harness.runner import Runner
from harness.runner.tamper import refused
from harness.scenarios.catalogue import load_suites
from harness.session.credentials import _embedded_credentials
from harness.siteconfig import embedded_site
from harness.specs import load_registry
from harness.transport import HttpTarget

PROFILES = {"hunan": "csb", "guangdong": "tif", "jilin": "oauth2-sm", "national-sm2": "sm2-cainfo"}


def run_gateway_scenarios(tmp: Path, profile_name: str, *, verify: bool, mutation: str | None = None) -> dict[str, Any]:
    registry, catalogue = load_registry(), load_catalogue()
    profile = registry.profile(profile_name)
    family = str(profile.gateway.get("family"))
    keys = _embedded_credentials(family)
    assert keys is not None
    platform = start_background(PlatformConfig(db_path=str(tmp / f"{profile_name}.sqlite"), profile=profile_name,
                                               seed=catalogue.seed, gateway_credentials=keys[1],
                                               verify_signatures=verify))
    try:
        site = embedded_site(platform.url, catalogue=catalogue, profile=profile_name)
        target = HttpTarget.from_profile(platform.url, profile.transport,
                                         signer=make_signer(family, keys[0], profile.gateway))
        sender = MutatingTarget(target, load_mutations()[mutation]) if mutation else target
        runner = Runner(sender, registry, profile, site)
        scenarios = [s for s in load_suites(registry, profile_name, catalogue=catalogue) if s.id.startswith("gateway.")]
        return {s.id: (s, runner.run_scenario(s)) for s in scenarios}
    finally:
        platform.stop()


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_a_verifying_platform_refuses_every_tampered_request(profile_name: str, tmp_path: Path) -> None:
    family = PROFILES[profile_name]
    results = run_gateway_scenarios(tmp_path, profile_name, verify=True)
    assert results and all(sid.startswith(f"gateway.{family}.") for sid in results)  # the profile's own family
    assert all(r.outcome is Outcome.PASSED for _s, r in results.values()), {k: r.failures for k, (_s, r) in
                                                                           results.items()}


@pytest.mark.parametrize("profile_name", ["hunan", "guangdong", "national-sm2"])
def test_the_platform_without_verification_is_caught(profile_name: str, tmp_path: Path) -> None:
    """The mutant: `--no-verify`. MUST scenarios fail on a MUST finding, SHOULD ones carry an advisory.
    (oauth2-sm encrypts the envelope: a platform that does not open the wrapper cannot answer at all.)"""
    family = PROFILES[profile_name]
    results = run_gateway_scenarios(tmp_path, profile_name, verify=False)
    own = [(s, r) for sid, (s, r) in results.items() if sid.startswith(f"gateway.{family}.")]
    assert own
    for scenario, result in own:
        assert [f.clause for f in result.failures] == ["R-GATEWAY-SIGNATURE"], scenario.id
        assert result.failures[0].grade is scenario.grade
        assert result.outcome is (Outcome.FAILED if scenario.grade.value == "MUST" else Outcome.PASSED)
    if profile_name != "national-sm2":  # csb and tif: the sources make these MUSTs
        assert any(r.outcome is Outcome.FAILED for _s, r in own)


def test_the_proxy_mutation_accepting_gateway_refusals_is_caught(tmp_path: Path) -> None:
    results = run_gateway_scenarios(tmp_path, "hunan", verify=True, mutation="gateway-refusal-accepted")
    assert results and all(r.outcome is Outcome.FAILED for _s, r in results.values())
    assert all(r.failures[0].clause == "R-GATEWAY-SIGNATURE" for _s, r in results.values())


def test_a_profile_holds_its_own_family_and_a_site_that_signs_nothing_makes_them_not_applicable(
        tmp_path: Path) -> None:
    registry, catalogue = load_registry(), load_catalogue()
    assert not [s for s in load_suites(registry, "baseline", catalogue=catalogue) if s.id.startswith("gateway.")]
    scenarios = [s for s in load_suites(registry, "hunan", catalogue=catalogue) if s.id.startswith("gateway.")]
    assert len(scenarios) == 4
    platform = start_background(PlatformConfig(db_path=str(tmp_path / "b.sqlite"), seed=catalogue.seed,
                                               profile="hunan", gateway_credentials={}))
    try:
        site = embedded_site(platform.url, catalogue=catalogue, profile="hunan")
        runner = Runner(HttpTarget(platform.url), registry, "hunan", site)  # a site config without [gateway]
        results = [runner.run_scenario(s) for s in scenarios]
    finally:
        platform.stop()
    assert all(r.outcome is Outcome.NOT_APPLICABLE for r in results)
    assert "signs no request" in results[0].reason


def test_each_family_tampers_what_it_has() -> None:
    tif = make_signer("tif", {"paasid": "p1", "token": "t1"}, {})
    csb = make_signer("csb", {"access_key": "ak", "secret_key": "sk"}, {})
    good_tif, good_csb = tif("1101"), csb("1101")
    assert "x-tif-signature" not in tampered(tif, "signature-missing")("1101")  # type: ignore[misc]
    wrong = tampered(tif, "signature-wrong")("1101")  # type: ignore[misc]
    assert wrong["x-tif-signature"] != tif_headers("p1", "t1", timestamp=int(wrong["x-tif-timestamp"]),
                                                   nonce=wrong["x-tif-nonce"])["x-tif-signature"]
    stale_tif = tampered(tif, "timestamp-stale")("1101")  # type: ignore[misc]
    assert int(stale_tif["x-tif-timestamp"]) < int(good_tif["x-tif-timestamp"]) - 3600
    assert tampered(tif, "app-unknown")("1101")["x-tif-paasid"] != "p1"  # type: ignore[misc]
    stale = tampered(csb, "timestamp-stale")("1101")  # type: ignore[misc]
    assert stale == csb_headers("ak", "sk", "1101", "1.0.0", timestamp_ms=int(stale["_api_timestamp"]))
    assert int(stale["_api_timestamp"]) < int(good_csb["_api_timestamp"]) - 3_600_000
    assert tampered(make_signer("none", {}, {}), "signature-wrong") is None
    cainfo = make_signer("sm2-cainfo", {"sm2_private_key": "1" * 64}, {})
    assert tampered(cainfo, "timestamp-stale") is None and tampered(cainfo, "app-unknown") is None
    assert "cainfo" not in tampered(cainfo, "signature-missing").body({"infno": "1101"}).decode()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown gateway tamper"):
        tampered(tif, "nonsense")
    assert set(TAMPERS) == {"signature-missing", "signature-wrong", "timestamp-stale", "app-unknown"}


def exchange(status: int | None) -> Exchange:
    return Exchange(infno="1101", url="http://x", method="POST", request_headers={}, request_body={}, status=status,
                    response_headers={}, response_text="", response_json=None, elapsed_ms=1.0, started_at="")


def test_what_counts_as_a_refusal() -> None:
    assert refused(exchange(401), {"code": 401, "message": "签名不一致!"})
    assert refused(exchange(403), {})
    assert refused(exchange(200), {"infcode": -1, "err_msg": "签名错误"})
    assert refused(exchange(200), {"code": "E401", "message": "bad signature"})
    assert not refused(exchange(200), {"infcode": 0, "output": {}})
    assert not refused(exchange(200), {"code": 200, "data": {}})


def selftest(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["selftest", "--json", *args])
    return result.exit_code, json.loads(result.stdout)["platform"] if result.stdout else {}, result.stderr


def test_selftest_under_a_signing_province_catches_the_no_verify_mutant_with_a_must_finding() -> None:
    code, report, err = selftest("--province", "hunan", "-k", "gateway", "--mutant", "no-verify")
    assert code == 0, err
    assert report["clean"]["false_failures"] == [] and report["clean"]["total"] == 4  # the csb gateway scenarios
    (mutant,) = report["mutants"]
    assert mutant["name"] == "no-verify" and mutant["status"] == "caught", mutant
    assert mutant["caught_by"] and all(sid.startswith("gateway.csb.") for sid in mutant["caught_by"])
    # caught by FAILED scenarios (a MUST finding), not by advisories or infrastructure errors
    assert not mutant["advisory_only"] and not mutant["errors_only"]
    assert mutant["clauses_flagged"] == ["R-GATEWAY-SIGNATURE"]
    assert report["score"] == 1.0 and report["not_exercised"] == []


def test_selftest_under_a_profile_that_signs_nothing_does_not_exercise_the_no_verify_mutant() -> None:
    code, report, err = selftest("-k", "env.req.dev_no.maxlength", "--mutant", "no-verify")
    assert code == 0, err
    assert report["clean"]["total"] == 1 and report["clean"]["passed"] == 1
    assert [m["status"] for m in report["mutants"]] == ["not exercised"]
    assert (report["total"], report["not_exercised"]) == (0, ["no-verify"])
