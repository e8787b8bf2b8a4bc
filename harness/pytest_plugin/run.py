"""`run_pytest`: pytest driven in process for one plugin, with an empty ini file and no PYTEST_CURRENT_TEST."""

from __future__ import annotations

import contextlib
import gc
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from _pytest import runner as pytest_runner  # pytest's per-phase runner (PYTEST_CURRENT_TEST)

from harness.pytest_plugin.plugin import ScenarioPlugin
from harness.reporting.junit import JunitSpool


@contextlib.contextmanager
def _current_test_not_in_environ() -> Iterator[None]:
    """While the scenarios run, pytest does not put PYTEST_CURRENT_TEST ("<node id> (setup)") into the environment.

    pytest sets it at each phase of each item (three values a scenario, each new) through putenv, and glibc keeps
    every "NAME=value" string it was ever given for the life of the process (a pointer getenv handed out may
    still be held), so the run kept about 300 bytes of C memory a scenario: 3 MB at 10,000 scenarios, the
    harness's memory growth that Python's allocator does not see (issue 14, bench/scale.py). Nothing reads the
    variable: scenario items are not test code and start no process. pytest's own function for it is replaced
    for the run (by name, when it exists: without it nothing changes) and put back after.
    """
    original = getattr(pytest_runner, "_update_current_test_var", None)
    if original is None:
        yield
        return
    pytest_runner._update_current_test_var = lambda _item, _when: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        pytest_runner._update_current_test_var = original  # type: ignore[attr-defined]


def run_pytest(plugin: ScenarioPlugin, *, root: Path, keyword: str | None = None, alluredir: Path | None = None,
               junitxml: Path | None = None, quiet: bool = True, extra_args: Sequence[str] = ()) -> int:
    """Run the plugin's scenarios under pytest in this process; returns pytest's exit status.

    `root` is the collection root pytest reports paths against (the CLI passes the working
    directory); nothing under it is collected, the plugin supplies every item.
    """
    with tempfile.TemporaryDirectory(prefix="hsa-cert-pytest-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        # Only the plugins a run needs: whatever else is installed (xdist, hypothesis, faker …) stays out,
        # so the run behaves the same on every machine.
        # Per-test log capture, warning capture and thread/unraisable-exception hooks guard test code; the
        # engine prints nothing and raises nothing silently, and each costs time on every one of ~1000 items.
        # Likewise skip/xfail marks, output capture (nothing under test prints; the console reporter's notices
        # about the breaker and 冲正 must show at once), assertion rewriting, unittest and twisted support, tmp_path
        # retention and subtests: none applies to scenario items, and each wraps every phase of every item.
        args = ["-c", str(ini), "--rootdir", str(root), "--disable-plugin-autoload", "-p", "allure_pytest.plugin",
                "-p", "no:cacheprovider", "-p", "no:logging", "-p", "no:warnings", "-p", "no:threadexception",
                "-p", "no:unraisableexception", "-p", "no:faulthandler", "-p", "no:skipping", "-p", "no:capture",
                "-p", "no:assertion", "-p", "no:unittest", "-p", "no:tmpdir", "-p", "no:subtests",
                "-o", "console_output_style=progress"]
        if quiet:
            args.append("-q")
        if keyword:
            args += ["-k", keyword]
        if alluredir is not None:
            args += ["--alluredir", str(alluredir)]
        if junitxml is not None:  # written by the plugin as the run goes (harness/reporting/junit.py)
            plugin.junit = JunitSpool(junitxml)
        args += [*extra_args, str(root)]
        # Specs, scenarios and catalogue are loaded and live until the end: frozen, the cyclic garbage collector
        # never rescans them. What the run adds no longer lives until the end (each scenario's full result is
        # spooled to disk as it ends, only a slim one is kept: issue 14), so automatic collection stays on and
        # reclaims the cycles a scenario leaves (tracebacks, the embedded platform's event-loop objects) as the
        # run goes; with it off they piled up (about 50 objects a scenario, 35 MB in a run of 1,000 scenarios).
        gc.collect()
        gc.freeze()
        try:
            with _current_test_not_in_environ():
                return int(pytest.main(args, plugins=[plugin]))
        finally:
            gc.unfreeze()
