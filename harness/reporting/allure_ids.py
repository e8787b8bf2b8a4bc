"""Allure's testCaseId and historyId of a scenario, so its history continues across runs.

Both are derived from the scenario id and its content fingerprint only: the history of a scenario continues
across runs until the scenario itself changes. No per-run value (msgid, timestamps, seed) is ever a parameter.
No allure import: the ids are plain digests, set on the test result allure-pytest's listener still has open.
"""

from __future__ import annotations

import hashlib
from typing import Any

from harness.model import Scenario

__all__ = ["apply_stable_ids", "stable_ids"]


def stable_ids(scenario: Scenario) -> tuple[str, str]:
    """(testCaseId, historyId): the case is its id; its history is its id plus its content fingerprint."""
    case = hashlib.md5(scenario.id.encode("utf-8"), usedforsecurity=False).hexdigest()
    history = hashlib.md5(f"{scenario.id}\n{scenario.fingerprint}".encode(), usedforsecurity=False).hexdigest()
    return case, history


def apply_stable_ids(listener: Any, scenario: Scenario) -> None:
    """Overwrite the ids allure-pytest derived from the node id and parameters with ours.

    `listener` is allure-pytest's registered listener; its current test result is still open
    when the plugin's teardown hook runs (allure writes it when the item's log finishes).
    """
    logger = getattr(listener, "allure_logger", None)
    test = logger.get_test(None) if logger is not None else None
    if test is None:
        return
    case, history = stable_ids(scenario)
    test.testCaseId = case
    test.historyId = history
    test.fullName = f"hsa-cert#{scenario.id}"
