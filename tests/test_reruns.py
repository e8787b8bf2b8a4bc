"""Re-runs against one persistent site: the end-of-run 3201 balances on the 1st and the 10th run of a day.

The site reconciles everything the institution settled in the period; the harness's day book (one SQLite
file per site) holds what earlier runs settled there, so the totals sent cover every harness run.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from harness.model import Outcome
from harness.platform.config import PlatformConfig
from harness.platform.inprocess import mount
from harness.platform.server import start_background
from harness.runner import Runner
from harness.runner.daybook import DayBook
from harness.runner.ledger import Ledger, LedgerRow, covers
from harness.scenarios.catalogue import load_suites
from harness.session import open_daybook, run_session
from harness.siteconfig import embedded_site
from harness.specs import load_registry
from harness.transport import HttpTarget

BASE_URL = "http://platform.test"
TODAY = date.today().isoformat()
# A few flows that settle, reverse and 冲正 at the hospital and the pharmacy, then the end-of-run reconciliation.
SUBSET = ("outpatient.settle.resident-cash", "outpatient.settle.reverse", "inpatient.settle.reverse",
          "pharmacy.settle.reverse", "reversal.2601.outpatient-settlement",
          "reconciliation.3201.run-ledger.hospital", "reconciliation.3201.run-ledger.pharmacy")


def row(msgid: str, kind: str = "settle", amount: str = "10.00", day: str = TODAY) -> LedgerRow:
    money = Decimal(amount)
    return LedgerRow(msgid=msgid, fixmedins_code="H1", setl_id="S" + msgid, kind=kind, insutype="310",
                     clr_type="11", clr_optins="520102", setl_date=day, medfee_sumamt=money,
                     fund_pay_sumamt=money, acct_pay=Decimal("0.00"), psn_cash_pay=Decimal("0.00"))


def test_the_day_book_keeps_rows_across_runs_voids_and_prunes(tmp_path: Path) -> None:
    first = DayBook(tmp_path / "book.sqlite", "site-a", "run-1")
    first.add(row("m1"))
    first.add(row("m2", "reversal", "-10.00"))
    first.add(row("m3"))
    first.void("H1", "m3")
    first.add(row("old", day="2000-01-01"))
    first.close()
    DayBook(tmp_path / "book.sqlite", "site-b", "run-x").add(row("other-site"))
    second = DayBook(tmp_path / "book.sqlite", "site-a", "run-2")
    earlier = second.earlier_runs()
    assert [r.msgid for r in earlier] == ["m1", "m2"]  # voided, pruned and other sites' rows left out
    assert earlier[1].medfee_sumamt == Decimal("-10.00") and earlier[1].kind == "reversal"
    assert second.earlier_runs() == earlier
    assert DayBook(tmp_path / "book.sqlite", "site-a", "run-1").earlier_runs() == []  # its own rows are this run's


def test_totals_add_the_earlier_runs_but_only_this_runs_rows_must_be_covered(tmp_path: Path) -> None:
    book = DayBook(tmp_path / "book.sqlite", "s", "run-1")
    book.add(row("m1", amount="12.00"))
    ledger = Ledger(daybook=DayBook(tmp_path / "book.sqlite", "s", "run-2"))
    ledger.rows.append(row("m2", amount="5.00"))
    totals = ledger.totals("H1", {"insutype": "310", "clr_type": "11", "setl_optins": "520102",
                                  "stmt_begndate": TODAY, "stmt_enddate": TODAY})
    assert totals["fixmedins_setl_cnt"] == 2 and totals["medfee_sumamt"] == Decimal("17.00")
    assert ledger.unreconciled("H1") == []


def test_the_day_books_totals_are_the_earlier_runs_rows_a_3201_covers(tmp_path: Path) -> None:
    rng = random.Random(3)
    book = DayBook(tmp_path / "book.sqlite", "s", "run-1", today=date(2026, 12, 7))
    for n in range(300):
        pick = rng.choice
        book.add(LedgerRow(msgid=f"m{n}", fixmedins_code=pick(["H1", "H2"]), setl_id=f"S{n}",
                           kind=pick(["settle", "reversal"]), insutype=pick(["310", "390", ""]),
                           clr_type=pick(["11", "21"]), clr_optins=pick(["", "520199", "5201é"]),
                           setl_date=pick(["2026-12-01", "2026-12-07", "2026-12-07T1"]),
                           medfee_sumamt=Decimal(pick(["10.00", "1.1", "-3.005", "0", "1E+2"])),
                           fund_pay_sumamt=Decimal("7.00"), acct_pay=Decimal("-0.00"), psn_cash_pay=Decimal(n)))
        if rng.random() < 0.2:
            book.void("H1", f"m{n}")
    DayBook(tmp_path / "book.sqlite", "other-site", "run-1").add(row("elsewhere"))
    later = DayBook(tmp_path / "book.sqlite", "s", "run-2", today=date(2026, 12, 7))
    later.add(row("mine"))  # this run's own rows are the ledger's, not the book's
    earlier = later.earlier_runs()
    for _ in range(200):
        wanted = (rng.choice(["H1", "H2", "H3"]), rng.choice([None, "310", "390"]), rng.choice([None, "11", "21"]),
                  rng.choice(["", "520199", "5201é"]), rng.choice(["", "2026-12-01", "2026-12-02"]),
                  rng.choice(["", "2026-12-07", "2026-12-06"]), rng.choice([None, "settle", "reversal"]))
        chosen = [r for r in earlier if covers(wanted, r)]
        expected = (len(chosen), *(sum((getattr(r, name) for r in chosen), Decimal("0.00")) for name in
                                   ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")))
        assert [str(v) for v in later.sums(wanted)] == [str(v) for v in expected]
    assert later.sums(("H1", None, None, "", "", "", None))[0] > 0


def test_a_row_without_a_clearing_agency_counts_for_the_agency_asked() -> None:
    ledger = Ledger()
    ledger.rows.append(replace(row("m1"), clr_optins=""))
    assert ledger.totals("H1", {"setl_optins": "520199"})["fixmedins_setl_cnt"] == 1
    assert Ledger().totals("H1", {"setl_optins": "520199"})["fixmedins_setl_cnt"] == 0


def test_only_a_persistent_site_gets_a_day_book(tmp_path: Path) -> None:
    embedded = embedded_site(BASE_URL)
    assert embedded.recon_scope == "run" and open_daybook(embedded, "run-1", tmp_path) is None
    book = open_daybook(replace(embedded, recon_scope="day"), "run-1", tmp_path)
    assert book is not None and book.path == tmp_path / "embedded" / "daybook.sqlite"
    book.close()
    named = open_daybook(replace(embedded, recon_scope="day", daybook=str(tmp_path / "x.sqlite")), "run-1", tmp_path)
    assert named is not None and named.path == tmp_path / "x.sqlite"
    named.close()


def _runs(tmp_path: Path, count: int, *, daybook: bool) -> list[dict[str, Outcome]]:
    registry = load_registry()
    chosen = [s for s in load_suites(registry, "baseline") if s.id in SUBSET]
    assert sorted(s.id for s in chosen) == sorted(SUBSET)
    settings = registry.profile("baseline")
    db = tmp_path / "platform.sqlite"
    verdicts = []
    for number in range(count):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            mount(rsps, BASE_URL, PlatformConfig(db_path=str(db)))  # a restart on the same state file
            site = embedded_site(BASE_URL, recon_scope="day" if daybook else "run")
            with HttpTarget.from_profile(BASE_URL, dict(settings.transport)) as target:
                runner = Runner(target, registry, settings, site, seed=number)
                book = open_daybook(site, f"run-{number}", tmp_path / "reports")
                if book is not None:
                    runner.ledger = Ledger(daybook=book)
                verdicts.append({s.id: runner.run_scenario(s).outcome for s in chosen})
                if book is not None:
                    book.close()
    return verdicts


def test_ten_consecutive_runs_against_one_persistent_platform_give_ten_identical_verdicts(tmp_path: Path) -> None:
    verdicts = _runs(tmp_path, 10, daybook=True)
    assert verdicts[0] == dict.fromkeys(SUBSET, Outcome.PASSED)
    assert all(v == verdicts[0] for v in verdicts)


def test_without_the_day_book_the_second_run_of_the_day_does_not_balance(tmp_path: Path) -> None:
    first, second = _runs(tmp_path, 2, daybook=False)
    assert first["reconciliation.3201.run-ledger.hospital"] is Outcome.PASSED
    assert second["reconciliation.3201.run-ledger.hospital"] is Outcome.FAILED


@pytest.mark.slow
def test_two_full_runs_through_the_session_against_one_served_platform(tmp_path: Path) -> None:
    """`hsa-cert run --site` twice against `hsa-cert platform serve --db FILE`: both runs pass (the
    reversal scenarios settle, reverse and 冲正 at the hospital and the pharmacy, then reconcile)."""
    running = start_background(PlatformConfig(db_path=str(tmp_path / "platform.sqlite")))
    try:
        site = tmp_path / "site.toml"
        site.write_text(f'''[site]
id = "served"
base_url = "{running.url}"
fixmedins_code = "H52010200001"
fixmedins_name = "贵阳市南明区第一人民医院（测试）"
mdtrtarea_admvs = "520102"
capabilities = ["outpatient", "inpatient", "chronic", "pharmacy", "filing", "reconciliation"]
reference = true
catalogue_seed = 20240101
daybook = "{tmp_path / 'daybook.sqlite'}"
''', encoding="utf-8")
        codes = []
        for number in range(2):
            code, _run_dir, document = run_session(site_file=site, out=tmp_path / "reports" / f"run-{number}",
                                                   seed=number, keyword="reversal or reconciliation",
                                                   echo=lambda _text: None)
            outcomes = {r["id"]: r["outcome"] for r in document["scenarios"]}
            assert outcomes["reconciliation.3201.run-ledger.hospital"] == "passed"
            failed = [sid for sid, outcome in outcomes.items() if outcome not in ("passed", "not_applicable")]
            assert failed == [], failed[:10]
            codes.append(code)
        assert codes == [0, 0] and (tmp_path / "daybook.sqlite").exists()
    finally:
        running.stop()


def test_runs_in_one_process_never_reuse_a_msgid_within_a_second() -> None:
    """Two runners in the same second against one persistent site: their serials come from one counter."""
    from datetime import datetime

    from harness.runner.msgid import SERIALS, make_msgid

    moment = datetime(2026, 12, 7, 9, 30, 0)
    ids = [make_msgid("H1", moment) for _ in range(SERIALS)]
    assert len(set(ids)) == SERIALS and all(len(i) == len("H1") + 14 + 4 for i in ids)
