"""CI guard of the mutation self-test (issue 6): `hsa-cert selftest --relevant-only` must pass.

It runs the whole default suite against the clean reference platform (every scenario must pass: a
failure there is a false failure) and then every mutant of the catalogue against a fresh platform,
each with only the scenarios its catalogue entry declares relevant, two runs at a time in separate
processes. It fails when the clean platform has a failure, or when a mutant that the committed
baseline (fixtures/selftest-baseline.json, written by a full run) lists as caught is missed now.

About a minute on two cores. The published mutation score comes from a full run
(`hsa-cert selftest`), not from this test.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.selftest import CATALOGUE


@pytest.mark.slow
def test_clean_suite_passes_and_every_mutant_caught_before_is_still_caught() -> None:
    result = CliRunner().invoke(app, ["selftest", "--only", "platform", "--relevant-only", "--jobs", "2", "--json"])
    assert result.exit_code in (0, 1), result.stderr or result.output
    report = json.loads(result.stdout)["platform"]
    lines = [f"{m['status']:7} {m['name']}: {m['caught_by_count']} of {m['scenarios_run']}" for m in report["mutants"]]
    summary = "\n".join(lines)

    assert report["mode"] == "relevant-only" and report["published_score"] is False
    assert report["clean"]["false_failures"] == [], "false failures on the clean reference platform"
    assert report["clean"]["passed"] == report["clean"]["total"] == report["suite"]["scenarios"]
    # the baseline profile signs nothing: the signing mutants (no-verify) are not exercised, the rest are
    assert report["not_exercised"] == [m.name for m in CATALOGUE.values() if m.signing]
    assert report["total"] == len(CATALOGUE) - len(report["not_exercised"])
    assert report["baseline"]["exists"], "fixtures/selftest-baseline.json is missing: run hsa-cert selftest " \
                                         "--write-baseline"
    assert report["baseline"]["regressions"] == [], f"mutants caught before are missed now:\n{summary}"
    assert result.exit_code == 0, summary
