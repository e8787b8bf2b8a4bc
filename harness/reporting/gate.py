"""The certification verdict and the CI gate: one decision, one exit code.

Rules, all applied to the run's record:
- every scenario that must pass (mandatory, or conditional on a declared capability) ran and has no
  MUST finding (SHOULD/MAY findings are advisories; an inconclusive scenario is listed in the notes,
  never counted as passed, and never decides on its own);
- the pass rate (conformance over what ran: passed / (passed + failed)) is at least `--min-pass-rate`;
- the coverage (what ran / what applies) is at least `--min-coverage`, when given;
- with `--fail-on-regression`, nothing that passed in the site's previous run fails now;
- `--baseline known-failures.toml` waives listed failures until their expiry date. A listed scenario
  that passes is reported (remove it); an expired entry fails the gate whatever the scenario does.
  A run whose mandatory failures were waived is never plainly "certified": its verdict is
  "certified with waivers" (附豁免), listing each waiver with its reason and expiry.
- a scenario new since the site's last certified run is *pending* (待定) until its grace period ends,
  when the certification profile sets `pending_grace_days`: its failure is reported, not deciding;
  after the grace it decides like any other.
Infrastructure errors make the run incomplete (exit 3): an unreachable site proves nothing either way.

Exit codes: 0 certified, 1 findings, 2 usage or config error (raised as errors elsewhere), 3 infra.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, UsageError
from harness.model import Outcome
from harness.reporting.record import RunRecord

__all__ = [
    "CERTIFIED_WITH_WAIVERS",
    "EXIT_CERTIFIED",
    "EXIT_FINDINGS",
    "EXIT_INFRASTRUCTURE",
    "Baseline",
    "GateFinding",
    "GatePolicy",
    "GateResult",
    "KnownFailure",
    "evaluate",
    "load_baseline",
    "parse_pass_rate",
]

EXIT_CERTIFIED, EXIT_FINDINGS, EXIT_INFRASTRUCTURE = 0, 1, 3
VERDICTS = {EXIT_CERTIFIED: "certified", EXIT_FINDINGS: "not certified", EXIT_INFRASTRUCTURE: "incomplete"}
CERTIFIED_WITH_WAIVERS = "certified with waivers"


def parse_pass_rate(text: str | float, option: str = "--min-pass-rate") -> float:
    """'0.95', '95' and '95%' all mean 95 %."""
    raw = str(text).strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        value = -1.0
    if raw.endswith("%") or value > 1:
        value /= 100
    if not 0 <= value <= 1:
        raise UsageError(
            f"{option} {text!r} is not a rate",
            hint="give a fraction (0.95) or a percentage (95 or 95%) between 0 and 100 %",
        )
    return value


@dataclass(frozen=True, slots=True)
class KnownFailure:
    scenario: str
    reason: str
    expires: date


@dataclass(frozen=True, slots=True)
class Baseline:
    path: str
    entries: tuple[KnownFailure, ...]


def load_baseline(path: Path) -> Baseline:
    def bad(where: str, what: str) -> ConfigError:
        return ConfigError(
            f"Invalid known-failures baseline: {what}",
            location=f"{path} ({where})",
            hint="each [[known_failure]] needs scenario = \"<id>\", reason = \"…\" and expires = YYYY-MM-DD "
            "(see fixtures/known-failures.example.toml)",
        )

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError("Cannot read the known-failures baseline", location=str(path), detail=str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("The known-failures baseline is not UTF-8 text", location=str(path), detail=str(exc),
                          hint="pass the TOML file of known failures, saved as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("The known-failures baseline is not valid TOML", location=str(path), detail=str(exc)) from exc
    unknown = set(raw) - {"known_failure"}
    if unknown:
        raise bad("top level", f"unknown key(s) {sorted(unknown)}")
    entries = []
    seen: set[str] = set()
    for i, item in enumerate(raw.get("known_failure", [])):
        where = f"known_failure #{i + 1}"
        if not isinstance(item.get("scenario"), str) or not item["scenario"]:
            raise bad(where, "'scenario' must be a scenario id")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise bad(where, f"{item['scenario']}: 'reason' must say why the failure is accepted")
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                expires = None
        if not isinstance(expires, date):
            raise bad(where, f"{item['scenario']}: 'expires' must be a date (YYYY-MM-DD)")
        if item["scenario"] in seen:
            raise bad(where, f"{item['scenario']} is listed twice")
        seen.add(item["scenario"])
        entries.append(KnownFailure(item["scenario"], item["reason"].strip(), expires))
    return Baseline(str(path), tuple(entries))


@dataclass(frozen=True, slots=True)
class GatePolicy:
    min_pass_rate: float | None = None
    fail_on_regression: bool = False
    baseline: Baseline | None = None
    today: date | None = None  # None: the local date when evaluated
    min_coverage: float | None = None  # what ran / what applies
    pending: Mapping[str, date] = field(default_factory=dict)  # new scenario id -> last day of its grace

    def criteria(self) -> list[str]:
        items = ["all mandatory scenarios ran with no MUST finding 必选场景无“必须”级问题"]
        if self.min_pass_rate is not None:
            items.append(f"pass rate ≥ {self.min_pass_rate * 100:.1f}% 通过率")
        if self.min_coverage is not None:
            items.append(f"coverage ≥ {self.min_coverage * 100:.1f}% 覆盖率")
        if self.fail_on_regression:
            items.append("no regression since the previous run 无回归")
        if self.pending:
            items.append(f"{len(self.pending)} scenario(s) new since the last certified run pending until their "
                         "grace ends 新增场景宽限期内不影响结论")
        if self.baseline is not None:
            items.append(f"known failures waived until expiry 已知失败豁免: {Path(self.baseline.path).name}")
        return items


@dataclass(frozen=True, slots=True)
class GateFinding:
    rule: str  # mandatory | min-pass-rate | min-coverage | regression | baseline-expired | infrastructure
    message: str
    scenario: str = ""
    clauses: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "scenario": self.scenario, "clauses": list(self.clauses)}


@dataclass(frozen=True, slots=True)
class GateResult:
    exit_code: int
    findings: tuple[GateFinding, ...] = ()
    notes: tuple[str, ...] = ()
    waived: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    waivers: tuple[KnownFailure, ...] = ()  # the baseline entries behind `waived`
    pending: tuple[tuple[str, str], ...] = ()  # (scenario id, grace until): failed, within its grace
    compared_with: str | None = None  # run id of the previous run used for regression
    infra: tuple[GateFinding, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        if self.exit_code == EXIT_CERTIFIED and self.waived:
            return CERTIFIED_WITH_WAIVERS  # a waived MUST failure is not a pass: the verdict says so
        return VERDICTS[self.exit_code]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "criteria": list(self.criteria),
            "findings": [f.to_json() for f in self.findings],
            "infrastructure": [f.to_json() for f in self.infra],
            "waived": list(self.waived),
            "waivers": [{"scenario": w.scenario, "reason": w.reason, "expires": w.expires.isoformat()}
                        for w in self.waivers],
            "notes": list(self.notes),
            "pending": [{"scenario": sid, "until": until} for sid, until in self.pending],
            "compared_with": self.compared_with,
        }

    def render(self, limit: int = 50, full_list: str = "certification.json") -> str:
        """The gate's reasons, then the verdict as the last line (what a terminal or CI log shows at the end):
        at most `limit` infrastructure errors and findings, the rest counted and pointed to in `full_list`."""
        lines = [f"  infrastructure: {f.message}" for f in self.infra[:limit]]
        if len(self.infra) > limit:
            lines.append(f"  … and {len(self.infra) - limit} more infrastructure errors (all in {full_list})")
        lines.extend(f"  finding [{f.rule}]: {f.message}" for f in self.findings[:limit])
        if len(self.findings) > limit:
            lines.append(f"  … and {len(self.findings) - limit} more findings (all in {full_list})")
        expiry = {w.scenario: w for w in self.waivers}
        lines.extend(f"  waived (known failure 已豁免): {sid}"
                     + (f" until {expiry[sid].expires.isoformat()}: {expiry[sid].reason}" if sid in expiry else "")
                     for sid in self.waived)
        lines.extend(f"  pending (new scenario 新增场景待定, not deciding until {until}): {sid}"
                     for sid, until in self.pending)
        lines.extend(f"  note: {n}" for n in self.notes)
        counts = Counter(f.rule for f in (*self.infra, *self.findings))
        why = ", ".join(f"{n} {rule}" for rule, n in counts.most_common())
        lines.append(f"verdict: {self.verdict.upper()} (exit {self.exit_code})" + (f": {why}" if why else ""))
        return "\n".join(lines)


def _clauses(record_scenario: Any) -> tuple[str, ...]:
    failed = tuple(dict.fromkeys(f.clause for f in record_scenario.failures if f.clause))
    return failed or tuple(record_scenario.clauses)


def evaluate(record: RunRecord, policy: GatePolicy, previous: Mapping[str, Outcome] | None = None,
             *, previous_run_id: str | None = None) -> GateResult:
    today = policy.today or date.today()
    entries = {e.scenario: e for e in (policy.baseline.entries if policy.baseline else ())}
    outcomes = record.outcome_of()
    findings: list[GateFinding] = []
    notes: list[str] = []
    infra: list[GateFinding] = []

    expired = {sid for sid, e in entries.items() if e.expires < today}
    for sid in sorted(expired):
        e = entries[sid]
        findings.append(GateFinding("baseline-expired", f"known failure {sid} expired on {e.expires.isoformat()} "
                                    f"({e.reason}): fix it, or renew the entry with a new date and reason", sid))
    waivable = {sid for sid in entries if sid not in expired}
    waived: list[str] = []
    pending: list[tuple[str, str]] = []
    for sid in sorted(entries):
        if sid not in outcomes:
            notes.append(f"known failure {sid} is not in this run: remove it from {Path(policy.baseline.path).name}")
        elif outcomes[sid] is Outcome.PASSED:
            notes.append(f"known failure {sid} now passes: remove it from {Path(policy.baseline.path).name}")

    for s in record.scenarios:
        if not s.must_pass:
            continue
        if s.outcome is Outcome.INCONCLUSIVE:  # listed, never decisive on its own
            continue
        if s.outcome is Outcome.ERROR:
            infra.append(GateFinding("infrastructure", f"{s.id}: {s.reason or 'infrastructure error'}", s.id))
        elif s.outcome is not Outcome.PASSED:
            if s.id in waivable:
                waived.append(s.id)
                continue
            grace = policy.pending.get(s.id)
            if grace is not None and today <= grace:
                pending.append((s.id, grace.isoformat()))
                continue
            what = "not provisioned (not run)" if s.outcome is Outcome.NOT_PROVISIONED else "failed"
            musts = [f for f in s.failures if not f.advisory and not f.inconclusive] or list(s.failures)
            detail = s.reason if s.outcome is Outcome.NOT_PROVISIONED else (musts[0].title if musts else "")
            clauses = _clauses(s)
            msg = f"mandatory scenario {s.id} {what}" + (f": {detail}" if detail else "")
            if clauses:
                msg += f" [{', '.join(clauses[:6])}]"
            findings.append(GateFinding("mandatory", msg, s.id, clauses))

    rate = record.pass_rate
    if policy.min_pass_rate is not None and (rate is None or rate < policy.min_pass_rate):
        shown = "n/a (no scenario ran)" if rate is None else f"{rate * 100:.1f}%"
        findings.append(GateFinding("min-pass-rate", f"pass rate {shown} is below the required "
                                    f"{policy.min_pass_rate * 100:.1f}%"))
    cover = record.coverage
    if policy.min_coverage is not None and (cover is None or cover < policy.min_coverage):
        shown = "n/a (nothing applies)" if cover is None else f"{cover * 100:.1f}%"
        findings.append(GateFinding("min-coverage", f"coverage {shown} is below the required "
                                    f"{policy.min_coverage * 100:.1f}%"))
    inconclusive = [s for s in record.inconclusive() if s.must_pass]
    if inconclusive:
        notes.append(f"{len(inconclusive)} scenario(s) inconclusive (refused for a reason the harness cannot "
                     "recognise; add the site's err_msg patterns to its config to decide them): "
                     + ", ".join(s.id for s in inconclusive[:10]) + (" …" if len(inconclusive) > 10 else ""))
    advisories = record.advisories()
    if advisories:
        notes.append(f"{len(advisories)} advisory finding(s) (应当 SHOULD / 可以 MAY) in "
                     f"{len({s.id for s, _f in advisories})} scenario(s): reported, not deciding the certificate")

    if policy.fail_on_regression:
        if previous is None:
            notes.append("no previous run of this site in the ledger: regression check skipped")
        else:
            for s in record.scenarios:
                was = previous.get(s.id)
                if was is Outcome.PASSED and s.outcome in (Outcome.FAILED, Outcome.ERROR) and s.id not in waivable:
                    findings.append(GateFinding("regression", f"{s.id} passed in run {previous_run_id or 'previous'} "
                                                f"and is {s.outcome.value} now", s.id, _clauses(s)))

    exit_code = EXIT_INFRASTRUCTURE if infra else (EXIT_FINDINGS if findings else EXIT_CERTIFIED)
    return GateResult(
        exit_code=exit_code,
        findings=tuple(findings),
        notes=tuple(notes),
        waived=tuple(waived),
        waivers=tuple(entries[sid] for sid in waived),
        pending=tuple(pending),
        criteria=tuple(policy.criteria()),
        compared_with=previous_run_id if policy.fail_on_regression else None,
        infra=tuple(infra),
    )
