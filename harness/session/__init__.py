"""One run end to end: the target (a site, or the embedded reference platform), the scenarios,
pytest with the scenario plugin, and the run's evidence on disk.

This is the composition root under the CLI: `hsa-cert run`, `certify` and `selftest` all go through
`run_session`, so there is one code path from options to results.json. It prints only through the
`echo` callable it is given.

The package: `run` (`run_session`), `interrupt` (`RunInterrupted`; telling a Ctrl-C from pytest's own stops),
`credentials` (fresh gateway credentials for the embedded platform under a signing profile), `site`
(`preload_site`, `open_daybook`: the site config read ahead, a persistent site's day book), `selftest_runs`
(the self-tests' suite runners, through `run_session`).
"""

from __future__ import annotations

from harness.session.interrupt import RunInterrupted
from harness.session.run import run_session
from harness.session.selftest_runs import proxy_suite_run, selftest_suite_run
from harness.session.site import open_daybook, preload_site

__all__ = ["RunInterrupted", "open_daybook", "preload_site", "proxy_suite_run", "run_session", "selftest_suite_run"]
