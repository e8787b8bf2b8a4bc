"""Named checks: one function per property a response must have, each citing the clause it verifies.

Scenario files name checks in `expect.checks`; the runner calls them with a `CheckContext`. A check
returns a list of `Failure` values (empty when the property holds) and never raises for bad data:
a missing or malformed field is itself a finding.

Money is compared with `Decimal` only. The response the checks see is parsed with
`json.loads(text, parse_float=Decimal)`, so `12.30` stays exactly 12.30. These checks are written
from the spec's rules, independently of the reference platform (which they never import); the
platform's exact amounts are verified by golden values in the scenario files, not here.
"""

from harness.checks import answers, consistency, envelope, money, settlement  # noqa: F401 - registers the checks
from harness.checks.automatic import run_interface_checks
from harness.checks.registry import CHECKS, Check, CheckContext, check, decimal_of, run_check

__all__ = ["CHECKS", "Check", "CheckContext", "check", "decimal_of", "run_check", "run_interface_checks"]
