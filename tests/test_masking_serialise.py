"""The masker's serialising side: JSON text masked after serialisation, always writable, masking off kept."""

from __future__ import annotations

import json
from pathlib import Path

from harness.model import Exchange, Outcome, ScenarioResult, StepResult
from harness.reporting.masking import Masker
from harness.reporting.results_json import write_exchanges

CERTNO = "430102199207221062"
NAME = "邹婷婷"


def test_known_values_overlapping_and_prefixes_are_all_masked() -> None:
    masker = Masker([CERTNO, CERTNO[:-1] + "9", NAME, "邹婷"])
    text = masker.text(f"{CERTNO} / {CERTNO[:-1]}9 / 参保人{NAME}未备案 / 邹婷 / 4301")
    assert CERTNO not in text and CERTNO[:-1] + "9" not in text and NAME not in text and "邹婷 " not in text
    assert text.endswith("/ 4301")  # a prefix of a value alone is no value


def test_dumps_masks_fields_and_values_inside_any_string() -> None:
    masker = Masker()
    line = masker.dumps({"request": {"certno": CERTNO, "psn_name": NAME},
                         "response": f'{{"err_msg": "{NAME} 未备案 ({CERTNO})"}}'})
    assert CERTNO not in line and NAME not in line
    assert json.loads(line)["request"]["certno"] == "430************062"


def test_lone_surrogates_are_written_as_escapes_and_parse_back() -> None:
    for masker in (Masker(), Masker(enabled=False)):
        text = masker.dumps({"err_msg": "bad \ud800 here"})
        text.encode("utf-8")  # writable
        assert json.loads(text)["err_msg"] == "bad \ud800 here"
        document = masker.document({"err_msg": "bad \ud800 here"})
        json.dumps(document, ensure_ascii=False).encode("utf-8")  # a document stays writable after parsing


def test_deep_nesting_is_cut_not_a_crash() -> None:
    deep: object = 1
    for _ in range(5000):
        deep = {"a": deep}
    text = Masker().dumps({"evidence": deep})
    assert "nested deeper than" in text


def test_masking_off_keeps_the_values() -> None:
    masker = Masker([CERTNO], enabled=False)
    assert CERTNO in masker.dumps({"certno": CERTNO, "note": CERTNO})


def test_an_answer_with_unicode_line_separators_stays_one_line_of_exchanges_jsonl(tmp_path: Path) -> None:
    answer = '{"infcode": -1, "err_msg": "a\u2028b\u2029c\x85d"}'
    exchange = Exchange(infno="1101", url="http://site", method="POST", request_headers={},
                        request_body={"msgid": "M1"}, status=200, response_headers={}, response_text=answer,
                        response_json=json.loads(answer), elapsed_ms=1.0, started_at="")
    result = ScenarioResult(scenario_id="s", outcome=Outcome.PASSED, clauses=(), duration_ms=1.0,
                            steps=(StepResult(0, "1101", exchange),))
    path = write_exchanges(tmp_path / "exchanges.jsonl", [result])
    [line] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["response"] == answer
