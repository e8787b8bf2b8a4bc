"""What a run's results depend on besides the site: the tool version, the spec edition, the suite.

`hsa-cert --version` prints the three; every results.json carries them in its `tool` section and the
certificate prints them, so two results can be compared only when they say the same (or the
CHANGELOG says what changed between them).

The suite fingerprint is that of the *default suite under the baseline profile*, computed the way the
certificate's fingerprint of the scenarios that ran is (`certify_particulars.suite_fingerprint`): a
certification run of the whole default suite shows the same value in both places. Any scenario added,
removed or changed (in its YAML, a generator table, or the schemas the negatives are generated from)
changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import HsaCertError
from harness.reporting.certify_particulars import suite_fingerprint
from harness.resources import SPECS_ENV, data_layout, data_root, specs_dir, specs_overridden, tool_version
from harness.scenarios.catalogue import load_suites
from harness.specs import SpecRegistry, load_registry

__all__ = ["IDENTITY_PROFILE", "ToolIdentity", "tool_identity"]

IDENTITY_PROFILE = "baseline"
_CACHE: dict[tuple[str, str], ToolIdentity] = {}


@dataclass(frozen=True, slots=True)
class ToolIdentity:
    version: str
    spec_edition: str
    suite_fingerprint: str  # "" when the suite could not be loaded (see `problem`)
    scenarios: int = 0
    data: str = ""  # where the specs and scenarios came from, for --version
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        """The `tool` section of results.json."""
        return {"name": "hsa-cert", "version": self.version, "spec_edition": self.spec_edition,
                "suite_fingerprint": self.suite_fingerprint}

    def render(self) -> str:
        suite = (f"{self.suite_fingerprint} (default suite, {self.scenarios} scenarios, {IDENTITY_PROFILE} profile)"
                 if self.suite_fingerprint else f"unavailable: {self.problem}")
        return "\n".join([f"hsa-cert {self.version}", f"spec edition: {self.spec_edition}",
                          f"suite fingerprint: {suite}", f"data: {self.data}"])


def tool_identity(registry: SpecRegistry | None = None) -> ToolIdentity:
    """The identity for the specs in use (default: `load_registry()`), computed once per specs folder."""
    registry = registry or load_registry()
    key = (str(registry.root), registry.version)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _compute(registry)
    return found


def _compute(registry: SpecRegistry) -> ToolIdentity:
    source = f"{data_layout()} copy at {data_root()}"
    if specs_overridden():
        source += f"; specs from ${SPECS_ENV} ({specs_dir()})"
    try:
        scenarios = load_suites(registry, IDENTITY_PROFILE, None)
    except HsaCertError as exc:  # an edited suite with errors: the version is still worth printing
        return ToolIdentity(tool_version(), registry.version, "", data=source, problem=exc.title)
    entries = [{"id": s.id, "fingerprint": s.fingerprint} for s in scenarios]
    return ToolIdentity(tool_version(), registry.version, suite_fingerprint(entries), len(entries), source)
