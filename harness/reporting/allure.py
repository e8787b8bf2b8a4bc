"""Allure output of scenario runs: labels, steps with attachments, the writer standing in for allure's.

The only module of harness/ that imports allure. The pytest plugin calls it while a scenario item
runs (allure-pytest's listener is active only with --alluredir):
- labels: epic = business area, feature = "<infno> <中文名>", story = scenario title, severity from
  the level (mandatory critical, conditional normal, optional minor), tags = capabilities + archetype,
  `grade` = the scenario's normative grade;
- outcomes: a scenario with only advisories (SHOULD / MAY findings) is passed, with an `advisories`
  label, parameter and attachment listing them (grade, clause, title); an inconclusive scenario is
  skipped with its reason (Allure has no "inconclusive"; skipped keeps it out of the pass count and
  shows the reason, where "unknown" would need a status pytest cannot produce);
- one Allure step per scenario step, with what `step_attachments` says the step shows (the request and
  the response as JSON, personal data masked by default): noted during the run, then built, serialised
  and masked when the deferred writer writes the result after the run (`allure_files`);
- the deferred writer: allure's file logger is set aside while a session runs, its writes held and
  performed in batches (`allure_files.HeldWrites`), and handed back at the end.
What needs no allure lives beside it: the test case and history ids (`allure_ids`), what a step shows
(`step_attachments`), the held writes and the files they make (`allure_files`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import allure
import allure_commons
from allure_commons.model2 import (
    ATTACHMENT_PATTERN,
    Attachment,
    Label,
    Parameter,
    Status,
    StatusDetails,
    TestStepResult,
)
from allure_commons.types import AttachmentType, LabelType
from allure_commons.utils import format_exception, uuid4

from harness.model import Failure, Level, RunEvent, Scenario, StepResult
from harness.reporting.allure_files import HeldWrites, PendingItem
from harness.reporting.console import AREA_NAMES_ZH
from harness.reporting.masking import Masker
from harness.reporting.step_attachments import Body, GradeOf, failure_text, resolve, step_contents

__all__ = ["DeferredWriter", "StepRecorder", "label_advisories", "label_scenario"]

_SEVERITY = {
    Level.MANDATORY: allure.severity_level.CRITICAL,
    Level.CONDITIONAL: allure.severity_level.NORMAL,
    Level.OPTIONAL: allure.severity_level.MINOR,
}
_ATTACHMENT_TYPES = {"json": AttachmentType.JSON, "text": AttachmentType.TEXT}


def _area(area: str) -> str:
    return f"{area} {AREA_NAMES_ZH[area]}" if area in AREA_NAMES_ZH else area


def label_scenario(scenario: Scenario, interface_title_zh: str = "", test: Any = None) -> None:
    """Set the scenario's labels on its Allure test result (a no-op without --alluredir).

    `test` is allure's open TestResult of the item (`AllureListener.allure_logger.get_test(None)`): the
    labels are set on it directly, as allure.dynamic.* would through allure's hooks, at a fraction of the
    cost. Without it they go through allure.dynamic.
    """
    feature = f"{scenario.interface} {interface_title_zh}".strip()
    area = _area(scenario.area)
    tags = [*scenario.capabilities, *([scenario.archetype] if scenario.archetype else []), *scenario.tags]
    title = f"{scenario.title_zh} · {scenario.id}"
    labels: list[tuple[str, Any]] = [
        (LabelType.EPIC, area), (LabelType.FEATURE, feature), (LabelType.STORY, scenario.title),
        (LabelType.SEVERITY, _SEVERITY.get(scenario.level, allure.severity_level.NORMAL)),
        (LabelType.PARENT_SUITE, area), (LabelType.SUITE, feature),
        *((LabelType.TAG, tag) for tag in dict.fromkeys(tags)),
        ("scenario_id", scenario.id), ("level", scenario.level.value), ("grade", scenario.grade.value),
    ]
    description = (
        f"{scenario.title}\n\n{scenario.title_zh}\n\nid: {scenario.id}\nclauses: {', '.join(scenario.clauses)}\n"
        f"grade: {scenario.grade.value}\nkind: {scenario.kind}\nsource: {scenario.source}\n"
        f"fingerprint: {scenario.fingerprint}"
    )
    if test is not None:
        test.name = title
        test.labels.extend(Label(name, value) for name, value in labels)
        test.description = description
        return
    allure.dynamic.title(title)
    for name, value in labels:
        allure.dynamic.label(name, value)
    allure.dynamic.description(description)


def label_advisories(advisories: list[Failure], test: Any = None, masker: Masker | None = None) -> None:
    """A passed scenario's SHOULD / MAY findings, visible in Allure: a label, a parameter and an attachment."""
    if not advisories:
        return
    masker = masker or Masker(enabled=False)
    summary = masker.text(", ".join(dict.fromkeys(f"{f.grade.value} {f.clause}" for f in advisories)))
    text = masker.text("\n\n".join(failure_text(f) for f in advisories))
    if test is not None:
        test.labels.append(Label("advisories", str(len(advisories))))
        test.parameters.append(Parameter(name="advisories 建议项", value=summary))
    else:
        allure.dynamic.label("advisories", str(len(advisories)))
        allure.dynamic.parameter("advisories 建议项", summary)
    allure.attach(text, name=f"advisories 建议项 ({len(advisories)})", attachment_type=AttachmentType.TEXT)


class StepRecorder:
    """Turns the runner's step events into Allure steps with the request and response attached.

    With `test` (allure's open TestResult of the item) and `writer` (the DeferredWriter holding allure's
    writes), a step is only noted while the scenario runs: its title, its times and the runner's
    StepResult go onto the test result as a `_PendingStep`, and the writer builds it in allure's model
    (attachments, status, the serialised and masked request and response) when it writes the result,
    after the run: the same files, none of the work inside the exchange loop. Without them, the live
    allure API (allure.step, allure.attach) is used.
    """

    def __init__(self, interface_names: Mapping[str, str] | None = None, *, masked: bool = True,
                 header_env: Mapping[str, str] | None = None, test: Any = None,
                 writer: DeferredWriter | None = None, grade_of: GradeOf | None = None,
                 masker: Masker | None = None) -> None:
        self.interface_names = interface_names or {}
        self.grade_of: GradeOf = grade_of or (lambda f: f.grade)  # the finding's effective grade
        self.masked = masked
        self.masker = masker or Masker(enabled=masked)  # the run's: masks, and keeps every text writable
        self.header_env = dict(header_env or {})
        self._test = test if writer is not None else None
        self._open: Any = None
        self._fault: str | None = None  # the fault the open step makes the platform apply (its loss is expected)

    def __call__(self, event: RunEvent) -> None:
        kind = event.kind
        if kind == "step-started":
            self._close()
            payload = event.payload
            self._fault = payload.get("fault") or None
            index, infno = payload.get("index", 0), str(payload.get("infno", ""))
            prefix = "teardown · " if payload.get("teardown") else f"{int(index) + 1}. "
            name = payload.get("name") or ""
            title = f"{prefix}{infno} {self.interface_names.get(infno, '')}".rstrip()
            self._start(f"{title} — {name}" if name else title)
        elif kind == "step-finished":
            step = event.payload.get("step")
            if isinstance(step, StepResult):
                self._finish(step)
        elif kind == "scenario-finished":
            self._close()

    def _finish(self, step: StepResult) -> None:
        if self._open is None:  # a 2601 recovery step has no step-started event: give it its own step
            self._fault = None
            self._start(f"冲正 · {step.infno} {self.interface_names.get(step.infno, '')}".rstrip())
        if self._test is not None:
            pending = self._open
            pending.result, pending.fault, pending.stop = step, self._fault, time.time()
            pending.grade_of = self.grade_of
            self._open = None
            return
        if step.exchange is not None:  # as the deferred writer would by then: the step's own values are masked
            self.masker.see(step.exchange.request_body)
            self.masker.see(step.exchange.response_json)
        attachments, problem = step_contents(step, self._fault, self.masker, self.header_env, self.grade_of)
        for body, name, kind in attachments:
            allure.attach(resolve(body), name=name, attachment_type=_ATTACHMENT_TYPES[kind])
        self._close(problem)

    def _start(self, title: str) -> None:
        if self._test is not None:
            self._open = _PendingStep(title, time.time(), self.masker, self.header_env)
            self._test.steps.append(self._open)
            return
        self._open = allure.step(title)
        self._open.__enter__()

    def _close(self, problem: BaseException | None = None) -> None:
        if self._open is None:
            return
        step, self._open = self._open, None
        if self._test is not None:
            step.stop = time.time()
        else:
            step.__exit__(type(problem) if problem else None, problem, None)


class _PendingStep(PendingItem):
    """A step as recorded during the run; `build` makes it the TestStepResult allure.step would have made."""

    __slots__ = ("fault", "grade_of", "header_env", "masker", "result", "start", "stop", "title")

    def __init__(self, title: str, start: float, masker: Masker, header_env: Mapping[str, str]) -> None:
        self.title, self.start, self.stop = title, start, start
        self.masker, self.header_env = masker, header_env
        self.result: StepResult | None = None
        self.fault: str | None = None
        self.grade_of: GradeOf = lambda f: f.grade

    def build(self, store: Callable[[Body, str], None]) -> TestStepResult:
        """The step in allure's model; each attachment's body goes to `store` with its file name."""
        step = TestStepResult(name=self.masker.text(self.title), start=_millis(self.start), parameters=[])
        problem = None
        if self.result is not None:
            attachments, problem = step_contents(self.result, self.fault, self.masker, self.header_env,
                                                 self.grade_of)
            for body, name, kind in attachments:
                attachment_type = _ATTACHMENT_TYPES[kind]
                file_name = ATTACHMENT_PATTERN.format(prefix=uuid4(), ext=attachment_type.extension)
                step.attachments.append(Attachment(source=file_name, name=name, type=attachment_type.mime_type))
                store(body, file_name)
        # What allure-pytest's stop_step records for an exception without a traceback.
        step.stop = _millis(self.stop)
        step.status = Status.PASSED if problem is None else (
            Status.FAILED if isinstance(problem, AssertionError) else Status.BROKEN)
        if problem is not None:
            step.statusDetails = StatusDetails(message=format_exception(type(problem), problem), trace=None)
        return step


def _millis(seconds: float) -> int:
    return round(1000 * seconds)  # allure_commons.utils.now() of that moment


class DeferredWriter(HeldWrites):
    """Stands in for allure-pytest's file logger while a session runs, holding its writes (`HeldWrites`).

    `start()` finds the logger among allure's plugins and takes its place; allure's hooks then hold each
    write in memory, in order; `stop()` performs them with the same logger, file names and atomic renames
    and hands the logger back to allure.
    """

    def start(self) -> bool:
        manager = allure_commons.plugin_manager
        self._logger = next((p for p in manager.get_plugins() if type(p).__name__ == "AllureFileLogger"), None)
        if self._logger is None:
            return False
        self._folder = os.fspath(self._logger._report_dir)
        manager.unregister(self._logger)
        manager.register(self)
        return True

    def stop(self) -> None:
        """Write everything held, then hand the file logger back to allure (its cleanup expects it)."""
        if self._logger is None:
            return
        self.flush()
        manager = allure_commons.plugin_manager
        manager.unregister(self)
        manager.register(self._logger)
        self._logger = None

    @allure_commons.hookimpl
    def report_result(self, result: Any) -> None:
        self._jobs.append(("report_result", {"result": result}))
        self._held_results += 1
        if self._held_results >= self.FLUSH_RESULTS:
            self.flush()

    @allure_commons.hookimpl
    def report_container(self, container: Any) -> None:
        self._jobs.append(("report_container", {"container": container}))

    @allure_commons.hookimpl
    def report_attached_data(self, body: Any, file_name: str) -> None:
        self._jobs.append(("report_attached_data", {"body": body, "file_name": file_name}))

    @allure_commons.hookimpl
    def report_attached_file(self, source: Any, file_name: str) -> None:
        self._jobs.append(("report_attached_file", {"source": source, "file_name": file_name}))

    @allure_commons.hookimpl
    def report_globals(self, globals_item: Any) -> None:
        self._jobs.append(("report_globals", {"globals_item": globals_item}))
