"""The ledger's rows on disk (harness/runner/ledgerrows.py): read back equal, and a 3201's selection in SQL is the
one the ledger made over its list of rows (`covers`)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from harness.runner.ledger import Ledger, LedgerRow, covers
from harness.runner.ledgerrows import LedgerRows


def _row(n: int, rng: random.Random) -> LedgerRow:
    pick = rng.choice
    return LedgerRow(msgid=f"m{n % 7}", fixmedins_code=pick(["H1", "H2", "H\udc80"]), setl_id=pick(["", f"S{n}", "S1"]),
                     kind=pick(["settle", "reversal"]), insutype=pick(["310", "390", ""]), clr_type=pick(["11", "21"]),
                     clr_optins=pick(["", "520199", "520100", "5201é"]),
                     setl_date=pick(["2026-12-01", "2026-12-07", "", "2026-12-07T1"]),
                     medfee_sumamt=Decimal(pick(["10.00", "1.1", "-3.005", "0", "1E+2"])),
                     fund_pay_sumamt=Decimal("7.00"), acct_pay=Decimal("-0.00"), psn_cash_pay=Decimal(n),
                     voided=rng.random() < 0.2, reconciled=rng.random() < 0.3)


def test_rows_read_back_equal_in_order_with_their_amounts_exponents() -> None:
    rng = random.Random(5)
    rows = [_row(n, rng) for n in range(600)]
    stored = LedgerRows()
    assert not stored and list(stored) == [] and stored.settlement("S1") is None and not stored.seen("H1", "m1")
    stored.extend(rows)
    assert len(stored) == 600 and list(stored) == rows and stored[0] == rows[0] and stored[-1] == rows[-1]
    assert str(stored[1].medfee_sumamt) == str(rows[1].medfee_sumamt)
    with pytest.raises(IndexError):
        stored[600]
    first = next(r for r in rows if r.setl_id == "S1" and r.kind == "settle")
    assert stored.settlement("S1") == first
    stored.void("m3")
    assert [r.voided for r in stored] == [r.voided or r.msgid == "m3" for r in rows]
    for code in ("H1", "H\udc80"):
        assert stored.unreconciled(code) == [r for r in stored if r.fixmedins_code == code and not r.voided
                                             and not r.reconciled]
    stored.note("H1", "m\udc81")
    assert stored.seen("H1", "m\udc81") and not stored.seen("H2", "m\udc81")
    assert list(stored.noted()) == [("H1", "m\udc81")]
    stored.close()
    assert len(stored) == 0 and list(stored) == []


def test_the_rows_a_3201_covers_are_those_the_list_gave_and_are_marked_reconciled() -> None:
    rng = random.Random(11)
    rows = [_row(n, rng) for n in range(400)]
    stored = LedgerRows()
    stored.extend(rows)
    for _ in range(300):
        wanted = (rng.choice(["H1", "H2", "H\udc80", "H3"]), rng.choice([None, "310", "390"]),
                  rng.choice([None, "11", "21"]), rng.choice(["", "520199", "5201é"]),
                  rng.choice(["", "2026-12-01", "2026-12-02"]), rng.choice(["", "2026-12-07", "2026-12-06"]),
                  rng.choice([None, "settle", "reversal"]))
        chosen = [r for r in rows if covers(wanted, r)]
        assert stored.covered(wanted, mark=False) == chosen
        # the totals a 3201 sends: summed a batch at a time, as the list gave them (same order, same exponents)
        expected = (len(chosen), *(sum((getattr(r, name) for r in chosen), Decimal("0.00")) for name in
                                   ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")))
        assert [str(v) for v in stored.sums(wanted, mark=False)] == [str(v) for v in expected]
    wanted = ("H1", None, None, "", "", "", "settle")
    chosen = stored.covered(wanted, mark=True)
    assert chosen and all(r.reconciled for r in chosen)
    assert [r.reconciled for r in stored] == [r.reconciled or covers(wanted, r) for r in rows]
    other = ("H2", "310", None, "", "", "", None)
    assert stored.sums(other, mark=True)[0] > 0
    assert [r.reconciled for r in stored] == [r.reconciled or covers(wanted, r) or covers(other, r) for r in rows]


def test_a_ledger_totals_its_rows_and_a_replayed_msgid_is_one_row() -> None:
    ledger = Ledger()
    answer = {"infcode": 0, "output": {"setlinfo": {"setl_id": "S9", "insutype": "310", "clr_type": "11",
                                                    "setl_time": "2026-12-07 10:00:00", "medfee_sumamt": "12.30",
                                                    "fund_pay_sumamt": "10.00", "acct_pay": "0", "psn_cash_pay": 2.3}}}
    request = {"msgid": "M1", "fixmedins_code": "H1", "input": {"data": {"mdtrt_id": "D1"}}}
    ledger.record("2207", request, answer)
    ledger.record("2207", request, answer)  # replayed: answered from the record
    assert len(ledger.rows) == 1 and ledger.rows[0].setl_id == "S9"
    totals = ledger.totals("H1", {"stmt_begndate": "2026-12-07", "stmt_enddate": "2026-12-07", "insutype": "310"})
    assert totals["fixmedins_setl_cnt"] == 1 and totals["medfee_sumamt"] == Decimal("12.30")
    assert ledger.unreconciled("H1") == []
    ledger.record("2601", {"input": {"data": {"omsgid": "M1"}}, "fixmedins_code": "H1"}, {"infcode": 0})
    assert ledger.rows[0].voided and ledger.totals("H1", {})["fixmedins_setl_cnt"] == 0
    child = Ledger(parent=ledger)
    child.record("2207", request, answer)  # the run's ledger saw it already
    assert len(child.rows) == 0
    other = {**request, "msgid": "M2"}
    child.record("2207", other, answer)
    ledger.absorb(child)
    assert [r.msgid for r in ledger.rows] == ["M1", "M2"] and ledger.rows.seen("H1", "M2")
    ledger.close()
