"""The command line never shows a traceback (issue 12): site configs in the encodings Windows editors save,
a clear error for what cannot be read, deep nesting, a YAML syntax error reported once, and the
last-resort handler (a message, the command, a crash file; exit 2 or 3, never 1). Each through the real
CLI in a subprocess (`python -m harness`), as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioFormatError
from harness.scenarios.loader import load_files
from harness.siteconfig import load_site

pytestmark = pytest.mark.slow

EXAMPLE_SITE = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "example-province.toml"


def hsa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env, encoding="utf-8", errors="replace")


def no_traceback(run: subprocess.CompletedProcess[str]) -> str:
    text = run.stdout + run.stderr
    assert "Traceback" not in text, text[-3000:]
    return text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_a_site_config_is_read_in_the_encodings_windows_editors_save(tmp_path: Path, encoding: str) -> None:
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    assert "长沙市示例医院" in text
    site = tmp_path / "site.toml"
    site.write_bytes(text.encode(encoding))
    assert load_site(site).describe() == load_site(EXAMPLE_SITE).describe()
    # through the CLI: the site is read and understood; what stops certify is the (deliberately) unknown profile
    run = hsa("certify", "--site", str(site), "--profile", "no-such-profile", cwd=tmp_path)
    out = no_traceback(run)
    assert run.returncode == 2 and "Unknown certification profile" in out and "site config" not in out, out


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "folder", "it is a folder"),
    (lambda d: d / "absent.toml", "no such file"),
    (lambda d: d / "binary.toml", "binary file"),
    (lambda d: d / "deep.toml", "nests too deeply"),
    (lambda d: d / "bad.toml", "not valid TOML"),
])
def test_an_unreadable_site_config_is_a_clear_usage_error(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.toml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "deep.toml").write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    (tmp_path / "bad.toml").write_text("[site\n", encoding="utf-8")
    for command in (["certify", "--no-allure"],):
        run = hsa(*command, "--site", str(make(tmp_path)), cwd=tmp_path)
        text = no_traceback(run)
        assert run.returncode == 2 and message in text, text[-2000:]


def test_a_deeply_nested_file_to_specs_validate_is_a_clear_error(tmp_path: Path) -> None:
    for depth in (100_000, 900):
        deep = tmp_path / f"deep{depth}.json"
        deep.write_text('{"infno":"9001","input":' + "[" * depth + "]" * depth + "}", encoding="utf-8")
        run = hsa("specs", "validate", str(deep), cwd=tmp_path)
        text = no_traceback(run)
        assert run.returncode == 2 and "nests too deeply" in text, text[-2000:]
    assert not list(tmp_path.glob("hsa-cert-crash-*"))


def test_the_last_resort_handler_prints_what_happened_and_writes_the_traceback_to_a_file(tmp_path: Path) -> None:
    code = ("import sys, harness.cli as cli, harness.specs as specs\n"
            "def boom(*a, **k): raise KeyError('planted')\n"
            "specs.load_registry = boom\n"
            "sys.argv = ['hsa-cert', 'specs', 'list']\n"
            "cli.main()\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    text = no_traceback(run)
    assert run.returncode == 3
    assert "KeyError: 'planted'" in text and "to reproduce: hsa-cert specs list" in text and "report it" in text
    (crash,) = tmp_path.glob("hsa-cert-crash-*.txt")
    assert str(crash.name) in text
    written = crash.read_text(encoding="utf-8")
    assert "Traceback" in written and "planted" in written and "command: hsa-cert specs list" in written


def test_the_last_resort_handler_exits_2_for_a_file_it_could_not_use(tmp_path: Path) -> None:
    out = tmp_path / "evidence"
    out.mkdir()
    code = ("import sys, harness.cli as cli, harness.specs as specs\n"
            "def boom(*a, **k): raise PermissionError(13, 'Permission denied', 'x.json')\n"
            "specs.load_registry = boom\n"
            f"sys.argv = ['hsa-cert', 'certify', '--out', {str(out)!r}]\n"
            "cli.main()\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    text = no_traceback(run)
    assert run.returncode == 2 and "PermissionError" in text
    assert list(out.glob("hsa-cert-crash-*.txt")), "the crash file goes into the evidence folder given"
    assert f"evidence folder {out}" in text


def test_a_yaml_syntax_error_is_reported_once_in_its_own_file(tmp_path: Path) -> None:
    templates = tmp_path / "templates.yaml"
    templates.write_text("templates:\n  op-open: : : [x\n    - name: open\n", encoding="utf-8")
    users = tmp_path / "flows.yaml"
    users.write_text("".join(
        f"- id: demo.flow-{n}\n  title: a flow\n  title_zh: 流程\n  archetype: filed-employee\n"
        f"  steps:\n    - use: op-open\n" for n in range(20)), encoding="utf-8")
    with pytest.raises(ScenarioFormatError) as caught:
        load_files([users, templates], root=tmp_path)
    text = caught.value.render()
    assert "1 problem in scenario file(s)" in text and "templates.yaml:2" in text
    assert "unknown template" not in text and "may follow from them" in text


@pytest.mark.parametrize(("args", "message"), [
    (["specs", "validate", "{binary}"], "is not UTF-8 text"),
    (["specs", "validate", "{folder}"], "Cannot read"),
    (["certify", "--baseline", "{binary}", "--no-allure"], "not UTF-8 text"),
    (["certify", "--baseline", "{folder}", "--no-allure"], "Cannot read the known-failures baseline"),
    (["history", "--ledger", "{binary}"], "not a readable hsa-cert ledger"),
    (["verify", "{binary}"], "Not an evidence directory"),
    (["platform", "serve", "--db", "{binary}", "--port", "0"], "cannot be used"),
    (["platform", "serve", "--db", "{folder}", "--port", "0"], "Cannot open the platform database"),
    (["client", "checklist", "--plan", "{binary}"], "client plan"),
])
def test_other_files_given_on_the_command_line_fail_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.dat").write_bytes(bytes(range(256)) * 4)
    names = {"binary": str(tmp_path / "binary.dat"), "folder": str(tmp_path / "folder")}
    run = hsa(*(a.format(**names) for a in args), cwd=tmp_path)
    text = no_traceback(run)
    assert run.returncode == 2 and message in text, text[-2000:]
    assert not list(tmp_path.glob("hsa-cert-crash-*")), "a clear error, not the last resort"


def test_a_yaml_syntax_error_in_a_client_plan_names_its_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text('id: demo\ncases:\n  - id: sign-in\n    title: ""Sign in"\n', encoding="utf-8")
    run = hsa("client", "checklist", "--plan", str(plan), cwd=tmp_path)
    text = no_traceback(run)
    assert run.returncode == 2 and "YAML syntax error" in text and "plan.yaml:4:" in text, text


def test_the_crash_report_masks_a_ledger_urls_password_in_the_command_to_reproduce(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    from harness.reporting.crash import report_crash

    monkeypatch.chdir(tmp_path)
    crash = report_crash(KeyError("planted"), ["history", "--ledger", "postgresql://prov:s3cret-pw@db/ledger"])
    assert "s3cret-pw" not in crash.message and "postgresql://prov:***@db/ledger" in crash.message
