"""junit.xml written from a spool as the run goes (issue 14) is what pytest's own --junitxml writes for the same run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from engine_samples import FakeSite, person_step, scenario
from test_plugin import plugin_for, suite

from harness import pytest_plugin
from harness.reporting.junit import JunitSpool

# Times, the start timestamp and the host name vary between runs; everything else must be the same.
_VARYING = re.compile(r' (time|timestamp|hostname)="[^"]*"')


def _both(tmp_path: Path, plugin: pytest_plugin.ScenarioPlugin) -> tuple[str, str]:
    ours, theirs = tmp_path / "ours" / "junit.xml", tmp_path / "theirs.xml"
    pytest_plugin.run_pytest(plugin, root=tmp_path, junitxml=ours, extra_args=("--junitxml", str(theirs)))
    return ours.read_text(encoding="utf-8"), theirs.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def only_the_plugins_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_junit_from_the_spool_is_what_pytest_writes(tmp_path: Path) -> None:
    from engine_samples import refusal

    fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算\x07")})
    ours, theirs = _both(tmp_path, plugin_for(fake))
    assert ours.startswith('<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite ')
    assert 'errors="0" failures="1" skipped="2" tests="5"' in ours
    assert "<failure message=" in ours and '<skipped type="pytest.skip"' in ours and "curl" in ours
    assert _VARYING.sub("", ours) == _VARYING.sub("", theirs)


def test_errors_and_an_interrupted_run_match_too(tmp_path: Path) -> None:
    fake = FakeSite({"1101": ConnectionRefusedError("down")})
    plugin = plugin_for(fake, [scenario((person_step(),), id=f"person.sample.s{i}", area="person") for i in range(5)])
    plugin.runner.breaker_threshold = 2
    ours, theirs = _both(tmp_path, plugin)
    assert ours.count("<testcase ") == 2
    assert _VARYING.sub("", ours) == _VARYING.sub("", theirs)


def test_an_empty_run_and_the_message_budget(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, plugin_for(FakeSite(), [suite()[0]]))
    assert _VARYING.sub("", ours) == _VARYING.sub("", theirs)
    junit = JunitSpool(tmp_path / "empty.xml")
    junit.report("a/b.py::c", "call", "failed", 0.5, "\n".join(f"line {i} " + "x" * 60 for i in range(20)))
    junit.report("a/b.py::c", "teardown", "passed", 0.25, None)
    text = junit.write().read_text(encoding="utf-8")
    junit.close()
    assert '<testcase classname="a.b" name="c" time="0.750">' in text
    assert "[+13 more lines; full report in element text]" in text
    empty = JunitSpool(tmp_path / "none.xml")
    text = empty.write().read_text(encoding="utf-8")
    assert 'tests="0"' in text and "<testcase" not in text
    empty.close()


def test_the_spool_is_copied_into_junit_xml_a_piece_at_a_time(tmp_path: Path) -> None:
    """A run's test cases are not read back whole, nor a megabyte at a time, to be written (issue 14: each piece
    is held as bytes, as text and encoded again: at twenty thousand scenarios the end of the run's peak)."""
    junit = JunitSpool(tmp_path / "junit.xml")
    for i in range(3000):  # ~250,000 characters of test cases
        nodeid = f"person::person.sample.scenario-{i:05d}~2"
        junit.report(nodeid, "call", "passed", 0.01, None)
        junit.report(nodeid, "teardown", "passed", 0.0, None)
    pieces: list[int] = []
    read = junit._spool.read

    def spy(size: int = -1) -> str:
        piece = read(size)
        pieces.append(len(piece))
        return piece

    junit._spool.read = spy  # type: ignore[method-assign]
    text = junit.write().read_text(encoding="utf-8")
    junit.close()
    assert text.count("<testcase ") == 3000 and text.endswith("</testsuite></testsuites>")
    assert sum(pieces) > 200_000 and max(pieces) <= 1 << 16
