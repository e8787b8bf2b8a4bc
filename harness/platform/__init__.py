"""The reference platform: a stateful national-platform simulator over real HTTP.

It answers the interface set of the spec (sign-in, person information, outpatient, inpatient,
pharmacy, filings, 冲正, reconciliation, queries) against durable SQLite state, enforces the
cross-province rules and refuses with stable messages, computes settlements by "treatment-place
catalogue, insured-place policy", and can be told to misbehave (faults, mutants).

Entry points:
- `PlatformConfig` (config.py) — what to run;
- `Platform` (core.py) — the HTTP-neutral handler; `Platform.call(envelope)` for direct use;
- `harness.platform.app.create_app(config)` — the Starlette app;
- `harness.platform.server.serve(...)` / `start_background(...)` — uvicorn, foreground or thread;
- `harness.platform.inprocess.mount(rsps, base_url, config)` — socket-free, under `responses`.

The web and mocking libraries are imported only by app.py, server.py and inprocess.py, so
importing this package does not pull them in.
"""

from harness.platform.config import DEFAULT_DB_PATH, Fault, PlatformConfig, parse_fault
from harness.platform.core import Platform
from harness.platform.faults import MUTANTS
from harness.platform.refusals import CAUSE_MESSAGES
from harness.platform.wire import HttpRequest, HttpResponse

__all__ = [
    "CAUSE_MESSAGES",
    "DEFAULT_DB_PATH",
    "MUTANTS",
    "Fault",
    "HttpRequest",
    "HttpResponse",
    "Platform",
    "PlatformConfig",
    "parse_fault",
]
