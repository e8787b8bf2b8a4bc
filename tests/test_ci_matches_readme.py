"""`.ci/run` must run exactly the README's test command, in a fresh virtual environment, and fail when it fails.

The structural test reads the script; the behavioural tests run it with stand-ins for python3, pip, pytest,
node and npm on PATH, so they show what CI would do when a step fails, without installing anything.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI_RUN = ROOT / ".ci" / "run"


def readme_test_command() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.strip() for b in re.findall(r"```\n(.*?)\n```", readme, flags=re.S)]
    found = [b for b in blocks if b.splitlines()[-1].strip() == "pytest"]
    assert found, "README must show the test command, ending with `pytest`"
    return [line.strip() for line in found[0].splitlines()]


def script_commands() -> list[str]:
    lines = CI_RUN.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_ci_runs_the_readme_test_command_last_and_strictly() -> None:
    readme = readme_test_command()
    commands = script_commands()
    assert commands[0] == "set -euo pipefail", "strict shell first"
    assert commands[-len(readme):] == readme, "the README's command, one step per line, is the end of .ci/run"
    for line in readme:
        assert "&&" not in line and "||" not in line, "one step per line: set -e does not cover the left of && or ||"
    body = "\n".join(commands)
    assert "set +e" not in body and "|| true" not in body and "|| :" not in body
    venv = next(i for i, c in enumerate(commands) if "-m venv" in c)
    activate = next(i for i, c in enumerate(commands) if c.startswith("source") and "activate" in c)
    assert venv < activate < len(commands) - len(readme), "a fresh venv is made and activated before the command"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_ci(tmp_path: Path, *, pip_exit: int, pytest_exit: int) -> tuple[int, str]:
    """Run a copy of .ci/run in a folder of its own, with every tool it calls replaced by a stand-in."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(CI_RUN, repo / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    # python3 -m venv DIR: a venv whose pip and pytest log their arguments and exit as told.
    _stub(bin_dir, "python3", f"""
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  printf 'export PATH="%s/bin:$PATH"\\n' "$3" > "$3/bin/activate"
  printf '#!/usr/bin/env bash\\necho "venv-pip $*" >> {log}\\nexit {pip_exit}\\n' > "$3/bin/pip"
  printf '#!/usr/bin/env bash\\necho "venv-pytest $*" >> {log}\\nexit {pytest_exit}\\n' > "$3/bin/pytest"
  chmod +x "$3/bin/pip" "$3/bin/pytest"
  exit 0
fi
echo "python3 $*" >> {log}""")
    for name in ("node", "npm", "chromium", "pdftotext", "initdb"):
        _stub(bin_dir, name, "echo v20")
    for name in ("pip", "pytest", "apt-get"):  # anything outside the fresh venv must not be used
        _stub(bin_dir, name, f'echo "outside-{name} $*" >> {log}; exit 0')
    bash = shutil.which("bash")
    assert bash
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path), "CI": "true"}
    done = subprocess.run([bash, str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, log.read_text(encoding="utf-8") if log.exists() else ""


needs_bash = pytest.mark.skipif(os.name == "nt" or shutil.which("bash") is None, reason="needs a POSIX bash")


@needs_bash
def test_ci_passes_only_through_the_venvs_pip_and_pytest(tmp_path: Path) -> None:
    code, log = _run_ci(tmp_path, pip_exit=0, pytest_exit=0)
    assert code == 0
    assert log.splitlines() == ["venv-pip install -e .[test]", "venv-pytest "]


@needs_bash
@pytest.mark.parametrize(("pip_exit", "pytest_exit", "ran_pytest"), [(1, 0, False), (0, 1, True), (0, 5, True)])
def test_ci_fails_when_a_step_fails(tmp_path: Path, pip_exit: int, pytest_exit: int, ran_pytest: bool) -> None:
    code, log = _run_ci(tmp_path, pip_exit=pip_exit, pytest_exit=pytest_exit)
    assert code != 0
    assert ("venv-pytest" in log) is ran_pytest
    assert "outside-" not in log
