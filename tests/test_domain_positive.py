"""Every interface of the spec has at least one successful, output-validated exchange in the default suite
(issue 13); the A versions in the suite of a profile whose outpatient_variant is "A"."""

from __future__ import annotations

import pytest

from harness.scenarios.catalogue import load_suites
from harness.specs import load_registry

REGISTRY = load_registry()
A_VERSIONS = {"2203A", "2206A", "2207A"}


def _positive(profile: str) -> set[str]:
    found = set()
    for scenario in load_suites(REGISTRY, profile):
        for step in scenario.steps:
            if step.expect.ok is True and step.expect.output_schema:
                found.add(step.infno)
    return found


@pytest.mark.parametrize(("profile", "left_out"), [("baseline", A_VERSIONS), ("national-a", set())])
def test_every_interface_has_a_positive_exchange(profile: str, left_out: set[str]) -> None:
    every = {spec.infno for spec in REGISTRY.interfaces()}
    assert every - _positive(profile) == left_out
