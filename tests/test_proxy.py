"""The mutation proxy: the operation interpreter on literal envelopes, the catalogue, and the Target wrapper."""

from __future__ import annotations

import http.server
import json
import threading
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from harness.errors import ConfigError
from harness.model import Grade
from harness.proxy import KINDS, MutatingTarget, ProxyState, apply_ops, load_mutations, mutate_answer, mutation_from
from harness.proxy.codec import dumps, loads
from harness.proxy.paths import locate
from harness.proxy.server import start_proxy
from harness.specs import load_registry
from harness.transport import CallableTarget, HttpTarget

SETTLED = ('{"infcode":0,"inf_refmsgid":"430000202401011200000000000001","err_msg":null,"output":{"setlinfo":'
           '{"mdtrt_id":"M1","setl_id":"S1","medfee_sumamt":107.20,"fund_pay_sumamt":49.62,"hifp_pay":49.62,'
           '"psn_part_amt":57.58,"acct_pay":53.08,"psn_cash_pay":4.50,"hosp_part_amt":0.00,"balc":946.92,'
           '"medins_setl_id":"H43010000001202401011200000001","pool_prop_selfpay":0.6},'
           '"setldetail":[{"fund_pay_type":"310100","fund_payamt":49.62}]}}')
REFUSED = '{"infcode":-1,"err_msg":"参保人未办理异地就医备案，不能直接结算","output":null}'
REQUEST = {"infno": "2207", "msgid": "H43010000001202401011200009999",
           "input": {"data": {"mdtrt_id": "M2", "psn_no": "P2", "medfee_sumamt": 10}}}


def run(ops: list[dict[str, Any]], text: str = SETTLED, state: ProxyState | None = None,
        infno: str = "2207") -> tuple[bool, Any]:
    doc = loads(text)
    changed = apply_ops(tuple(ops), infno, doc, REQUEST, state or ProxyState())
    return changed, doc


def setlinfo(doc: Any) -> Any:
    return doc["output"]["setlinfo"]


def test_codec_keeps_money_digits_exact() -> None:
    doc = loads(SETTLED)
    assert setlinfo(doc)["psn_cash_pay"] == Decimal("4.50")
    assert '"psn_cash_pay":4.50' in dumps(doc) and json.loads(dumps(doc)) == json.loads(SETTLED)
    setlinfo(doc)["psn_part_amt"] += Decimal("0.01")
    assert '"psn_part_amt":57.59' in dumps(doc)


def test_paths_name_fields_rows_and_every_member() -> None:
    doc = loads(SETTLED)
    assert [key for _, key in locate(doc, "output.setldetail[*].fund_payamt")] == ["fund_payamt"]
    assert len(locate(doc, "output.setlinfo.*")) == 12
    assert locate(doc, "output.nothing.here") == [] and locate(doc, "output.setldetail[5].x") == []
    with pytest.raises(ConfigError, match="malformed path"):
        locate(doc, "output..x")


def test_drop_removes_a_field_and_absent_fields_change_nothing() -> None:
    changed, doc = run([{"op": "drop", "path": "output.setlinfo.setl_id"}])
    assert changed and "setl_id" not in setlinfo(doc)
    assert run([{"op": "drop", "path": "output.setlinfo.no_such"}])[0] is False


def test_set_and_retype() -> None:
    changed, doc = run([{"op": "set", "path": "output.setlinfo.clr_way", "value": "99"}])
    assert changed and setlinfo(doc)["clr_way"] == "99"  # created
    changed, doc = run([{"op": "retype", "path": "output.setlinfo.medfee_sumamt", "to": "string"},
                        {"op": "retype", "path": "infcode", "to": "string"}])
    assert changed and setlinfo(doc)["medfee_sumamt"] == "107.20" and doc["infcode"] == "0"
    changed, doc = run([{"op": "retype", "path": "output.setlinfo.setl_id", "to": "number"}])
    assert not changed  # "S1" is no number


def test_add_a_cent_or_another_field() -> None:
    changed, doc = run([{"op": "add", "path": "output.setlinfo.psn_part_amt", "delta": "0.01"}])
    assert changed and setlinfo(doc)["psn_part_amt"] == Decimal("57.59")
    changed, doc = run([{"op": "add", "path": "output.setlinfo.balc", "delta_from": "output.setlinfo.acct_pay"}])
    assert setlinfo(doc)["balc"] == Decimal("1000.00")


def test_copy_from_the_answer_or_the_request() -> None:
    _, doc = run([{"op": "copy", "path": "output.setlinfo.medins_setl_id", "from_path": "output.setlinfo.setl_id"}])
    assert setlinfo(doc)["medins_setl_id"] == "S1"
    _, doc = run([{"op": "copy", "path": "output.setlinfo.mdtrt_id", "from_path": "request.input.data.mdtrt_id"}])
    assert setlinfo(doc)["mdtrt_id"] == "M2"


def test_reround_moves_the_difference_so_the_sums_still_hold() -> None:
    changed, doc = run([{"op": "reround", "path": "output.setlinfo.fund_pay_sumamt", "quantum": "1",
                         "also": ["output.setlinfo.hifp_pay", "output.setldetail[0].fund_payamt"],
                         "to": ["output.setlinfo.psn_part_amt", "output.setlinfo.psn_cash_pay"]}])
    info = setlinfo(doc)
    assert changed and info["fund_pay_sumamt"] == Decimal("49.00") and info["hifp_pay"] == Decimal("49.00")
    assert info["psn_part_amt"] == Decimal("58.20") and info["psn_cash_pay"] == Decimal("5.12")
    assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"] + info["hosp_part_amt"]
    assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]
    reversed_text = SETTLED.replace("49.62", "-49.62").replace("57.58", "-57.58").replace("4.50", "-4.50")
    _, doc = run([{"op": "reround", "path": "output.setlinfo.fund_pay_sumamt", "quantum": "1",
                   "to": ["output.setlinfo.psn_part_amt"]}], reversed_text)
    assert setlinfo(doc)["fund_pay_sumamt"] == Decimal("-49.00")  # toward zero, as the settlement it reverses
    assert setlinfo(doc)["psn_part_amt"] == Decimal("-58.20")


def test_negate_every_number_of_a_node_but_those_kept() -> None:
    changed, doc = run([{"op": "negate", "path": "output.setlinfo.*", "keep": ["pool_prop_selfpay"]}])
    info = setlinfo(doc)
    assert changed and info["medfee_sumamt"] == Decimal("-107.20") and info["pool_prop_selfpay"] == Decimal("0.6")
    assert info["hosp_part_amt"] == 0 and info["setl_id"] == "S1"


def test_echo_writes_what_an_earlier_answer_had() -> None:
    state = ProxyState()
    op = {"op": "echo", "path": "output.setlinfo.setl_id", "from_infnos": ["2207"],
          "from_path": "output.setlinfo.setl_id"}
    mutation = mutation_from({"name": "echo", "description": "d", "category": "protocol", "infnos": ["2207"],
                              "ops": [op], "clauses": ["2207.out.setlinfo.setl_id"], "grade": "MUST"})
    assert mutate_answer(mutation, "2207", REQUEST, SETTLED, state) is None  # nothing remembered yet
    second = mutate_answer(mutation, "2207", {**REQUEST, "msgid": "m2"}, SETTLED.replace('"S1"', '"S2"'), state)
    assert second is not None and setlinfo(loads(second))["setl_id"] == "S1" and state.applied == 1


def test_accept_turns_a_refusal_into_a_plausible_success() -> None:
    state = ProxyState()
    state.observe("2207", loads(SETTLED))
    changed, doc = run([{"op": "accept"}], REFUSED, state)
    info = setlinfo(doc)
    assert changed and doc["infcode"] == 0 and doc["err_msg"] == ""
    assert info["mdtrt_id"] == "M2" and info["medins_setl_id"] == REQUEST["msgid"] and info["setl_id"] != "S1"
    assert run([{"op": "accept"}], SETTLED)[0] is False  # a success stays as it is
    _, bare = run([{"op": "accept", "output": {"data": {"mdtrt_id": ""}}}], REFUSED)
    assert bare["output"] == {"data": {"mdtrt_id": "M2"}}


def test_refuse_turns_a_success_into_a_refusal() -> None:
    changed, doc = run([{"op": "refuse", "err_msg": "参保人中断缴费"}])
    assert changed and doc == {"infcode": -1, "inf_refmsgid": "430000202401011200000000000001",
                               "err_msg": "参保人中断缴费", "output": None}
    assert run([{"op": "refuse", "err_msg": "x"}], REFUSED)[0] is False


def test_every_operation_kind_is_in_the_catalogue_and_each_entry_is_complete() -> None:
    catalogue = load_mutations()
    assert len(catalogue) >= 20
    assert {op["op"] for m in catalogue.values() for op in m.ops} == set(KINDS)
    registry = load_registry()
    rules = {r.id for r in registry.rules()} | {c.clause for c in registry.causes()}
    for m in catalogue.values():
        assert m.infnos and m.clauses and isinstance(m.grade, Grade), m.name
        for clause in m.clauses:
            if clause.startswith("R-"):
                assert clause in rules, f"{m.name}: {clause} is not in rules.json"
            else:
                parts = clause.split(".")
                assert parts[0] == "ENV" or (len(parts) == 4 and parts[1] == "out"), f"{m.name}: {clause}"
    assert sum(m.grade is Grade.MUST for m in catalogue.values()) >= 20


@pytest.mark.parametrize(("entry", "message"), [
    ({"ops": [{"op": "explode"}]}, "unknown operation 'explode'"),
    ({"ops": [{"op": "add"}], "grade": "OUGHT"}, "grade must be MUST, SHOULD or MAY"),
    ({"ops": [{"op": "set", "path": "output.x"}]}, "operation set needs value"),
    ({"ops": [{"op": "drop", "path": "output.x"}], "when": "sometimes"}, "when must be one of"),
])
def test_a_bad_catalogue_entry_is_a_config_error(entry: dict[str, Any], message: str) -> None:
    base = {"name": "bad", "description": "d", "category": "money", "infnos": ["2207"], "clauses": ["R-MONEY-SUM"],
            "grade": "MUST"}
    with pytest.raises(ConfigError, match=message):
        mutation_from({**base, **entry})


def responder(text: str) -> CallableTarget:
    return CallableTarget(lambda _infno, _envelope: (200, {"Content-Type": "application/json",
                                                           "Content-Length": str(len(text.encode()))}, text))


def test_the_wrapper_rewrites_text_and_json_alike() -> None:
    mutation = load_mutations()["psn-part-plus-cent"]
    proxy = MutatingTarget(responder(SETTLED), mutation)
    exchange = proxy.send("2207", REQUEST)
    assert '"psn_part_amt":57.59' in exchange.response_text
    assert json.loads(exchange.response_text) == exchange.response_json
    assert exchange.response_json["output"]["setlinfo"]["psn_part_amt"] == pytest.approx(57.59)
    assert exchange.response_headers["Content-Length"] == str(len(exchange.response_text.encode("utf-8")))
    assert proxy.applied == 1
    untouched = proxy.send("2201", REQUEST)  # not one of the mutation's interfaces
    assert untouched.response_text == SETTLED and proxy.applied == 1


def test_the_wrapper_passes_through_errors_non_json_and_unmatched_refusals() -> None:
    proxy = MutatingTarget(responder("<html>bad gateway</html>"), load_mutations()["setl-id-missing"])
    exchange = proxy.send("2207", REQUEST)
    assert exchange.error and exchange.response_text == "<html>bad gateway</html>" and proxy.applied == 0
    patterns = {"not-filed": ["未办理异地就医备案"], "lapsed-contributions": ["中断缴费"]}
    lapsed = MutatingTarget(responder(REFUSED), load_mutations()["accept-lapsed-contributions"],
                            err_msg_patterns=patterns)
    assert lapsed.send("2207", REQUEST).response_json["infcode"] == -1  # refused for another cause: left alone
    not_filed = MutatingTarget(responder(REFUSED), load_mutations()["accept-not-filed"], err_msg_patterns=patterns)
    assert not_filed.send("2207", REQUEST).response_json["infcode"] == 0
    transparent = MutatingTarget(responder(SETTLED), None)
    assert transparent.send("2207", REQUEST).response_text == SETTLED


def test_a_replay_mutation_alters_only_the_second_answer_to_one_msgid() -> None:
    proxy = MutatingTarget(responder(SETTLED), load_mutations()["replay-different-answer"])
    first, again = proxy.send("2207", REQUEST), proxy.send("2207", REQUEST)
    assert first.response_text == SETTLED and again.response_text != SETTLED
    assert again.response_json["output"]["setlinfo"]["psn_cash_pay"] == pytest.approx(5.50)


class _Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str, bytes]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((self.path, self.headers.get("x-tif-signature", ""), body))
        payload = (SETTLED if b"2207" in body else "<html>gateway</html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if b"2207" in body else "text/html")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_the_standalone_proxy_forwards_requests_as_sent_and_rewrites_json_answers() -> None:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    server, _thread = start_proxy(f"http://127.0.0.1:{upstream.server_address[1]}",
                                  load_mutations()["psn-part-plus-cent"])
    try:
        with HttpTarget(server.url, signer=lambda _infno: {"x-tif-signature": "abc"}) as target:
            exchange = target.send("2207", REQUEST)
            other = target.send("2201", {**REQUEST, "infno": "2201", "input": {}})
        assert exchange.error is None and exchange.response_json["output"]["setlinfo"]["psn_part_amt"] == 57.59
        assert json.loads(exchange.response_text) == exchange.response_json
        path, signature, body = _Upstream.seen[0]
        assert path == "/fsi/api/rsfComIfsService/callService" and signature == "abc"
        assert json.loads(body) == REQUEST  # the request went upstream as it was sent
        assert other.response_text == "<html>gateway</html>"  # not JSON: passed through
        assert server.state.applied == 1
    finally:
        server.shutdown()
        server.server_close()
        upstream.shutdown()
        upstream.server_close()


def test_a_gateway_refusal_turned_into_an_acceptance_is_an_http_200() -> None:
    text = '{"code":401,"message":"签名不一致!"}'
    gateway = CallableTarget(lambda _infno, _envelope: (401, {"Content-Type": "application/json"}, text))
    proxy = MutatingTarget(gateway, load_mutations()["gateway-refusal-accepted"])
    exchange = proxy.send("1101", {**REQUEST, "infno": "1101"})
    assert exchange.status == 200 and exchange.response_json["infcode"] == 0 and proxy.applied == 1
    untouched = MutatingTarget(gateway, None).send("1101", REQUEST)
    assert untouched.status == 401
