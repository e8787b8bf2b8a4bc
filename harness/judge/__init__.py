"""The client judge: the reference platform watches a HIS (the client) and judges what it sends.

Layer 2, beside `platform/`: it reads the specs, the profiles and the personas; it does not import
`checks` (those judge sites), `runner` or the platform (the platform calls it through its generic
observer, screen and tolerate hooks, wired by `harness.client_session`). Case plans are data
(scenarios/client/*.yaml, specs/client-plan.schema.json); the rules' grades are data
(specs/client-rules.json).

    plan          Plan, Case, Behaviour, FlowStep: a validated plan as values
    rulebook      the client rules table: clause, grade, fact tag, titles
    observed      one observed exchange (what the client saw: ok, refused, lost)
    request_rules per request: headers, schema, envelope fields, "null" strings
    flow_rules    across exchanges: sign-in, msgid, insured region, sequence, money, fault reaction, end of day
    state         what the platform issued in the session (visits, settlements, lost answers), kept by the judge
    session       Judge: cases, correlation, findings per case, finish
"""

from harness.judge.observed import Observed
from harness.judge.plan import Behaviour, Case, FlowStep, Plan, plan_from_data
from harness.judge.request_rules import tolerated
from harness.judge.rulebook import Rulebook, load_rulebook
from harness.judge.session import OUTSIDE, CaseVerdict, Judge, flow_missing

__all__ = ["OUTSIDE", "Behaviour", "Case", "CaseVerdict", "FlowStep", "Judge", "Observed", "Plan", "Rulebook",
           "flow_missing", "load_rulebook", "plan_from_data", "tolerated"]
