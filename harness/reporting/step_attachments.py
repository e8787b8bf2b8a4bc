"""What a scenario step shows in its report: its attachments, its findings as text, what makes it not pass.

One Allure step per scenario step, with the request and the response attached as JSON and personal data
masked by default; the findings (each with its grade, clause, bilingual title, expected and actual), the
reproduction commands (curl, PowerShell) for a MUST finding, and a fault the platform applied on purpose.
Only a MUST finding (its effective grade) fails the step; advisories are attached and the step passes.
No allure import: an attachment is its body, name and kind ("json" or "text"); the allure-pytest user
(`reporting.allure`) turns the kind into allure's attachment type. A body may be a function that makes it:
the deferred writer makes it when it writes the attachment, after the run, not inside the exchange loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from harness.model import Exchange, Failure, Grade, Severity, StepResult
from harness.reporting.curl import curl_command, powershell_command
from harness.reporting.masking import Masker
from harness.specs import GRADE_LABELS
from harness.specs.findings_zh import title_en, title_zh

__all__ = ["Attachments", "Body", "GradeOf", "failure_text", "resolve", "step_contents"]

GradeOf = Callable[[Failure], Grade]
Body = str | bytes | Callable[[], str | bytes]
Kind = Literal["json", "text"]
Attachments = list[tuple[Body, str, Kind]]


def step_contents(step: StepResult, fault: str | None, masker: Masker, header_env: Mapping[str, str],
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
        attachments.append((masker.text("\n\n".join(failure_text(f) for f in graded)), "findings", "text"))
    if findings and exchange is not None:
        attachments.append((lambda: masker.text(curl_command(exchange, header_env=header_env)), "reproduce (curl)",
                            "text"))
        attachments.append((lambda: masker.text(powershell_command(exchange, header_env=header_env)),
                            "reproduce (PowerShell)", "text"))
    problem: BaseException | None = None
    if exchange is not None and exchange.error and fault:
        attachments.append((masker.text(f"the platform lost this answer on purpose ({fault}): {exchange.error}"),
                            "expected loss", "text"))
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
        return [(request, "request", "json"), (lambda: masker.text(exchange.response_text), name, "json")]

    def text() -> str:
        return masker.text(f"{exchange.error or ''}\n\n{exchange.response_text}")

    return [(request, "request", "json"), (text, name, "text")]


def resolve(body: Body) -> str | bytes:
    """An attachment's body, made now if it is a function that makes it."""
    return body() if callable(body) else body


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
