"""junit.xml written as the run goes: each test case is serialised to a spool file when its last phase is reported.

pytest's own `--junitxml` keeps every test case's XML element until the session ends (issue 14: a run of twenty
thousand scenarios held them all). `JunitSpool` writes the same file (pytest's xunit2 family, no captured output:
the settings `run_pytest` uses) but keeps only a file offset: the pytest plugin hands it each phase report as plain
values (`report`), a finished case is serialised at once, and `write` streams the spooled cases into junit.xml
under pytest's `<testsuites><testsuite …>` head. The content is what pytest writes for the same run (a test
compares them); only the times, the timestamp and the host name differ from run to run.
"""

from __future__ import annotations

import contextlib
import datetime
import platform
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["JunitSpool"]

_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\u007e\u0080-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MESSAGE_BUDGET = 500  # characters of a <failure>/<error> message attribute (the element text has it all)
_PLACEHOLDER = "hsa-cert-testcases"
# characters of the spool copied into junit.xml at a time: a run's test cases (~100 characters each) are not read
# into memory whole, nor a megabyte at a time (each piece is held as bytes, as text and encoded again while written)
_COPY_CHARS = 1 << 16


def _escape(value: object) -> str:
    """What cannot be in XML 1.0, shown visibly (`#x07`), as pytest does."""
    return _ILLEGAL_XML.sub(lambda m: f"#x{ord(m.group()):02X}" if ord(m.group()) <= 0xFF
                            else f"#x{ord(m.group()):04X}", str(value))


def _shorten(message: str, budget: int = _MESSAGE_BUDGET) -> str:
    """A message attribute: whole lines while they fit, then a pointer to the element text (pytest's rule)."""
    lines = message.splitlines() or [""]
    kept: list[str] = []
    size = 0
    for line in lines:
        if kept and size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    shortened = "\n".join(kept)
    cut = len(shortened) > budget
    if cut:
        shortened = shortened[:budget] + "..."
    remaining = len(lines) - len(kept)
    if remaining:
        note = f"+{remaining} more line{'s' if remaining > 1 else ''}"
    elif cut:
        note = "truncated"
    else:
        return message
    return f"{shortened}\n[{note}; full report in element text]"


def _names(nodeid: str) -> tuple[str, str]:
    """classname and name of a node id (`area::scenario-id` -> `area`, `scenario-id`)."""
    parts = nodeid.split("::")
    parts[0] = re.sub(r"\.py$", "", parts[0].replace("/", "."))
    return ".".join(parts[:-1]), _escape(parts[-1])


class _Case:
    __slots__ = ("call_failed", "classname", "duration", "name", "nodes")

    def __init__(self, nodeid: str) -> None:
        self.classname, self.name = _names(nodeid)
        self.duration = 0.0
        self.nodes: list[ET.Element] = []
        self.call_failed = False

    def xml(self) -> str:
        case = ET.Element("testcase", {"classname": self.classname, "name": self.name},
                          time=f"{self.duration:.3f}")
        case.extend(self.nodes)
        return ET.tostring(case, encoding="unicode")


class JunitSpool:
    """One run's junit.xml: `report` each phase of each test, `write` at the end, `close` (also after `write`)."""

    def __init__(self, path: Path, *, suite_name: str = "pytest") -> None:
        self.path = path
        self.suite_name = suite_name
        self.stats = dict.fromkeys(("error", "passed", "failure", "skipped"), 0)
        self._double_failures = 0
        self._open: dict[str, _Case] = {}
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._started = time.monotonic()
        self._timestamp = datetime.datetime.now(datetime.UTC).astimezone().isoformat()

    def _case(self, nodeid: str) -> _Case:
        case = self._open.get(nodeid)
        if case is None:
            case = self._open[nodeid] = _Case(nodeid)
        return case

    def _finish(self, nodeid: str) -> None:
        case = self._open.pop(nodeid, None)
        if case is not None:
            self._spool.write(case.xml())

    def report(self, nodeid: str, when: str, outcome: str, duration: float, longrepr: object) -> None:
        """One phase's report: `outcome` passed / failed / skipped; `longrepr` the failure text, or for a skip
        pytest's (file, line, reason) triple."""
        if outcome == "passed":
            if when == "call":
                self._case(nodeid)
                self.stats["passed"] += 1
        elif outcome == "failed":
            case = self._open.get(nodeid)
            if when == "teardown":
                if case is not None and case.call_failed:  # a new test case for the teardown error (junit schema)
                    self._finish(nodeid)
                elif case is not None:
                    self._double_failures += 1
            case = self._case(nodeid)
            text = str(longrepr)
            if when == "call":
                self._simple(case, "failure", _escape(_shorten(text)), text)
                case.call_failed = True
                self.stats["failure"] += 1
            else:
                where = "teardown" if when == "teardown" else "setup"
                self._simple(case, "error", _escape(_shorten(f'failed on {where} with "{text}"')), text)
                self.stats["error"] += 1
        elif outcome == "skipped":
            case = self._case(nodeid)
            filename, lineno, reason = longrepr if isinstance(longrepr, tuple) else ("", None, str(longrepr))
            reason = str(reason).removeprefix("Skipped: ")
            skipped = ET.Element("skipped", type="pytest.skip", message=_escape(reason))
            skipped.text = _escape(f"{filename}:{lineno}: {reason}")
            case.nodes.append(skipped)
            self.stats["skipped"] += 1
        self._case(nodeid).duration += duration
        if when == "teardown":
            self._finish(nodeid)

    @staticmethod
    def _simple(case: _Case, tag: str, message: str, text: str) -> None:
        node = ET.Element(tag, message=message)
        node.text = _escape(text)
        case.nodes.append(node)

    def write(self) -> Path:
        """junit.xml: the suite's head, then every spooled test case in the order they finished."""
        for nodeid in list(self._open):  # a test whose teardown was never reported (an interrupted run)
            self._finish(nodeid)
        stats = self.stats
        tests = stats["passed"] + stats["failure"] + stats["skipped"] + stats["error"] - self._double_failures
        suite = ET.Element("testsuite", name=self.suite_name, errors=str(stats["error"]),
                           failures=str(stats["failure"]), skipped=str(stats["skipped"]), tests=str(tests),
                           time=f"{time.monotonic() - self._started:.3f}", timestamp=self._timestamp,
                           hostname=platform.node())
        suites = ET.Element("testsuites", name="pytest tests")
        suites.append(suite)
        spooled = self._spool.tell() > 0
        if spooled:
            ET.SubElement(suite, _PLACEHOLDER)
        head, _, tail = ET.tostring(suites, encoding="unicode").partition(f"<{_PLACEHOLDER} />")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="utf-8"?>')
            out.write(head)
            if spooled:
                self._spool.seek(0)
                while chunk := self._spool.read(_COPY_CHARS):
                    out.write(chunk)
                out.write(tail)
        return self.path

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._spool.close()
