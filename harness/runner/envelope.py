"""Envelopes and templates: what the runner sends, filled from the site config, saved values and the ledger.

The envelope carries the site's codes and operator, the person's insured region, the sign_no of the
run's sign-in and a fresh msgid; the profile's extra envelope fields are filled from the other fields.
Before a scenario sends anything, `_preflight` checks that the site config gives every identity, item
and value its templates use (else the scenario is NOT_PROVISIONED, never half run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from harness.model import Scenario, Step
from harness.runner.ledger import fill_ledger, first_node, mentions_ledger, protect, unprotect
from harness.runner.messages import jsonable
from harness.runner.msgid import make_msgid
from harness.runner.state import PROVIDED, _LedgerInput, _NotProvisioned, _Run, _SuiteBug, _template_strings
from harness.scenarios.templates import OMIT, Expression, TemplateSyntaxError, render

if TYPE_CHECKING:
    from harness.runner.ledger import Ledger
    from harness.siteconfig import SiteConfig
    from harness.specs import Profile

__all__ = ["Envelopes"]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class Envelopes:
    """The envelope-and-template part of the Runner (a mixin: it uses the runner's site, profile, clock, ledger)."""

    site: SiteConfig
    profile: Profile
    ledger: Ledger
    clock: Callable[[], datetime]
    _sign_no: str | None
    _extra_envelope_fields: tuple[tuple[str, Any], ...]

    def _preflight(self, scenario: Scenario) -> None:
        """Check before sending anything that the site provides every identity, item and value used."""
        if scenario.archetype and self.site.identity(scenario.archetype) is None:
            raise _NotProvisioned(f"the site config gives no test identity for archetype {scenario.archetype!r} "
                                  f"(add [identities.{scenario.archetype}] to {self.site.source or 'the site config'})")
        identity = self.site.identity(scenario.archetype) if scenario.archetype else {}
        site_values = self.site.template_values()
        # One regex pass over the template strings (those holding `{{`), in document order.
        strings: list[str] = []
        for step in (*scenario.steps, *scenario.teardown):
            _template_strings(step.input, strings)
            _template_strings(step.envelope, strings)
        for namespace, name in PROVIDED.findall("\x00".join(strings)):  # \x00: no match spans two strings
            if namespace == "identity" and name not in (identity or {}):
                raise _NotProvisioned(f"the test identity for archetype {scenario.archetype!r} lacks "
                                      f"{name!r} (used as {{{{ identity.{name} }}}})")
            if namespace == "site" and name not in site_values:
                raise _NotProvisioned(f"the site config gives no value {name!r} (add it under [values])")
            if namespace == "item":
                alias, _, field = name.partition(".")
                if field not in self.site.items.get(alias, {}):
                    raise _NotProvisioned(f"the site config gives no catalogue item {alias!r} with {field!r} "
                                          f"(add [items.{alias}])")


    def _envelope(self, infno: str, input: Mapping[str, Any], *, identity: Mapping[str, Any] | None,
                  sign_no: str | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        site, now = self.site, self.clock()
        stamp = f"{now:%Y%m%d%H%M%S}"  # formatted once: inf_time and the msgid's timestamp are the same moment
        base: dict[str, Any] = {
            "infno": infno,
            "msgid": "",
            "mdtrtarea_admvs": site.mdtrtarea_admvs,
            "insuplc_admdvs": str((identity or {}).get("insuplc_admdvs") or ""),
            "recer_sys_code": site.recer_sys_code or self.profile.recer_sys_code or "MBS_LOCAL",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": site.infver or self.profile.infver,
            "opter_type": site.opter_type,
            "opter": site.opter,
            "opter_name": site.opter_name,
            "inf_time": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}",
            "fixmedins_code": site.fixmedins_code,
            "fixmedins_name": site.fixmedins_name,
            "sign_no": (self._sign_no or "") if sign_no is None else sign_no,
            "input": input,  # template values are made JSON-ready when resolved
        }
        if overrides:
            base.update(overrides)
            for name in [name for name, value in overrides.items() if value is OMIT]:  # `{{ omit }}`: leave it out
                del base[name]  # (an override, so neither the msgid nor a profile's extra field fills it in again)
        if not (overrides and "msgid" in overrides):
            base["msgid"] = make_msgid(str(base.get("fixmedins_code") or site.fixmedins_code), now, stamp)
        # The profile's extra envelope fields (e.g. Guangdong's recer_admdvs = "{mdtrtarea_admvs}"): literals
        # whose {placeholders} name other envelope fields; a step's own override of the field wins.
        for name, value in self._extra_envelope_fields:
            if not (overrides and name in overrides):
                base[name] = _PLACEHOLDER.sub(lambda m: str(base.get(m.group(1), "")), str(value))
        return base

    # --- templates ----------------------------------------------------------------------------

    def _resolver(self, run: _Run) -> Callable[[Expression], Any]:
        """Values for templates, JSON-ready (Decimals from TOML or responses become JSON numbers)."""
        identity = self.site.identity(run.scenario.archetype) if run.scenario.archetype else None
        site_values = self.site.template_values()

        def resolve(expr: Expression) -> Any:
            ns, name = expr.namespace, expr.name
            if ns == "identity":
                if identity is None or name not in identity:
                    raise _NotProvisioned(f"no identity field {name!r} for archetype {run.scenario.archetype!r}")
                return jsonable(identity[name])
            if ns == "site":
                if name not in site_values:
                    raise _NotProvisioned(f"the site config gives no value {name!r}")
                return jsonable(site_values[name])
            if ns == "item":
                alias, _, field = name.partition(".")
                item = self.site.items.get(alias) or {}
                if field not in item:
                    raise _NotProvisioned(f"the site config gives no item {alias!r} with {field!r}")
                return jsonable(item[field])
            if ns == "saved":
                if name not in run.saved:
                    raise _SuiteBug(f"saved.{name} is not set (no earlier step saved it, or that step failed)")
                return jsonable(run.saved[name])
            if ns == "run":
                return run.uniq
            if ns == "omit":
                return OMIT
            if ns == "now":
                now = self.clock()
                if name == "datetime":
                    return f"{now:%Y-%m-%d %H:%M:%S}"
                if name == "date":
                    return f"{now:%Y-%m-%d}"
                days = int(name[name.index("(") + 1: name.index(")")])
                return f"{now + timedelta(days=days):%Y-%m-%d}"
            raise _SuiteBug(f"template namespace {ns!r} cannot be resolved at run time")

        return resolve


    def _render_input(self, step: Step, envelope_resolve: Callable[[Expression], Any]) -> Any:
        """Render the step input; `{{ ledger.<field> }}` is filled last, filtered by the rendered input."""

        def resolve(expr: Expression) -> Any:
            if expr.namespace == "omit":
                raise _SuiteBug("{{ omit }} removes envelope fields only; to leave an input field out, do not write it")
            if expr.namespace == "ledger":
                raise _LedgerInput
            return envelope_resolve(expr)

        # Rendered as a plain template first: only a 3201 step asks the ledger, so the others are not searched
        # for ledger expressions beforehand (rendering has no effect but the values it asks for).
        try:
            return render(step.input, resolve)
        except _LedgerInput:
            pass
        except TemplateSyntaxError:
            if not mentions_ledger(step.input):  # a malformed ledger field is reported by fill_ledger below
                raise
        rendered = unprotect(render(protect(step.input), resolve))
        overrides = render(step.envelope, envelope_resolve)
        named = overrides.get("fixmedins_code")
        code = str(named) if named and named is not OMIT else self.site.fixmedins_code
        return fill_ledger(rendered, jsonable(self.ledger.totals(code, first_node(rendered))))

