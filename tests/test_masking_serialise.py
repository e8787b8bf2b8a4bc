"""The masker's serialising side: JSON text masked after serialisation, always writable, masking off kept."""

from __future__ import annotations

import json

from harness.reporting.masking import Masker

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
