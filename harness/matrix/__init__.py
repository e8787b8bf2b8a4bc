"""`hsa-cert matrix`: certify many sites at once, each as its own `certify` session in a worker process.

A provincial team re-certifies tens to thousands of sites after every interface change. Each site is one
certification (the `certify` code path: the site's profile selection, `run_session`, then
`finish_certification`), run in its own process from a bounded pool, with its own evidence folder
`<out>/<site id>/`, certificate and ledger rows. A site that fails, cannot be reached or has a broken
config is a row in the breakdown, never the end of the matrix.

The package: `plan` (the site configs, the shard, one `SiteJob` per site), `site` (`certify_site`: one site
certified in a worker process, quietly), `pool` (`run_matrix`: the bounded process pool, warmed up before it
forks), `results` (a site's row, the matrix's exit code, matrix.json).
"""

from __future__ import annotations

from harness.matrix.plan import SiteJob, collect_site_files, in_shard, parse_shard, plan_jobs
from harness.matrix.pool import run_matrix
from harness.matrix.results import MatrixResult, SiteResult, matrix_exit_code
from harness.matrix.site import certify_site

__all__ = ["MatrixResult", "SiteJob", "SiteResult", "certify_site", "collect_site_files", "in_shard",
           "matrix_exit_code", "parse_shard", "plan_jobs", "run_matrix"]
