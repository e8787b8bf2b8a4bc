"""Allure output of scenario runs: labels, steps with attachments, stable ids, masking.

The only module of harness/ that imports allure. The pytest plugin calls it while a scenario item
runs (allure-pytest's listener is active only with --alluredir):
- labels: epic = business area, feature = "<infno> <中文名>", story = scenario title, severity from
  the level (mandatory critical, conditional normal, optional minor), tags = capabilities + archetype,
  `grade` = the scenario's normative grade;
- outcomes: a scenario with only advisories (SHOULD / MAY findings) is passed, with an `advisories`
  label, parameter and attachment listing them (grade, clause, title); an inconclusive scenario is
  skipped with its reason (Allure has no "inconclusive"; skipped keeps it out of the pass count and
  shows the reason, where "unknown" would need a status pytest cannot produce);
- one Allure step per scenario step, with the request and the response attached as JSON and
  personal data masked by default (noted during the run, built, serialised and masked when the
  deferred writer writes the result after the run);
- testCaseId and historyId derived from the scenario id and its content fingerprint only, so the
  history of a scenario continues across runs until the scenario itself changes. No per-run value
  (msgid, timestamps, seed) is ever a parameter.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
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

from harness.model import Exchange, Failure, Grade, Level, RunEvent, Scenario, Severity, StepResult
from harness.reporting.console import AREA_NAMES_ZH
from harness.reporting.curl import curl_command, powershell_command
from harness.reporting.masking import Masker
from harness.specs import GRADE_LABELS
from harness.specs.findings_zh import title_en, title_zh

__all__ = ["DeferredWriter", "StepRecorder", "apply_stable_ids", "failure_text", "label_advisories", "label_scenario",
           "stable_ids"]

GradeOf = Callable[[Failure], Grade]

_SEVERITY = {
    Level.MANDATORY: allure.severity_level.CRITICAL,
    Level.CONDITIONAL: allure.severity_level.NORMAL,
    Level.OPTIONAL: allure.severity_level.MINOR,
}


def stable_ids(scenario: Scenario) -> tuple[str, str]:
    """(testCaseId, historyId): the case is its id; its history is its id plus its content fingerprint."""
    case = hashlib.md5(scenario.id.encode("utf-8"), usedforsecurity=False).hexdigest()
    history = hashlib.md5(f"{scenario.id}\n{scenario.fingerprint}".encode(), usedforsecurity=False).hexdigest()
    return case, history


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
        attachments, problem = _step_contents(step, self._fault, self.masker, self.header_env, self.grade_of)
        for body, name, attachment_type in attachments:
            allure.attach(_resolve(body), name=name, attachment_type=attachment_type)
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


class _PendingStep:
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
            attachments, problem = _step_contents(self.result, self.fault, self.masker, self.header_env,
                                                  self.grade_of)
            for body, name, attachment_type in attachments:
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


Body = str | bytes | Callable[[], str | bytes]
Attachments = list[tuple[Body, str, AttachmentType]]


def _step_contents(step: StepResult, fault: str | None, masker: Masker, header_env: Mapping[str, str],
                   grade_of: GradeOf = lambda f: f.grade) -> tuple[Attachments, BaseException | None]:
    """A step's attachments (request, response, findings, curl, expected loss) and what makes it not pass.

    Only a MUST finding (its effective grade) fails the step; advisories are attached and the step passes."""
    attachments: Attachments = []
    exchange = step.exchange
    if exchange is not None:
        attachments += _exchange_attachments(exchange, masker)
    graded = [f if f.grade is grade_of(f) else _regraded(f, grade_of(f)) for f in step.failures]
    findings = [f for f in graded if f.severity is not Severity.WARNING and f.grade is Grade.MUST
                and not (isinstance(f.evidence, Mapping) and f.evidence.get("inconclusive") is True)]
    if step.failures:
        attachments.append((masker.text("\n\n".join(failure_text(f) for f in graded)), "findings",
                            AttachmentType.TEXT))
    if findings and exchange is not None:
        attachments.append((lambda: masker.text(curl_command(exchange, header_env=header_env)), "reproduce (curl)",
                            AttachmentType.TEXT))
        attachments.append((lambda: masker.text(powershell_command(exchange, header_env=header_env)),
                            "reproduce (PowerShell)", AttachmentType.TEXT))
    problem: BaseException | None = None
    if exchange is not None and exchange.error and fault:
        attachments.append((masker.text(f"the platform lost this answer on purpose ({fault}): {exchange.error}"),
                            "expected loss", AttachmentType.TEXT))
    elif exchange is not None and exchange.error:
        problem = ConnectionError(masker.text(exchange.error))  # broken, not failed
    elif findings:
        problem = AssertionError(masker.text(_bilingual_title(findings[0])))
    return attachments, problem


def _exchange_attachments(exchange: Exchange, masker: Masker) -> Attachments:
    # No indent: only the one-line form uses the C JSON encoder, and Allure pretty-prints JSON itself.
    # Masking the serialised text (one regex pass) is cheaper than rebuilding the request.
    def request() -> str:
        return masker.text(json.dumps(exchange.request_body, ensure_ascii=False, default=str))

    name = f"response (HTTP {exchange.status})"
    if exchange.response_json is not None:
        return [(request, "request", AttachmentType.JSON), (lambda: masker.text(exchange.response_text), name,
                                                            AttachmentType.JSON)]

    def text() -> str:
        return masker.text(f"{exchange.error or ''}\n\n{exchange.response_text}")

    return [(request, "request", AttachmentType.JSON), (text, name, AttachmentType.TEXT)]


def _resolve(body: Body) -> str | bytes:
    return body() if callable(body) else body


def _attrs_dict(value: Any, store: Callable[[Body, str], None] | None = None) -> Any:
    """attrs.asdict(value, filter=keep truthy or False) for allure's model classes, without importing attrs.

    A _PendingStep is built first (its attachments go to `store`).
    """
    if isinstance(value, _PendingStep):
        if store is None:
            raise TypeError("a pending Allure step needs somewhere to store its attachments")
        value = value.build(store)
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        out = {}
        for field in fields:
            item = getattr(value, field.name)
            if item or item is False:
                out[field.name] = _attrs_dict(item, store)
        return out
    if isinstance(value, list | tuple):
        return [_attrs_dict(v, store) for v in value]
    if isinstance(value, dict):
        return {k: _attrs_dict(v, store) for k, v in value.items()}
    return value


def _regraded(failure: Failure, grade: Grade) -> Failure:
    return replace(failure, grade=grade)


def _bilingual_title(failure: Any) -> str:
    """`English title (code values labelled)` and, on a line of its own, the Chinese text."""
    zh = title_zh(failure)
    return f"{title_en(failure)}\n{zh}" if zh else title_en(failure)


def failure_text(failure: Any) -> str:
    grade = getattr(failure, "grade", None)
    label = f" · {GRADE_LABELS.get(grade, grade)}" if grade is not None else ""
    lines = [f"[{failure.severity.value}{label}] {_bilingual_title(failure)}", f"clause: {failure.clause}"]
    if failure.expected or failure.actual:
        lines.append(f"expected: {failure.expected}")
        lines.append(f"actual:   {failure.actual}")
    if failure.detail:
        lines.append(failure.detail)
    return "\n".join(lines)


class DeferredWriter:
    """Holds allure-pytest's file writes (results, containers, attachments) and performs them in batches.

    allure-pytest writes every result and attachment at once (open, write, rename: more than the
    HTTP exchange it documents costs on a loopback run), and a writer thread would compete with the
    runner for two cores. So while a session runs this stands in for allure's file logger and keeps
    the writes in memory, in order; `stop()` performs them with the same logger, file names and
    atomic renames (results through the C JSON encoder; a result's pending steps are built then and
    their attachments written with it) and hands the logger back to allure.
    `start()` finds the logger among allure's plugins.

    Once FLUSH_RESULTS results are held they are written at once, in a batch: a held result keeps its
    steps' whole exchanges alive, so holding all of them made the writer grow with the run (issue 14).
    """

    FLUSH_RESULTS = 200

    def __init__(self, masker: Masker | None = None) -> None:
        self.masker = masker or Masker(enabled=False)  # every result file passes through it (and stays writable)
        self._logger: Any = None
        self._folder = ""  # allure's results folder (the logger's), as text
        self._jobs: list[tuple[str, dict[str, Any]]] = []
        self._held_results = 0
        self.errors: list[BaseException] = []

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

    def flush(self) -> None:
        """Write everything held so far, in order."""
        jobs, self._jobs, self._held_results = self._jobs, [], 0
        for method, kwargs in jobs:
            try:
                if method in ("report_result", "report_container"):
                    self._write_item(next(iter(kwargs.values())))
                elif method == "report_attached_data":
                    self._write_attachment(**kwargs)
                else:
                    getattr(self._logger, method)(**kwargs)
            except Exception as exc:  # kept for the caller to report: a lost result must not go unnoticed
                self.errors.append(exc)

    def _write_item(self, item: Any) -> None:
        """allure's own format (attrs asdict without empty values), through the C JSON encoder.

        allure's logger streams with json.dump, which runs the pure-Python encoder;
        that is several times slower. Same file name pattern, same atomic rename.
        """
        data = _attrs_dict(item, self._store)
        name = item.file_pattern.format(prefix=uuid.uuid4())
        self._write_file(name, self.masker.text(json.dumps(data, ensure_ascii=False)).encode("utf-8"))

    def _write_attachment(self, body: str | bytes, file_name: str) -> None:
        """An attachment as allure's logger writes it (text in UTF-8, bytes as they are), under its own name."""
        self._write_file(file_name, body.encode("utf-8") if isinstance(body, str) else body)

    def _write_file(self, name: str, content: bytes) -> None:
        """`name` in allure's results folder, written beside it as `<name>.tmp` and renamed (atomic).

        Joined as text, not with pathlib: pathlib interns every part of a path it parses (Python 3.11), and each
        of a run's many unique file names (a dozen a scenario) briefly entered Python's table of interned strings,
        whose resizes every few thousand scenarios (a 4 MB table, allocated anew) grew the process (issue 14).
        """
        final = os.path.join(self._folder, name)
        with open(f"{final}.tmp", "wb") as out:
            out.write(content)
        os.replace(f"{final}.tmp", final)

    def _store(self, body: Body, file_name: str) -> None:
        """An attachment of a pending step, written as its result is (a lost attachment loses only itself)."""
        try:
            data = _resolve(body)
            self._write_attachment(self.masker.text(data) if isinstance(data, str) else data, file_name)
        except Exception as exc:
            self.errors.append(exc)

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
