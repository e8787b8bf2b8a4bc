"""The platform over real HTTP (Starlette on uvicorn, started with start_background): flows, URL styles,
the admin endpoint, switchable faults and concurrent settlements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from platform_samples import ENDPOINT, Flow, http_sender, persona

from harness.platform import CAUSE_MESSAGES, PlatformConfig, parse_fault
from harness.platform.samples import settle_input, total
from harness.platform.server import RunningPlatform, start_background

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[RunningPlatform]:
    running = start_background(PlatformConfig(db_path=":memory:"))
    yield running
    running.stop()


@pytest.fixture()
def flow(server: RunningPlatform) -> Iterator[Flow]:
    flow = Flow(http_sender(server.url))
    flow.sign_in()
    yield flow
    requests.delete(server.url + "/__admin/faults", timeout=5)


def add_fault(server: RunningPlatform, spec: str) -> None:
    reply = requests.post(server.url + "/__admin/faults", json=parse_fault(spec).to_json(), timeout=5)
    assert reply.status_code == 201, reply.text


def settlements_of(server: RunningPlatform, mdtrt_id: str) -> list[str]:
    with server.platform.db.reading() as conn:
        rows = conn.execute("SELECT status FROM settlements WHERE mdtrt_id = ?", (mdtrt_id,)).fetchall()
    return [r[0] for r in rows]


def test_outpatient_and_inpatient_flows_over_http(flow: Flow) -> None:
    who = persona("filed-resident-2")
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("blood-routine", 1)])
    presettled = flow.presettle(who, mdtrt_id, amount)["setlinfo"]
    settled = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert "setl_id" not in presettled and settled["setl_id"]
    assert {k: v for k, v in presettled.items() if k not in ("medins_setl_id", "setl_time")} == {
        k: v for k, v in settled.items() if k not in ("medins_setl_id", "setl_time", "setl_id")}
    reversal = flow.reverse(who, mdtrt_id, settled["setl_id"])["setlinfo"]
    assert reversal["medfee_sumamt"] == -settled["medfee_sumamt"]
    stay, rows = flow.admit(who)
    flow.discharge(who, stay)
    assert flow.settle_inpatient(who, stay, total(rows))["setlinfo"]["clr_type"] == "21"


def test_the_url_per_transaction_style(server: RunningPlatform, flow: Flow) -> None:
    envelope = flow.his.envelope("1101", {"data": {}})
    answer = requests.post(server.url + "/fsi/api/1101", json=envelope, timeout=5).json()
    assert answer["infcode"] == -1 and "/input/data/mdtrt_cert_type" in answer["err_msg"]


def test_admin_health_exchanges_and_faults(server: RunningPlatform, flow: Flow) -> None:
    health = requests.get(server.url + "/__admin/health", timeout=5).json()
    assert health["status"] == "ok" and len(health["interfaces"]) == 44  # 41 + the A versions 2203A, 2206A, 2207A
    last = requests.get(server.url + "/__admin/exchanges", params={"limit": 1}, timeout=5).json()["exchanges"]
    assert last[0]["infno"] == "9001" and last[0]["valid"] is True
    add_fault(server, "2207:delay=10")
    listed = requests.get(server.url + "/__admin/faults", timeout=5).json()
    assert listed["faults"][0]["kind"] == "delay" and "skip-account-debit" in listed["mutants"]
    fid = listed["faults"][0]["id"]
    assert requests.delete(f"{server.url}/__admin/faults/{fid}", timeout=5).json()["faults"] == []
    assert requests.post(server.url + "/__admin/faults", json={"kind": "nonsense"}, timeout=5).status_code == 400


def test_delay_makes_a_client_time_out(server: RunningPlatform, flow: Flow) -> None:
    add_fault(server, "9001:delay=400")
    envelope = flow.his.envelope("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "i"}})
    with pytest.raises(requests.Timeout):
        requests.post(server.url + ENDPOINT, json=envelope, timeout=0.1)


def test_drop_after_commit_loses_the_answer_not_the_settlement(server: RunningPlatform, flow: Flow) -> None:
    who = persona("filed-employee-2")
    mdtrt_id, amount = flow.register(who)
    add_fault(server, "2207:drop-after-commit@1")
    envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
    with pytest.raises(requests.RequestException):
        requests.post(server.url + ENDPOINT, json=envelope, timeout=5).json()
    assert settlements_of(server, mdtrt_id) == ["settled"]  # committed before the connection dropped
    replay = requests.post(server.url + ENDPOINT, json=envelope, timeout=5).json()  # the fault was used up
    assert replay["infcode"] == 0 and replay["output"]["setlinfo"]["medins_setl_id"] == envelope["msgid"]
    flow.ok("2601", {"data": {"psn_no": who.psn_no, "omsgid": envelope["msgid"], "oinfno": "2207"}}, who)
    assert settlements_of(server, mdtrt_id) == ["voided"]


@pytest.mark.parametrize("spec", ["2207:http-5xx=502", "2207:html-error"])
def test_gateway_faults_answer_instead_of_the_platform(server: RunningPlatform, flow: Flow, spec: str) -> None:
    who = persona("filed-employee-2")
    mdtrt_id, amount = flow.register(who)
    add_fault(server, spec)
    reply = requests.post(server.url + ENDPOINT, json=flow.his.envelope(
        "2207", settle_input(who, mdtrt_id, "B1", amount), who), timeout=5)
    if "5xx" in spec:
        assert reply.status_code == 502
    else:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        reply.json()
    assert settlements_of(server, mdtrt_id) == []  # nothing was processed


@pytest.mark.parametrize("kind", ["garbled", "truncated"])
def test_corrupted_answers_after_commit(server: RunningPlatform, flow: Flow, kind: str) -> None:
    who = persona("filed-employee-2")
    mdtrt_id, amount = flow.register(who)
    add_fault(server, f"2207:{kind}")
    reply = requests.post(server.url + ENDPOINT, json=flow.his.envelope(
        "2207", settle_input(who, mdtrt_id, "B1", amount), who), timeout=5)
    with pytest.raises(ValueError):
        json.loads(reply.content.decode("utf-8"))
    assert settlements_of(server, mdtrt_id) == ["settled"]


def test_eight_concurrent_settlements_of_one_visit_make_one(server: RunningPlatform, flow: Flow) -> None:
    who = persona("filed-employee-2")
    mdtrt_id, amount = flow.register(who)
    envelopes = [flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who) for _ in range(8)]

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        return requests.post(server.url + ENDPOINT, json=envelope, timeout=10).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, envelopes))
    assert sorted(a["infcode"] for a in answers) == [-1] * 7 + [0]
    assert {a["err_msg"] for a in answers if a["infcode"]} == {CAUSE_MESSAGES["duplicate-settlement"]}
    assert settlements_of(server, mdtrt_id) == ["settled"]


def test_eight_concurrent_copies_of_one_message_make_one_settlement(server: RunningPlatform, flow: Flow) -> None:
    who = persona("filed-employee-2")
    mdtrt_id, amount = flow.register(who)
    envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.post(server.url + ENDPOINT, json=envelope, timeout=10).json(),
                                range(8)))
    assert all(a == answers[0] for a in answers) and answers[0]["infcode"] == 0
    assert settlements_of(server, mdtrt_id) == ["settled"]


def test_file_upload_as_multipart_and_download(server: RunningPlatform, flow: Flow) -> None:
    code = flow.his.fixmedins_code
    envelope = flow.his.envelope("9101", {"fsUploadIn": {"filename": "a.txt", "fixmedins_code": code}})
    reply = requests.post(server.url + ENDPOINT, data={"jsonStr": json.dumps(envelope, ensure_ascii=False)},
                          files={"file": ("a.txt", "明细\t1\n".encode())}, timeout=5).json()
    assert reply["infcode"] == 0
    download = flow.his.envelope("9102", {"fsDownloadIn": {"file_qury_no": reply["output"]["file_qury_no"],
                                                           "filename": "a.txt", "fixmedins_code": code}})
    got = requests.post(server.url + ENDPOINT, json=download, timeout=5)
    assert got.headers["content-type"] == "application/octet-stream" and got.content == "明细\t1\n".encode()
