"""The state of one scenario execution (`_Run`) and the template helpers every part of the runner shares."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from harness.model import Failure, Scenario, StepResult
from harness.runner.safety import internal_error_reason
from harness.scenarios.templates import Expression

# What a site config must provide: {{ identity.<field> }}, {{ site.<key> }}, {{ item.<alias>.<field> }}.
PROVIDED = re.compile(r"\{\{\s*(identity|site|item)\.([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_]+)?)\s*\}\}")
SAVED = re.compile(r"\{\{\s*saved\.([A-Za-z0-9_]+)\s*\}\}")


class _NotProvisioned(Exception):
    """A template needs an identity, item or site value the site config does not give."""


_LEAVES = frozenset({int, float, bool, type(None)})


def _template_strings(value: Any, found: list[str]) -> None:
    """Append the strings of a template (keys too) that hold `{{`, depth first in document order."""
    kind = type(value)
    if kind is str:
        if "{{" in value:
            found.append(value)
    elif kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and "{{" in key:
                found.append(key)
            item_kind = type(item)
            if item_kind is str:
                if "{{" in item:
                    found.append(item)
            elif item_kind not in _LEAVES:
                _template_strings(item, found)
    elif kind is list or isinstance(value, list | tuple):
        for item in value:
            _template_strings(item, found)
    elif isinstance(value, str) and "{{" in value:
        found.append(value)


class _LedgerInput(Exception):
    """Rendering met `{{ ledger.<field> }}`: the input is rendered again with the ledger's totals."""


class _SuiteBug(Exception):
    """A template cannot be rendered for a reason that lies in the scenario itself."""


class _Run:
    """The state of one scenario execution."""

    def __init__(self, scenario: Scenario, uniq: str) -> None:
        self.scenario = scenario
        self.uniq = uniq
        self.saved: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.failures: list[Failure] = []
        self.infra: str | None = None  # the first infrastructure error
        self.notes: list[str] = []
        self.resolve: Callable[[Expression], Any] | None = None  # template values, made once per execution
        self.refused_at: tuple[int, str, str] | None = None  # (step, infno, cause) of the flow's expected refusal
        self.unsaved: dict[str, int] = {}  # saved names a step could not save -> that step's index
        self.internal: str = ""  # the first internal error's reason ("" when none)
        self.trace: str = ""  # its traceback, for the evidence

    def crashed(self, exc: BaseException) -> None:
        """A bug of the harness (an exception in rendering, evaluation, checks, listeners): the first one counts."""
        if not self.internal:
            self.internal = internal_error_reason(exc)
            self.trace = "".join(traceback.format_exception(exc))

    def refused(self, index: int, infno: str, cause: str) -> None:
        """The flow's expected refusal happened (the first one counts)."""
        if self.refused_at is None:
            self.refused_at = (index, infno, cause)

    @property
    def clause(self) -> str:
        return self.scenario.clauses[0] if self.scenario.clauses else f"{self.scenario.interface}"

