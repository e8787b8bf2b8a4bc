"""Run one scenario against a Target: build envelopes, send, validate both ways, check, record.

The runner knows nothing of pytest and prints nothing: it returns `ScenarioResult` values and
emits `RunEvent`s that reporters listen to. It signs in (9001) once per run, renders step templates
(contracts section G), validates each request before sending it (a request the suite meant to be
valid that is not is a suite bug, reported as such and never sent), validates each response,
evaluates the step's expectation and named checks, saves values for later steps, and always runs
teardown steps whose `when` value was saved.

Infrastructure errors (unreachable, timeout, not JSON, HTTP 5xx) make a scenario ERROR, never
FAILED; after `breaker_threshold` consecutive ones the circuit breaker opens and later scenarios are
not sent. A state-changing call whose outcome is unknown is never resent: when the profile lists
it as reversible, the runner sends 2601 (冲正) for its msgid and records the resolution.

The runner also keeps a ledger of what it settled and reversed (harness.runner.ledger), so that a
3201 step can reconcile exactly what the harness itself recorded: `{{ ledger.medfee_sumamt }}`.
"""

from harness.runner.engine import DEFAULT_BREAKER_THRESHOLD, Runner
from harness.runner.ledger import Ledger
from harness.runner.messages import parse_response, probe, resolve_path

__all__ = ["DEFAULT_BREAKER_THRESHOLD", "Ledger", "Runner", "parse_response", "probe", "resolve_path"]
