"""The working set (harness/platform/workingset.py) never disagrees with the database file.

- after a varied walk (settlements with the account, a reversal, a 冲正, a filing and its cancellation, a
  sign-out), every copy it holds equals what a fresh connection reads from the file;
- a rolled-back transaction or savepoint leaves no copy of what it wrote;
- a commit by another connection (another process on the same --db) is seen by the next call;
- a restarted platform (a new process on the same file) answers a replayed msgid from the record;
- its memory is bounded, and a full working set or a given-up msgid index changes no answer.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from platform_samples import Flow, persona

from harness.platform import Platform, PlatformConfig, workingset
from harness.platform.rules import CROSS_REGION_FILING_KINDS
from harness.platform.samples import settle_input
from harness.platform.state import filings_of, load_person, load_visit, set_balance

KINDS = (*CROSS_REGION_FILING_KINDS, "chronic", "referral-local")


def fresh(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def walk(flow: Flow) -> None:
    who, other = persona("filed-employee"), persona("filed-resident")
    flow.sign_in()
    first, amount = flow.register(who, [("consult", 1), ("cefaclor", 2)])
    setl_id = flow.settle(who, first, amount)["setlinfo"]["setl_id"]
    flow.reverse(who, first, setl_id)
    second, amount = flow.register(other, [("consult", 1)])
    flow.settle(other, second, amount)
    flow.call("2601", {"data": {"psn_no": other.psn_no, "omsgid": flow.last["msgid"], "oinfno": "2207"}}, other)
    third, amount = flow.register(who, [("consult", 2)])
    flow.presettle(who, third, amount)
    flow.settle(who, third, amount)
    flow.ok("9002", {"signOut": {"sign_no": flow.his.sign_no, "opter_no": "0001"}})
    flow.sign_in()
    fifth, amount = flow.register(other)
    flow.presettle(other, fifth, amount)  # reads the person's filings
    today = date.today().isoformat()
    flow.ok("2503", {"data": {"psn_no": other.psn_no, "insutype": "390", "opsp_dise_code": "M01600",
                              "opsp_dise_name": "糖尿病", "insu_optins": other.insuplc_admdvs,
                              "ide_fixmedins_no": flow.his.fixmedins_code, "ide_fixmedins_name": "测试医院",
                              "hosp_ide_date": today, "diag_dr_codg": "D001", "diag_dr_name": "张医生",
                              "begndate": today}}, other)  # a filing more: the file and the copy agree
    fourth, amount = flow.register(who)
    flow.presettle(who, fourth, amount)  # (after the last rollback, if any: the set holds what this read)
    flow.settle(who, fourth, amount)  # a new balance, written to the file and to the copy


def test_every_copy_equals_what_the_file_holds_after_a_walk(tmp_path: Path) -> None:
    path = tmp_path / "platform.sqlite"
    platform = Platform(PlatformConfig(db_path=str(path)))
    try:
        walk(Flow(platform.call))
        working, conn, file = platform.db.working, platform.db.conn, fresh(path)
        assert working.persons and working.visits and working.filings and working.signins  # the walk filled it
        for psn_no, person in working.persons.items():
            assert load_person(file, psn_no) == person
        for mdtrt_id, visit in working.visits.items():
            assert load_visit(file, mdtrt_id, visit.fixmedins_code) == visit
        for psn_no in working.filings:
            assert filings_of(file, psn_no, KINDS) == filings_of(conn, psn_no, KINDS)
        for sign_no, code in working.signins:
            assert file.execute("SELECT active FROM signins WHERE sign_no = ? AND fixmedins_code = ?",
                                (sign_no, code)).fetchone()[0] == 1  # fmt: skip
        recorded = {(r[0], r[1]) for r in file.execute("SELECT fixmedins_code, msgid FROM messages")}
        assert working.msgids is not None and recorded
        msgid_bit = workingset.msgid_bit
        assert all(working.msgids[bit >> 3] & (1 << (bit & 7)) for bit in (msgid_bit(*m) for m in recorded))
        file.close()
    finally:
        platform.close()


@pytest.mark.parametrize("grouped", [False, True])
def test_a_rolled_back_write_leaves_no_copy(tmp_path: Path, grouped: bool) -> None:
    platform = Platform(PlatformConfig(db_path=str(tmp_path / "platform.sqlite")))
    db, psn_no = platform.db, persona("filed-employee").psn_no
    try:
        with db.transaction() as conn:
            before = load_person(conn, psn_no)
        assert before is not None and psn_no in db.working.persons
        if grouped:
            db.open_group()
        with pytest.raises(RuntimeError), db.transaction() as conn:  # a savepoint when grouped
            set_balance(conn, psn_no, before.balc - D("10.00"))
            assert load_person(conn, psn_no).balc == before.balc - D("10.00")  # type: ignore[union-attr]
            raise RuntimeError("refused after writing")
        if grouped:
            db.commit_group()
        with db.transaction() as conn:
            assert load_person(conn, psn_no) == before
    finally:
        platform.close()


def test_a_commit_by_another_connection_is_seen_by_the_next_call(tmp_path: Path) -> None:
    path = tmp_path / "platform.sqlite"
    platform = Platform(PlatformConfig(db_path=str(path)))
    try:
        flow, who = Flow(platform.call), persona("filed-employee")
        flow.sign_in()
        balance = flow.balance(who)
        mdtrt_id, amount = flow.register(who)
        flow.presettle(who, mdtrt_id, amount)  # the person and the visit are now in the working set
        other = fresh(path)
        with other:
            other.execute("UPDATE persons SET balc_cents = balc_cents - 100 WHERE psn_no = ?", (who.psn_no,))
            other.execute("UPDATE visits SET status = 'cancelled' WHERE mdtrt_id = ?", (mdtrt_id,))
        other.close()
        assert flow.balance(who) == balance - D("1.00")
        assert flow.refused("2207", settle_input(who, mdtrt_id, "B1", amount), who) == "就诊信息不存在"
    finally:
        platform.close()


def test_a_msgid_recorded_by_another_process_or_before_a_restart_is_replayed(tmp_path: Path) -> None:
    path = str(tmp_path / "platform.sqlite")
    first, second = Platform(PlatformConfig(db_path=path)), Platform(PlatformConfig(db_path=path))
    try:
        flow, who = Flow(first.call), persona("filed-employee")
        flow.sign_in()
        mdtrt_id, amount = flow.register(who)
        flow.send = second.call
        envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
        answer = second.call(dict(envelope))  # recorded by the other process
        assert answer["infcode"] == 0
        assert first.call(dict(envelope, inf_time="2030-01-01 00:00:00")) == answer  # replayed, not settled again
        assert first.exchanges(limit="1")[0]["replayed"] is True
    finally:
        first.close()
        second.close()
    restarted = Platform(PlatformConfig(db_path=path))
    try:
        assert restarted.call(dict(envelope)) == answer
        assert restarted.db.conn.execute("SELECT COUNT(*) FROM settlements").fetchone()[0] == 1
    finally:
        restarted.close()


def test_a_full_working_set_is_emptied_and_a_crowded_msgid_bitmap_changes_no_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workingset, "ROWS_KEPT", 2)
    monkeypatch.setattr(workingset, "MSGID_BITS", 8)
    monkeypatch.setattr(workingset, "msgid_bit", lambda _code, _msgid: 0)  # every msgid shares one bit
    path = tmp_path / "platform.sqlite"
    platform = Platform(PlatformConfig(db_path=str(path)))
    try:
        flow = Flow(platform.call)
        walk(flow)
        working = platform.db.working
        assert all(len(kind) <= 2 for kind in (working.persons, working.visits, working.filings, working.signins))
        assert working.msgids == bytearray(b"\x01")  # the one bit is set: every msgid is looked up in the file
        replayed = dict(flow.last)  # the walk's last 2207, sent again: answered from the record
        before = platform.db.conn.execute("SELECT COUNT(*) FROM settlements").fetchone()[0]
        assert platform.call(replayed)["infcode"] == 0
        assert platform.exchanges(limit="1")[0]["replayed"] is True
        assert platform.db.conn.execute("SELECT COUNT(*) FROM settlements").fetchone()[0] == before
    finally:
        platform.close()
    restarted = Platform(PlatformConfig(db_path=str(path)))  # the bitmap is rebuilt from the file
    try:
        assert restarted.call(dict(replayed))["infcode"] == 0
        assert restarted.db.working.msgids == bytearray(b"\x01")
    finally:
        restarted.close()


def test_the_pool_totals_follow_settlements_another_connection_commits(tmp_path: Path) -> None:
    """The pool's annual totals live in each connection's memory (TEMP): a settlement another process commits
    to the same file must count against the annual cap here too (they are rebuilt when data_version moves)."""
    path = str(tmp_path / "platform.sqlite")
    first, second = Platform(PlatformConfig(db_path=path)), Platform(PlatformConfig(db_path=path))
    summed = ("SELECT psn_no, care, substr(setl_time, 1, 4), SUM(hifp_cents) FROM settlements"
              " WHERE status != 'voided' GROUP BY 1, 2, 3")  # fmt: skip

    def agree(platform: Platform) -> bool:
        with platform.db.transaction() as conn:
            totals = {tuple(r[:3]): r[3] for r in conn.execute("SELECT * FROM temp.pool_totals") if r[3]}
            return totals == {tuple(r[:3]): r[3] for r in conn.execute(summed) if r[3]} != {}

    try:
        flow, who = Flow(first.call), persona("filed-employee")
        flow.sign_in()
        mdtrt_id, amount = flow.register(who)
        assert D(str(flow.settle(who, mdtrt_id, amount)["setlinfo"]["hifp_pay"])) > 0  # in the first's totals
        assert agree(second)
        flow.send = second.call
        mdtrt_id, amount = flow.register(who, [("consult", 2)])
        flow.settle(who, mdtrt_id, amount)
        assert agree(first) and agree(second)
    finally:
        first.close()
        second.close()
