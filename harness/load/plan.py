"""Everything a load process needs besides Locust: the site, how to address and sign a request, how
to judge an answer, the shape and the identity pool. Built once per process (master, worker or local).

An answer counts as an error unless it is HTTP 200, JSON, `infcode` 0 and valid against the
interface's output schema under the site's province profile: a fast answer that is wrong is an error.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any

from harness.gateway import Signer, make_signer
from harness.load.flows import FLOW_INTERFACES, IdentityPool, UserFlow, his_for_site
from harness.load.shapes import LoadShape
from harness.siteconfig import SiteConfig
from harness.specs import MessageValidator, SpecRegistry, deep_merge
from harness.transport import build_url

__all__ = ["LoadPlan", "make_plan"]

JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8"}


@dataclass
class LoadPlan:
    site: SiteConfig
    shape: LoadShape
    validator: MessageValidator
    signer: Signer
    pool: IdentityPool
    transport: dict[str, Any]
    infver: str = "V1.0"
    process_index: int = 0  # 0: the local process; a worker's index + 1 in a distributed run
    _paths: dict[str, str] = field(default_factory=dict)
    _users: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def timeout_s(self) -> float:
        return self.site.limits.timeout_s

    def path(self, infno: str) -> str:
        """The request path (relative to the site's base_url) for `infno`, by the profile's url style."""
        found = self._paths.get(infno)
        if found is None:
            url = build_url("", infno, url_style=self.transport.get("url_style", "single"),
                            endpoint_path=self.transport.get("endpoint_path", "/fsi/api/rsfComIfsService/callService"),
                            infno_path_template=self.transport.get("infno_path_template", "/fsi/api/{infno}"))
            found = self._paths[infno] = url
        return found

    def request(self, infno: str, envelope: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
        """(path, headers, body) of one signed request."""
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        content_type = self.transport.get("content_type")
        headers = {**JSON_HEADERS, **({"Content-Type": content_type} if content_type else {}), **self.signer(infno)}
        return self.path(infno), headers, body

    def judge(self, infno: str, status: int, body: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
        """(the answer's output, None) when the answer is right; (None, why) when it counts as an error."""
        if status != 200:
            return None, f"HTTP {status}" if status else "no answer (connection failed or timed out)"
        try:
            answer = json.loads(body or b"")
        except ValueError:
            return None, "the answer is not JSON"
        if not isinstance(answer, dict):
            return None, "the answer is not a JSON object"
        if answer.get("infcode") != 0:
            return None, f"refused: infcode {answer.get('infcode')!r} {str(answer.get('err_msg', ''))[:120]}"
        if not self.validator.is_valid_response(infno, answer):
            violations = self.validator.validate_response(infno, answer)
            first = violations[0] if violations else None
            return None, f"off-schema answer: {first.message if first else 'invalid'}"[:200]
        output = answer.get("output")
        return (output if isinstance(output, dict) else {}), None

    def for_process(self, index: int) -> LoadPlan:
        """This plan in process `index` of a distributed run (msgid slots, where the pool starts)."""
        self.process_index = index
        self.pool.start_at(max(0, index - 1))
        return self

    def new_flow(self) -> UserFlow:
        his = his_for_site(self.site, self.infver, process_index=self.process_index,
                           distributed=self.process_index > 0)
        return UserFlow(his, self.pool, self.shape, next(self._users), random.Random())

    def think_s(self) -> float:
        low, high = self.shape.think_s
        return random.uniform(low, high)

    def min_visit_interval_s(self) -> float:
        """The pacing a rate cap asks of each user (0: none): peak users ÷ visits per second."""
        cap = self.shape.rate_limit_per_s
        return self.shape.peak_users / cap if cap else 0.0


def make_plan(site: SiteConfig, registry: SpecRegistry, shape: LoadShape) -> LoadPlan:
    """The plan for `site` under its province profile (gateway signing as in conformance runs)."""
    profile = registry.profile(site.profile)
    transport = dict(profile.transport)
    for key in ("url_style", "endpoint_path", "infno_path_template"):
        if getattr(site, key):
            transport[key] = getattr(site, key)
    gateway = deep_merge(profile.gateway, site.gateway.options)
    signer = make_signer(site.gateway.family, site.gateway.credentials(source=site.source), gateway)
    pool = IdentityPool(site.identities, site.items)
    validator = registry.validator(site.profile)
    for infno in FLOW_INTERFACES:  # compile now: not inside the run, where it would delay the first answers
        validator.is_valid_response(infno, {"infcode": 0, "output": {}})
    return LoadPlan(site, shape.with_rate_limit(site.limits.rate_limit_per_s), validator, signer, pool, transport,
                    profile.infver)
