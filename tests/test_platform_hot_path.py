"""What the settlement hot path keeps instead of recomputing, and what runs beside it, stays exact:

- the pool's annual totals (`pool_totals`, kept by triggers) always equal the sum over the settlement
  rows they summarise, through settlement, reversal and 冲正; a database from before the table existed
  gets them rebuilt when opened;
- a settlement's answer, whose output node is encoded once and spliced into the envelope, is byte for
  byte the plain encoding of the same envelope, and the stored setlinfo is the answered one;
- the WAL checkpoint thread of a file database stops with it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from platform_samples import Flow, persona

from harness.platform import Platform, PlatformConfig
from harness.platform.db import Database
from harness.platform.envelope import EncodedOutput, dump_json, envelope_text
from harness.platform.samples import settle_input
from harness.platform.wire import JSON_TYPE, HttpRequest

SUMMED = (
    "SELECT psn_no, care, substr(setl_time, 1, 4) AS year, SUM(hifp_cents) AS hifp_cents FROM settlements"
    " WHERE status != 'voided' GROUP BY 1, 2, 3"
)


def request_for(envelope: dict[str, Any]) -> HttpRequest:
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return HttpRequest("POST", "/fsi/api/rsfComIfsService/callService", {"content-type": JSON_TYPE}, body)


def totals(conn: Any) -> dict[tuple[str, str, str], int]:
    rows = conn.execute("SELECT psn_no, care, year, hifp_cents FROM pool_totals").fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows if r[3] != 0}


def summed(conn: Any) -> dict[tuple[str, str, str], int]:
    return {(r[0], r[1], r[2]): r[3] for r in conn.execute(SUMMED).fetchall() if r[3] != 0}


def walk(flow: Flow) -> None:
    """Settlements, a reversal, a 冲正 of a settlement and a 冲正 of a reversal, two people, two kinds of care."""
    who, other = persona("filed-employee"), persona("filed-resident")
    flow.sign_in()
    first, amount = flow.register(who, [("consult", 1), ("cefaclor", 2)])
    setl_id = flow.settle(who, first, amount)["setlinfo"]["setl_id"]
    flow.reverse(who, first, setl_id)
    flow.call("2601", {"data": {"psn_no": who.psn_no, "omsgid": flow.last["msgid"], "oinfno": "2208"}}, who)
    second, amount = flow.register(other, [("consult", 1)])
    flow.settle(other, second, amount)
    flow.call("2601", {"data": {"psn_no": other.psn_no, "omsgid": flow.last["msgid"], "oinfno": "2207"}}, other)
    third, amount = flow.register(other, [("consult", 2)])
    flow.settle(other, third, amount)
    chronic = persona("chronic-filed")
    dise_codg = chronic.chronic[0]["opsp_dise_code"]
    visit, amount = flow.register(chronic, [("consult", 1)], med_type="14", dise_codg=dise_codg)
    flow.settle(chronic, visit, amount, med_type="14")


def test_pool_totals_follow_settlements_reversals_and_corrections() -> None:
    platform = Platform(PlatformConfig(db_path=":memory:"))
    walk(Flow(platform.call))
    conn = platform.db.conn
    voided = conn.execute("SELECT COUNT(*) FROM settlements WHERE status = 'voided'").fetchone()[0]
    assert voided == 2  # a settlement and a reversal
    assert summed(conn)  # something was paid by the pool
    assert totals(conn) == summed(conn)
    platform.close()


def test_an_older_database_gets_its_totals_rebuilt(tmp_path: Path) -> None:
    path = str(tmp_path / "platform.sqlite")
    platform = Platform(PlatformConfig(db_path=path))
    walk(Flow(platform.call))
    with platform.db.transaction() as conn:  # as a database written before pool_totals existed
        conn.execute("DELETE FROM pool_totals")
        conn.execute("DELETE FROM meta WHERE key = 'pool_totals'")
    platform.close()
    reopened = Database(path)
    try:
        assert totals(reopened.conn) == summed(reopened.conn) != {}
    finally:
        reopened.close()


def test_closing_a_file_database_stops_its_checkpoint_thread_and_leaves_no_wal(tmp_path: Path) -> None:
    path = tmp_path / "platform.sqlite"
    db = Database(str(path))
    thread = db._checkpointer._thread if db._checkpointer else None
    assert thread is not None and thread.is_alive()
    for n in range(200):  # enough commits to wake the checkpoint thread
        with db.transaction() as conn:
            db.set_meta(conn, f"k{n % 3}", str(n))
    db.close()
    assert not thread.is_alive()
    assert not Path(str(path) + "-wal").exists()
    check = sqlite3.connect(path)
    try:
        assert check.execute("SELECT value FROM meta WHERE key = 'k1'").fetchone()[0] == "199"
    finally:
        check.close()


def test_an_admin_checkpoint_copies_the_committed_wal_pages_into_the_file_before_it_answers(tmp_path: Path) -> None:
    path = tmp_path / "platform.sqlite"
    platform = Platform(PlatformConfig(db_path=str(path)))
    try:
        platform.db._checkpointer.stop()  # hold the thread back: only the admin call may checkpoint
        for n in range(20):
            with platform.db.transaction() as conn:
                platform.db.set_meta(conn, f"k{n}", str(n))
        answer = json.loads(platform.handle(HttpRequest("POST", "/__admin/checkpoint", {}, b"")).body)
        assert answer["frames"] > 0 and answer["copied"] == answer["frames"]
        again = json.loads(platform.handle(HttpRequest("POST", "/__admin/checkpoint", {}, b"")).body)
        assert again["copied"] == again["frames"]  # nothing new committed but the admin call's own (empty) group
    finally:
        platform.close()
    memory = Platform(PlatformConfig(db_path=":memory:"))
    try:
        assert json.loads(memory.handle(HttpRequest("POST", "/__admin/checkpoint", {}, b"")).body) == {
            "frames": 0, "copied": 0}
    finally:
        memory.close()


def test_a_settlement_answer_is_the_plain_encoding_of_its_envelope() -> None:
    platform = Platform(PlatformConfig(db_path=":memory:"))
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    for lines, account in ((("consult", 1), ("cefaclor", 2)), "1"), ((("consult", 1),), "0"):
        mdtrt_id, amount = flow.register(who, list(lines))
        envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount, acct_used_flag=account), who)
        text = platform.handle(request_for(envelope)).body.decode()
        answer = json.loads(text)
        assert answer["infcode"] == 0, answer
        assert text == dump_json(answer)
        stored = platform.db.conn.execute("SELECT setlinfo, setldetail FROM settlements WHERE setl_id = ?",
                                          (answer["output"]["setlinfo"]["setl_id"],)).fetchone()  # fmt: skip
        assert json.loads(stored[0]) == answer["output"]["setlinfo"]
        assert json.loads(stored[1]) == answer["output"]["setldetail"]
    platform.close()


def test_envelope_text_splices_only_the_output_key() -> None:
    output = {"setlinfo": {"a": 1.5, "b": '中"output":null'}, "setldetail": [{"x": None}]}
    envelope = {"infcode": 0, "err_msg": None, "output": EncodedOutput(output, dump_json(output)),
                "warn_msg": '"output":null', "cainfo": None}  # fmt: skip
    assert envelope_text(envelope) == dump_json(envelope)
    assert envelope_text({"infcode": -1, "output": None}) == dump_json({"infcode": -1, "output": None})


def test_a_message_stored_by_an_earlier_version_is_still_replayed(tmp_path: Path) -> None:
    """An older database: `messages` without `exchange_id` (the response in the row) and content hashes of the
    first form. The upgraded platform adds the column and still answers a re-sent settlement from the record."""
    import hashlib

    path = str(tmp_path / "platform.sqlite")
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE messages (fixmedins_code TEXT NOT NULL, msgid TEXT NOT NULL, infno TEXT NOT NULL,"
                " body_hash TEXT NOT NULL, response TEXT NOT NULL, ok INTEGER NOT NULL, effect TEXT NOT NULL DEFAULT"
                " '{}', corrected INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL,"
                " PRIMARY KEY (fixmedins_code, msgid))")
    old.commit()
    old.close()
    platform = Platform(PlatformConfig(db_path=path))
    try:
        flow = Flow(platform.call)
        flow.sign_in()
        who = persona("filed-employee")
        mdtrt_id, amount = flow.register(who)
        envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
        first = flow.send(dict(envelope))
        assert first["infcode"] == 0
        with platform.db.transaction() as conn:  # rewrite the record as the earlier version stored it
            core = {k: envelope.get(k) for k in ("infno", "fixmedins_code", "mdtrtarea_admvs", "insuplc_admdvs",
                                                  "input")}
            first_form = hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=False, default=str).encode())
            recorded = json.dumps(first, ensure_ascii=False, separators=(",", ":"))
            conn.execute("UPDATE messages SET body_hash = ?, response = ?, exchange_id = NULL WHERE msgid = ?",
                         (first_form.hexdigest(), recorded, envelope["msgid"]))
        assert flow.send(dict(envelope, inf_time="2030-01-01 00:00:00")) == first
        assert platform.exchanges(limit="1")[0]["replayed"] is True
        assert platform.db.conn.execute("SELECT COUNT(*) FROM settlements").fetchone()[0] == 1
        changed = json.loads(json.dumps(envelope))
        changed["input"]["data"]["invono"] = "INV-2"
        assert flow.send(changed)["infcode"] == -1
    finally:
        platform.close()


def test_counters_are_reserved_in_blocks_and_never_repeat(tmp_path: Path) -> None:
    from harness.platform.db import SERIAL_BLOCK

    path = str(tmp_path / "platform.sqlite")
    db = Database(path)
    handed: list[int] = []
    try:
        # The first block is reserved, then the transaction rolls back: as if it had never happened.
        with pytest.raises(RuntimeError), db.transaction() as conn:
            handed_back = db.next_serial(conn, "setl_id")
            raise RuntimeError("refused")
        assert db.get_meta(db.conn, "seq.setl_id") is None
        with db.transaction() as conn:
            handed += [db.next_serial(conn, "setl_id") for _ in range(3)]
        assert handed == [handed_back, handed_back + 1, handed_back + 2] == [1, 2, 3]
        assert db.get_meta(db.conn, "seq.setl_id") == str(SERIAL_BLOCK)  # one write for the whole block
        with pytest.raises(RuntimeError), db.transaction() as conn:
            lost = db.next_serial(conn, "setl_id")  # from the committed block; its row is rolled back with it
            raise RuntimeError("refused")
        with db.transaction() as conn:
            handed.append(db.next_serial(conn, "setl_id"))
            handed.append(db.next_serial(conn, "mdtrt_id"))  # counters are independent
        assert lost == 4 and handed[3] == SERIAL_BLOCK + 1 and handed[4] == 1
    finally:
        db.close()
    reopened = Database(path)  # a restart skips what the block had left
    try:
        with reopened.transaction() as conn:
            assert reopened.next_serial(conn, "setl_id") == 2 * SERIAL_BLOCK + 1
    finally:
        reopened.close()
