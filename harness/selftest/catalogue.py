"""The mutant catalogue: what each planted deviation of the reference platform breaks, and which
scenarios can be expected to notice it.

The platform owns the switches (`harness.platform.faults.MUTANTS`: name -> what the deviation does,
one `switches.on("name")` at the place it applies). This module adds what the self-test needs and
the platform must not know: the category (money, rules, protocol, isolation), the clause the
deviation violates (a business rule `R-…` of rules.json or a field clause such as
`2207.out.setlinfo.cvlserv_flag`), and its *relevance* — a declared selection of scenarios, used
only by `--relevant-only` runs to keep CI fast. The published score never comes from that
selection: a full run sends every scenario against every mutant.

Relevance selects a scenario when its kind is one of `kinds` (if given) and it matches at least one
of the other selectors (area, interface, tag, archetype, id prefix); with no other selector, every
scenario of those kinds is relevant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.model import Scenario
from harness.platform.faults import MUTANTS
from harness.proxy.catalogue import select_by_name

__all__ = ["CATALOGUE", "CATEGORIES", "MutantSpec", "Relevance", "select_mutants"]

CATEGORIES = ("money", "rules", "protocol", "isolation")


@dataclass(frozen=True, slots=True)
class Relevance:
    """A declared selection of scenarios (see the module docstring for how it matches)."""

    kinds: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    archetypes: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()  # scenario id prefixes

    def matches(self, scenario: Scenario) -> bool:
        if self.kinds and scenario.kind not in self.kinds:
            return False
        if not (self.areas or self.interfaces or self.tags or self.archetypes or self.ids):
            return True
        return (
            scenario.area in self.areas
            or scenario.interface in self.interfaces
            or any(tag in self.tags for tag in scenario.tags)
            or (scenario.archetype or "") in self.archetypes
            or any(scenario.id.startswith(prefix) for prefix in self.ids)
        )

    def select(self, scenarios: Iterable[Scenario]) -> list[Scenario]:
        return [s for s in scenarios if self.matches(s)]

    def to_json(self) -> dict[str, list[str]]:
        fields = ("kinds", "areas", "interfaces", "tags", "archetypes", "ids")
        return {name: list(getattr(self, name)) for name in fields if getattr(self, name)}


@dataclass(frozen=True, slots=True)
class MutantSpec:
    name: str
    category: str  # one of CATEGORIES
    clause: str  # the clause the deviation violates
    relevance: Relevance
    # The deviation is in the gateway-signature check: only a province profile whose gateway signs requests
    # exercises it (under one that signs nothing it is reported "not exercised" and left out of the score).
    signing: bool = False

    @property
    def description(self) -> str:
        return MUTANTS.get(self.name, "")

    @property
    def fault(self) -> str:
        """The embedded platform's fault switch, in the CLI form (`--fault`)."""
        return f"*:mutant={self.name}"

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "category": self.category, "clause": self.clause,
                                   "description": self.description, "relevance": self.relevance.to_json()}
        if self.signing:
            data["signing"] = True
        return data


# Scenarios that settle, pre-settle or reverse money: every hand-written business flow.
_SETTLING = Relevance(kinds=("flow",), areas=("outpatient", "inpatient", "pharmacy", "chronic", "reversal",
                                              "idempotency"))
_REVERSING = Relevance(kinds=("flow",), areas=("reversal", "outpatient", "inpatient", "pharmacy", "chronic"))


def _cause(*causes: str) -> Relevance:
    return Relevance(tags=tuple(f"cause:{c}" for c in causes))


_ENTRIES: tuple[MutantSpec, ...] = (
    # money
    MutantSpec("shares-dont-add-up", "money", "R-MONEY-SUM", _SETTLING),
    MutantSpec("psn-part-split-wrong", "money", "R-MONEY-PSN-PART", _SETTLING),
    MutantSpec("float-rounding-error", "money", "R-MONEY-PRECISION", _SETTLING),
    MutantSpec("pool-share-truncated", "money", "2207.out.setlinfo.hifp_pay", _SETTLING),
    MutantSpec("skip-account-debit", "money", "R-ACCOUNT-DEBITED", _SETTLING),
    MutantSpec("reversal-keeps-sign", "money", "R-REVERSAL-NEGATES", _REVERSING),
    MutantSpec("presettle-ignores-account", "money", "R-PRESETTLE-EQUALS-SETTLE", _SETTLING),
    # rules
    MutantSpec("accept-not-filed", "rules", "R-FILING-REQUIRED",
               Relevance(tags=("cause:not-filed", "cause:filing-expired", "cause:filed-elsewhere"),
                         areas=("idempotency",))),
    MutantSpec("accept-expired-filing", "rules", "R-FILING-VALIDITY", _cause("filing-expired")),
    MutantSpec("accept-filed-elsewhere", "rules", "R-FILING-REGION", _cause("filed-elsewhere")),
    MutantSpec("accept-lapsed-contributions", "rules", "R-CAUSE-LAPSED-CONTRIBUTIONS", _cause("lapsed-contributions")),
    MutantSpec("accept-inactive-card", "rules", "R-CAUSE-INACTIVE-CARD", _cause("inactive-card")),
    MutantSpec("emergency-not-as-filed", "rules", "R-EMERGENCY-AS-FILED", Relevance(archetypes=("emergency",))),
    MutantSpec("settle-twice", "rules", "R-NO-DUPLICATE-SETTLEMENT",
               Relevance(kinds=("flow",), areas=("idempotency", "outpatient", "chronic"))),
    MutantSpec("reverse-twice", "rules", "R-REVERSE-ONCE", Relevance(kinds=("flow",), areas=("reversal",))),
    MutantSpec("correction-does-not-undo", "rules", "R-2601-UNDOES", Relevance(kinds=("flow",), areas=("reversal",))),
    MutantSpec("sumamt-unchecked", "rules", "R-CAUSE-SUMAMT-MISMATCH", _cause("sumamt-mismatch")),
    MutantSpec("refusal-keeps-changes", "rules", "R-REFUSAL-NO-STATE-CHANGE",
               Relevance(tags=("cause",), areas=("outpatient", "idempotency"))),
    # protocol
    MutantSpec("medins-setl-id-not-msgid", "protocol", "R-MEDINS-SETL-ID-IS-MSGID", _SETTLING),
    MutantSpec("malformed-inf-refmsgid", "protocol", "ENV.resp.inf_refmsgid",
               Relevance(kinds=("flow",), areas=("envelope", "outpatient"))),
    MutantSpec("infcode-as-string", "protocol", "ENV.resp.infcode",
               Relevance(kinds=("flow",), areas=("envelope", "outpatient"))),
    MutantSpec("output-field-missing", "protocol", "2207.out.setlinfo.cvlserv_flag", _SETTLING),
    MutantSpec("code-outside-list", "protocol", "2207.out.setlinfo.clr_way", _SETTLING),
    MutantSpec("skip-required-check", "protocol", "R-INPUT-VALIDATED",
               Relevance(kinds=("negative",), tags=("mutation:missing", "mutation:xregion-missing"))),
    MutantSpec("accept-missing-sign-no", "protocol", "R-SIGN-IN-REQUIRED",
               Relevance(areas=("envelope",), tags=("needs:sign-in",), kinds=("flow",))),
    MutantSpec("replay-refused", "protocol", "R-MSGID-REPLAY", Relevance(kinds=("flow",), areas=("idempotency",))),
    MutantSpec("refusal-output-not-null", "protocol", "R-REFUSAL-SHAPE",
               Relevance(tags=("cause",), areas=("reversal", "envelope"), kinds=("flow", "generated"))),
    MutantSpec("no-verify", "protocol", "R-GATEWAY-SIGNATURE", Relevance(ids=("gateway.",)), signing=True),
    # isolation
    MutantSpec("cross-institution-read", "isolation", "R-ISOLATION", Relevance(tags=("isolation",))),
    MutantSpec("cross-institution-reverse", "isolation", "R-ISOLATION", Relevance(tags=("isolation",))),
)

CATALOGUE: Mapping[str, MutantSpec] = {m.name: m for m in _ENTRIES}


def select_mutants(names: Sequence[str] | None = None) -> list[MutantSpec]:
    """The catalogue in its order, or the named mutants (UsageError naming the unknown ones)."""
    return select_by_name(CATALOGUE, names, unknown_as="unknown mutant", known_as="known mutants: ",
                          hint="`hsa-cert selftest --list` shows the catalogue")
