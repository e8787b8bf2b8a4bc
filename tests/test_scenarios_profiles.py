"""The default suite passes 100% against the reference platform under every province profile.

Each profile runs its own suite (the profile decides which scenarios apply and what a valid message
is) against a fresh platform speaking that profile, mounted in process (no sockets: about 7 s per
profile instead of 13 s over loopback HTTP; tests/test_cli_run.py covers the HTTP path). Any failure
here is a bug in the platform or in the suite. Warnings count too: they would hide a gap such as a
settlement the end-of-run reconciliation never looked at.
"""

from __future__ import annotations

import pytest
import responses

from harness.gateway import SM_FAMILIES, make_signer
from harness.model import Outcome
from harness.platform.config import PlatformConfig
from harness.platform.inprocess import mount
from harness.runner import Runner
from harness.scenarios.catalogue import RUN_LAST, load_suites
from harness.siteconfig import embedded_site
from harness.sm_crypto import sm2_keypair
from harness.specs import load_registry
from harness.transport import HttpTarget

BASE_URL = "http://platform.test"
PROFILES = load_registry().profiles()  # every specs/profiles/*.json: a new profile is tested the day it lands


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
def test_the_default_suite_passes_on_the_reference_platform_under_each_profile(profile: str) -> None:
    assert {"baseline", "hunan", "guangdong", "jiangxi"} <= set(PROFILES)
    registry = load_registry()
    scenarios = load_suites(registry, profile)
    assert len(scenarios) >= 1000
    settings = registry.profile(profile)
    credentials = signer = None
    if settings.gateway.get("family") in SM_FAMILIES:
        # Pure-Python SM2 costs ~0.2 s a message (sign + verify): such a profile runs the hand-written
        # flows of the areas whose messages differ (the generated negatives differ only in input fields).
        scenarios = [s for s in scenarios if s.kind == "flow" and s.area in ("outpatient", "inpatient", "pharmacy")]
        private, public = sm2_keypair()
        mine = {"app_id": "app", "access_token": "token", "sm4_key": "00" * 16, "sm2_private_key": private}
        credentials = {"sm_public_key": public, "sm_app_id": "app", "sm_access_token": "token", "sm4_key": "00" * 16}
        signer = make_signer(str(settings.gateway["family"]), mine, settings.gateway)
    elif settings.gateway.get("family") in ("tif", "csb"):  # signed and verified (scenarios/gateway tamper with it)
        mine, credentials = {"paasid": "p", "token": "t", "access_key": "ak", "secret_key": "sk"}, {
            "tif_paasid": "p", "tif_token": "t", "csb_ak": "ak", "csb_sk": "sk"}
        signer = make_signer(str(settings.gateway["family"]), mine, settings.gateway)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mount(rsps, BASE_URL, PlatformConfig(db_path=":memory:", profile=profile, gateway_credentials=credentials))
        site = embedded_site(BASE_URL, profile=profile)
        with HttpTarget.from_profile(BASE_URL, dict(settings.transport), signer=signer) as target:
            runner = Runner(target, registry, settings, site, seed=7)
            results = [runner.run_scenario(scenario) for scenario in scenarios]
    problems = [f"{r.scenario_id}: {r.outcome.value} {r.reason} "
                + "; ".join(f"[{f.severity.value}] step {f.step}: {f.title}" for f in r.failures[:3])
                for r in results if r.outcome is not Outcome.PASSED or r.failures]
    assert problems == [], f"{len(problems)} of {len(results)} scenarios under {profile}:\n" + "\n".join(problems)
    if settings.gateway.get("family") in SM_FAMILIES:
        return
    assert RUN_LAST in scenarios[-1].tags and runner.ledger.rows  # the ledger reconciled at the end was not empty
    assert not [row for row in runner.ledger.rows if not row.voided and not row.reconciled]
