"""What keeps a bug of the harness, or a huge answer, from costing a scenario its evidence.

- `internal_error_reason`: the reason of a scenario that hit a bug of hsa-cert (its traceback goes to
  the evidence, results.json `internal_error`, never to the console);
- `unanswered`: the exchange of a send that raised (its outcome is unknown: the runner 冲正s it);
- `bounded`: a finding whose texts quote at most 2,000 characters (a 4 MB err_msg is cut; the exchange
  keeps the answer as sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from harness.model import Exchange, Failure

__all__ = ["bounded", "internal_error_reason", "unanswered"]


def internal_error_reason(exc: BaseException) -> str:
    """What a scenario that hit a bug of the harness says (the traceback goes to the evidence, not the console)."""
    message = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")[:300]
    return (f"internal error: {type(exc).__name__}: {message} (this is a bug in hsa-cert, not a finding about the "
            "site; report it with the evidence folder)")


_MAX_FINDING_TEXT = 2000  # characters of a finding's title, expected, actual or detail (a 4 MB err_msg is quoted cut)


def _cut(text: str) -> str:
    if not isinstance(text, str) or len(text) <= _MAX_FINDING_TEXT:
        return text
    return f"{text[:_MAX_FINDING_TEXT]}… ({len(text) - _MAX_FINDING_TEXT} more characters; the answer is in " \
           "exchanges.jsonl)"


def bounded(failure: Failure) -> Failure:
    """The finding with its texts cut to a size a report can show (the exchange keeps the answer as sent)."""
    texts = (failure.title, failure.expected, failure.actual, failure.detail)
    if all(not isinstance(t, str) or len(t) <= _MAX_FINDING_TEXT for t in texts):
        return failure
    return replace(failure, title=_cut(failure.title), expected=_cut(failure.expected), actual=_cut(failure.actual),
                   detail=_cut(failure.detail))


def unanswered(infno: str, envelope: Mapping[str, Any], reason: str) -> Exchange:
    """The exchange of a send that raised: no answer, an error naming the harness's bug."""
    return Exchange(infno=infno, url="", method="POST", request_headers={}, request_body=envelope, status=None,
                    response_headers={}, response_text="", response_json=None, elapsed_ms=0.0,
                    started_at=datetime.now().astimezone().isoformat(timespec="milliseconds"), error=reason)
