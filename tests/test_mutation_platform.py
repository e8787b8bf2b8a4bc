"""The reference platform's arithmetic with a hospital share, and the scenario that settles it end to end.

Until issue 17 the reference platform always answered hosp_part_amt 0, so the hospital-share term of the
money sum (medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt) was never exercised by a run.
Expectations are literals worked out by hand (see scenarios/outpatient/hospital-share.yaml).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import responses

from harness.model import Outcome
from harness.platform.calc import BenefitRule, CatalogueItem, FeeClass, FeeInput, classify, settle
from harness.platform.config import PlatformConfig
from harness.platform.inprocess import mount
from harness.runner import Runner
from harness.scenarios.catalogue import load_suites
from harness.siteconfig import embedded_site
from harness.specs import load_registry
from harness.transport import HttpTarget

D = Decimal
DOPPLER = CatalogueItem("002203010010000", "XM0015", "彩色多普勒超声常规检查（腹部）", "01", "03", D("150.00"),
                        pric_uplmt_amt=D("120.00"), overlmt_hosp_part=True)
CT = CatalogueItem("002103010010000", "XM0010", "胸部CT", "02", "03", D("280.00"), pric_uplmt_amt=D("240.00"),
                   selfpay_prop=D("0.20"))
RESIDENT = BenefitRule(deductible=D("20.00"), pool_ratio=D("0.49"), annual_cap=None, has_account=False)


def _fee(sn: str, item: CatalogueItem, cnt: str, pric: str) -> FeeInput:
    return FeeInput(sn, item.med_list_codg, item.medins_list_codg, D(cnt) * D(pric), D(cnt), D(pric))


def test_the_hospital_absorbs_the_part_above_the_cap_of_a_flagged_item() -> None:
    row = classify(_fee("1", DOPPLER, "2", "150.00"), DOPPLER)
    assert (row.overlmt_amt, row.hosp_part_amt, row.inscp_scp_amt) == (D("60.00"), D("60.00"), D("240.00"))
    # An unflagged item's over-limit part stays the person's.
    ct = classify(_fee("2", CT, "1", "280.00"), CT)
    assert (ct.overlmt_amt, ct.hosp_part_amt, ct.preselfpay_amt, ct.inscp_scp_amt) == (
        D("40.00"), D("0.00"), D("48.00"), D("192.00"))
    # A refund row of a flagged item gives the hospital's part back.
    refund = classify(_fee("3", DOPPLER, "-1", "150.00"), DOPPLER)
    assert (refund.overlmt_amt, refund.hosp_part_amt) == (D("-30.00"), D("-30.00"))


def test_a_settlement_with_a_hospital_share_adds_up() -> None:
    consult = CatalogueItem("001102000010000", "XM0008", "门诊诊查费", "01", "02", D("25.00"))
    rows = [classify(_fee("1", consult, "1", "25.00"), consult), classify(_fee("2", DOPPLER, "1", "150.00"), DOPPLER),
            classify(_fee("3", CT, "1", "280.00"), CT)]
    amounts = settle(rows, RESIDENT, pool_used_this_year=D("0"), balance=D("0"), use_account=True)
    # 455.00 = 25.00 + 150.00 + 280.00; over the caps 30.00 (hospital) + 40.00 (person); in scope
    # 25.00 + 120.00 + 192.00 = 337.00; pool (337.00 - 20.00) x 0.49 = 155.33; person 455.00 - 155.33 - 30.00.
    assert (amounts.medfee_sumamt, amounts.overlmt_selfpay, amounts.hosp_part_amt, amounts.inscp_scp_amt,
            amounts.hifp_pay, amounts.psn_part_amt, amounts.psn_cash_pay) == (
        D("455.00"), D("40.00"), D("30.00"), D("337.00"), D("155.33"), D("269.67"), D("269.67"))
    assert amounts.fund_pay_sumamt + amounts.psn_part_amt + amounts.hosp_part_amt == amounts.medfee_sumamt
    back = amounts.negated(D("0"))
    assert (back.hosp_part_amt, back.overlmt_selfpay) == (D("-30.00"), D("-40.00"))


def test_a_fee_row_stored_before_the_hospital_share_existed_still_loads() -> None:
    row = classify(_fee("1", DOPPLER, "1", "150.00"), DOPPLER)
    stored = row.to_store()
    assert stored["hosp_part_amt"] == "30.00" and FeeClass.from_store(stored) == row
    del stored["hosp_part_amt"]
    assert FeeClass.from_store(stored).hosp_part_amt == D("0.00")


@pytest.mark.slow
def test_the_hospital_share_scenario_passes_on_the_reference_platform() -> None:
    base_url = "http://platform.test"
    registry = load_registry()
    scenarios = [s for s in load_suites(registry, "baseline") if s.id == "outpatient.settle.hospital-share"]
    assert len(scenarios) == 1
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mount(rsps, base_url, PlatformConfig(db_path=":memory:", profile="baseline"))
        site = embedded_site(base_url, profile="baseline")
        settings = registry.profile("baseline")
        with HttpTarget.from_profile(base_url, dict(settings.transport)) as target:
            result = Runner(target, registry, settings, site, seed=7).run_scenario(scenarios[0])
    assert (result.outcome, result.failures) == (Outcome.PASSED, ())
    [settled] = [s for s in result.steps if s.infno == "2207"]
    info = settled.exchange.response_json["output"]["setlinfo"]
    assert (info["medfee_sumamt"], info["fund_pay_sumamt"], info["psn_part_amt"], info["hosp_part_amt"]) == (
        175.0, 61.25, 83.75, 30.0)
