"""The in-process mutation proxy: a Target in front of another Target that rewrites its answers.

`MutatingTarget(target, mutation)` forwards every call unchanged and, when the mutation applies to
the interface and the answer (a success, a refusal, a replayed msgid), rewrites the answer: the
response text is re-written from the rewritten envelope and the parsed JSON is parsed from that
text, so the two always agree (the runner reads the text with Decimal money; reports show the JSON).
Answers with an infrastructure error, or that are not JSON objects, pass through untouched. With
`mutation=None` it is a transparent proxy (the self-test's clean baseline goes through it too).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from harness.model import Exchange
from harness.proxy.catalogue import Mutation
from harness.proxy.codec import dumps, loads
from harness.proxy.operations import ProxyState, apply_ops, remember
from harness.transport import Target

__all__ = ["MutatingTarget", "mutate_answer"]


def _matches_cause(err_msg: Any, patterns: Sequence[str]) -> bool:
    return isinstance(err_msg, str) and any(re.search(p, err_msg) for p in patterns)


def _condition_holds(mutation: Mutation, response: Mapping[str, Any], replay: bool,
                     patterns: Mapping[str, Sequence[str]]) -> bool:
    success = str(response.get("infcode")) == "0"
    if mutation.when == "success" and not success:
        return False
    if mutation.when == "refusal":
        if success:
            return False
        if mutation.match_cause and not _matches_cause(response.get("err_msg"), patterns.get(mutation.match_cause, ())):
            return False
    return not (mutation.when == "replay" and not replay)


def mutate_answer(mutation: Mutation, infno: str, request: Mapping[str, Any], text: str, state: ProxyState, *,
                  patterns: Mapping[str, Sequence[str]] | None = None) -> str | None:
    """The rewritten response text, or None when the mutation does not apply to this answer."""
    try:
        response = loads(text)
    except ValueError:
        return None
    if not isinstance(response, dict):
        return None
    msgid = str(request.get("msgid", ""))
    replay = bool(msgid) and msgid in state.msgids
    state.msgids.add(msgid)
    changed = False
    if mutation.applies_to(infno) and _condition_holds(mutation, response, replay, patterns or {}):
        altered = loads(text)
        if apply_ops(mutation.ops, infno, altered, request, state):
            changed, result = True, dumps(altered)
    remember(mutation.ops, infno, response, state)
    state.observe(infno, response)
    if changed:
        state.applied += 1
        return result
    return None


class MutatingTarget:
    """A Target that forwards to `target` and rewrites answers by one mutation (None: passes them through)."""

    def __init__(self, target: Target, mutation: Mutation | None, *,
                 err_msg_patterns: Mapping[str, Sequence[str]] | None = None) -> None:
        self.target, self.mutation = target, mutation
        self.patterns = dict(err_msg_patterns or {})
        self.state = ProxyState()
        self._lock = threading.Lock()  # one state for the whole run, whatever thread sends

    @property
    def applied(self) -> int:
        """How many answers the mutation altered (0: the run never met what it alters)."""
        return self.state.applied

    def send(self, infno: str, envelope: Mapping[str, Any]) -> Exchange:
        return self._rewrite(infno, envelope, self.target.send(infno, envelope))

    def _rewrite(self, infno: str, envelope: Mapping[str, Any], exchange: Exchange) -> Exchange:
        if self.mutation is None or exchange.error is not None or exchange.response_json is None:
            return exchange
        with self._lock:
            text = mutate_answer(self.mutation, infno, envelope, exchange.response_text, self.state,
                                 patterns=self.patterns)
        if text is None:
            return exchange
        headers = {k: (str(len(text.encode("utf-8"))) if k.lower() == "content-length" else v)
                   for k, v in exchange.response_headers.items()}
        parsed = json.loads(text)
        status = exchange.status
        if status is not None and status >= 400 and str(parsed.get("infcode")) == "0":
            status = 200  # a refusal at HTTP level (a gateway's 401) turned into an acceptance
        return dataclasses.replace(exchange, response_text=text, response_json=parsed, response_headers=headers,
                                   status=status)

    def __getattr__(self, name: str) -> Any:
        # upload/download/close and anything else a concrete target offers: passed through unaltered
        return getattr(self.target, name)
