"""The A versions of the outpatient visit and settlement: 2203A, 2206A, 2207A (interface-facts §3.2 [C]).

2203A is 2203 with the maternity facts `matn_type` and `geso_val` in `mdtrtinfo` (IF §4.4; HN 【2203A】 also
prints the pharmacy prescription fields `rxfixmedinsCode` … which are stored with the visit and not judged).
2206A/2207A pre-settle and settle exactly as 2206/2207 (the same calculation, the same outputs): they share
the settlement code of `outpatient.py`. A 2207A settlement is reversed by 2208 and undone by 2601 like a
2207 one (the platform compares the infno without its letter).
"""

from __future__ import annotations

from typing import Any

from harness.platform.context import Call, handler
from harness.platform.handlers.outpatient import presettle, settle_outpatient, visit_info


@handler("2203A")
def visit_info_a(call: Call) -> None:
    return visit_info(call)


@handler("2206A")
def presettle_a(call: Call) -> dict[str, Any]:
    return presettle(call)


@handler("2207A")
def settle_outpatient_a(call: Call) -> dict[str, Any]:
    return settle_outpatient(call)
