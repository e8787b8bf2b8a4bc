"""kill -9 and restart: every acknowledged settlement survives, and 3201 still balances.

A real `python -m harness platform serve --db FILE` subprocess takes settlements from a sender thread
and is killed (SIGKILL / TerminateProcess) while they are flowing. After a restart on the same file, every
settlement that was acknowledged is there; the one message that may have been cut off in flight is
settled the way a HIS does it, with 2601 冲正; and the totals of what was acknowledged reconcile.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import requests
from platform_samples import ENDPOINT, Flow, http_sender, persona

from harness.platform.samples import settle_input

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "platform", "serve", "--db", str(db), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):  # bounded: up to ~20 s on a slow machine
        try:
            if requests.get(url + "/__admin/health", timeout=0.5).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the platform subprocess did not come up")


def test_kill_9_and_restart_lose_no_acknowledged_settlement(tmp_path: Path) -> None:
    db = tmp_path / "platform.sqlite"
    proc, url = start(db)
    try:
        flow = Flow(http_sender(url))
        flow.sign_in()
        who = persona("filed-employee")
        visits = [flow.register(who) for _ in range(12)]
        acknowledged: list[dict[str, Any]] = []
        sent: list[str] = []
        enough = threading.Event()

        def settle_all() -> None:
            session = requests.Session()
            for mdtrt_id, amount in visits:
                envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
                sent.append(envelope["msgid"])
                try:
                    answer = session.post(url + ENDPOINT, json=envelope, timeout=5).json()
                except (requests.RequestException, ValueError):
                    return  # the server is gone
                acknowledged.append(answer["output"]["setlinfo"])
                if len(acknowledged) >= 4:
                    enough.set()

        sender = threading.Thread(target=settle_all)
        sender.start()
        assert enough.wait(20)
        proc.kill()
        proc.wait(10)
        sender.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    proc, url = start(db)
    try:
        flow.send = http_sender(url)
        flow.sign_in()
        for info in acknowledged:
            query = {"data": {"psn_no": who.psn_no, "setl_id": info["setl_id"], "mdtrt_id": info["mdtrt_id"]}}
            assert flow.ok("5203", query, who)["setlinfo"]["medfee_sumamt"] == info["medfee_sumamt"]
        for msgid in sent[len(acknowledged):]:  # in flight when killed: committed or not, 冲正 settles it
            answer = flow.call("2601", {"data": {"psn_no": who.psn_no, "omsgid": msgid, "oinfno": "2207"}}, who)
            assert answer["infcode"] == 0 or answer["err_msg"] == "结算信息不存在"
        day = acknowledged[0]["setl_time"][:10]
        totals = {k: sum((D(str(i[k])) for i in acknowledged), D("0")) for k in ("medfee_sumamt", "fund_pay_sumamt",
                                                                                  "acct_pay")}
        stmt = flow.ok("3201", {"data": {"insutype": who.insutype, "clr_type": "11", "setl_optins": "520102",
                                         "stmt_begndate": day, "stmt_enddate": day, **{k: float(v) for k, v in
                                                                                        totals.items()},
                                         "fixmedins_setl_cnt": len(acknowledged)}})["stmtinfo"]
        assert stmt["stmt_rslt"] == "0", stmt["stmt_rslt_dscr"]
    finally:
        proc.kill()
        proc.wait(10)


def test_after_kill_9_the_restarted_platform_rebuilds_its_working_set_from_the_file(tmp_path: Path) -> None:
    """The platform keeps the rows calls read in memory (workingset.py): a restart after kill -9 must read
    them back from the file — sign-in, balance, visit, settlement, fee rows, msgid — and agree with it."""
    db = tmp_path / "platform.sqlite"
    proc, url = start(db)
    try:
        flow, who = Flow(http_sender(url)), persona("filed-employee")
        flow.sign_in()
        before = flow.balance(who)
        mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 2)])
        flow.presettle(who, mdtrt_id, amount)  # person, visit, filings and sign-in now in the working set
        envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
        answer = flow.send(dict(envelope))
        info = answer["output"]["setlinfo"]
        after = flow.balance(who)
        assert D(str(info["acct_pay"])) > 0 and after == before - D(str(info["acct_pay"]))
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    proc, url = start(db)
    try:
        flow.send = http_sender(url)  # no new sign-in: the one made before the kill is still active
        assert flow.send(dict(envelope, inf_time="2030-01-01 00:00:00")) == answer  # replayed from the record
        assert flow.balance(who) == after
        query = {"data": {"psn_no": who.psn_no, "setl_id": info["setl_id"], "mdtrt_id": mdtrt_id}}
        assert flow.ok("5203", query, who)["setlinfo"]["acct_pay"] == info["acct_pay"]
        assert flow.refused("2207", settle_input(who, mdtrt_id, "B1", amount), who) == "该就诊已结算，不能重复结算"
        flow.reverse(who, mdtrt_id, info["setl_id"])
        assert flow.balance(who) == before
        again = flow.settle(who, mdtrt_id, amount)["setlinfo"]  # the reversal freed the visit's fee rows
        assert again["medfee_sumamt"] == info["medfee_sumamt"] and again["acct_pay"] == info["acct_pay"]
    finally:
        proc.kill()
        proc.wait(10)
