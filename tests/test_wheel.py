"""Installed like real software: build the sdist and the wheel, install the wheel into a fresh virtual
environment outside the checkout, and use the tool from an empty folder.

Slow (a build, a pip install of the dependencies, one short certification): about a minute on an idle
machine, most of it the pip install and the certification. pip resolves the dependencies through its
usual configuration and cache, as a user's install does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from harness.reporting.identity import tool_identity
from harness.resources import SPECS_ENV
from harness.specs import load_registry

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _run(args: list[str], cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=timeout,
                          env=env)


def _explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build`: the sdist, then the wheel built from the sdist (so the sdist is complete too)."""
    out = tmp_path_factory.mktemp("dist")
    if importlib.util.find_spec("build") is not None:
        command = [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)]
    else:  # a venv made before `build` joined the test extras: pip builds the wheel alone
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(ROOT)]
    proc = _run(command, cwd=out)
    assert proc.returncode == 0, _explain(proc)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    found = sorted(dist.glob("hsa_cert-*.whl"))
    assert [w.name for w in found] == [f"hsa_cert-{VERSION}-py3-none-any.whl"]
    return found[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """(the hsa-cert script of a fresh venv with the wheel installed, its environment, an empty folder)."""
    venv = tmp_path_factory.mktemp("venv")
    proc = _run([sys.executable, "-m", "venv", str(venv)], cwd=venv)
    assert proc.returncode == 0, _explain(proc)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HSA_CERT_") and k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    proc = _run([str(bindir / "python"), "-m", "pip", "install", "--disable-pip-version-check", str(wheel)],
                cwd=venv, env=env)
    assert proc.returncode == 0, _explain(proc)
    empty = tmp_path_factory.mktemp("empty")
    return bindir / "hsa-cert", env, empty


def test_the_wheel_carries_the_data_but_not_the_test_examples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("harness/_data/specs/v1.1.27/manifest.json",
                   "harness/_data/specs/certification-profiles/hospital-outpatient.json",
                   "harness/_data/specs/profiles/baseline.json",
                   "harness/_data/scenarios/templates.yaml",
                   "harness/_data/fixtures/catalogue/archetypes.json",
                   "harness/_data/fixtures/sites/example-province.toml",
                   "harness/_data/fixtures/selftest-baseline.json",
                   "harness/reporting/templates/certificate.html.j2"):
        assert needed in names, needed
    checkout = {p.relative_to(ROOT).as_posix() for d in ("specs", "scenarios") for p in (ROOT / d).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert {f"harness/_data/{p}" for p in checkout} <= names
    assert not any("fixtures/examples" in n or n.startswith(("tests/", "bench/")) for n in names)


def test_the_sdist_holds_the_checkout_layout(dist: Path) -> None:
    sdists = sorted(dist.glob("hsa_cert-*.tar.gz"))
    if not sdists:
        pytest.skip("built with pip wheel (no `build` in this venv): no sdist")
    with tarfile.open(sdists[0]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    # enough to run the tests and build the wheel again (which `python -m build` just did from it)
    for needed in ("pyproject.toml", "README.md", "specs/v1.1.27/manifest.json", "scenarios/templates.yaml",
                   "fixtures/examples/2207.json", "tests/test_wheel.py", ".ci/run"):
        assert needed in names, needed
    assert not any(n.startswith((".venv/", "reports/2")) for n in names)


def test_version_from_an_empty_folder(installed: tuple[Path, dict[str, str], Path]) -> None:
    tool, env, empty = installed
    proc = _run([str(tool), "--version"], cwd=empty, env=env, timeout=120)
    assert proc.returncode == 0, _explain(proc)
    mine = tool_identity(load_registry())
    lines = proc.stdout.splitlines()
    assert lines[0] == f"hsa-cert {VERSION}"
    assert lines[1] == f"spec edition: {mine.spec_edition}"
    # the installed scenarios and specs are the checkout's: same default-suite fingerprint
    assert lines[2].startswith(f"suite fingerprint: {mine.suite_fingerprint} ")
    assert re.match(r"data: installed copy at .*_data$", lines[3]), lines[3]
    assert str(ROOT) not in proc.stdout


def test_specs_list_from_an_empty_folder(installed: tuple[Path, dict[str, str], Path]) -> None:
    tool, env, empty = installed
    proc = _run([str(tool), "specs", "list"], cwd=empty, env=env, timeout=120)
    assert proc.returncode == 0, _explain(proc)
    assert f"{len(load_registry().interfaces())} interfaces, spec v1.1.27" in proc.stdout
    assert "2207" in proc.stdout


def test_a_newer_spec_edition_is_taken_from_the_env_var(installed: tuple[Path, dict[str, str], Path]) -> None:
    tool, env, empty = installed
    proc = _run([str(tool), "specs", "list"], cwd=empty, env={**env, SPECS_ENV: str(empty / "missing")}, timeout=120)
    assert proc.returncode == 2, _explain(proc)
    assert "Traceback" not in proc.stderr
    assert SPECS_ENV in proc.stderr


def test_certify_outpatient_from_an_empty_folder(installed: tuple[Path, dict[str, str], Path]) -> None:
    tool, env, empty = installed
    proc = _run([str(tool), "certify", "-k", "outpatient", "--no-allure", "--seed", "7"], cwd=empty, env=env)
    assert proc.returncode == 0, _explain(proc)
    assert "CERTIFIED (exit 0)" in proc.stdout
    results = sorted(empty.glob("reports/embedded/*/results.json"))
    assert len(results) == 1
    document = json.loads(results[0].read_text(encoding="utf-8"))
    assert document["tool"] == tool_identity(load_registry()).to_json()
    assert document["summary"]["total"] > 0 and document["summary"]["failed"] == 0
    assert (results[0].parent / "certificate.html").is_file()
    assert document["tool"]["suite_fingerprint"] in (results[0].parent / "certificate.html").read_text("utf-8")
