"""Client certification (`hsa-cert client …`): the judge wired into the platform, plans, evidence, self-test.

Layer 6, beside `session`. Modules: `session` (ClientSession, load_plan, verdicts as results),
`evidence` (results.json, junit, Allure, certificate, ledger), `checklist` (the operator's checklist,
terminal and A4 HTML), `selftest` (the built-in HIS, conforming and with planted bugs).
"""
