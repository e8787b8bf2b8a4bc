"""Where the data comes from: $HSA_CERT_SPECS / --specs, else the checkout, else the copy in the wheel;
and the identity (version, spec edition, suite fingerprint) that --version, results.json and the
certificate carry. The wheel itself is built and installed in test_wheel.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from reporting_samples import mixed_record
from typer.testing import CliRunner

import harness
from harness import resources
from harness.cli import app
from harness.reporting.certificate import render_certificate
from harness.reporting.certify_particulars import run_info, suite_fingerprint
from harness.reporting.certprofile import load_profile
from harness.reporting.results_json import results_document
from harness.resources import SPECS_ENV
from harness.scenarios.catalogue import load_suites
from harness.specs import load_registry

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # "" counts as unset; monkeypatch also restores whatever --specs writes into the environment.
    monkeypatch.setenv(SPECS_ENV, "")


def test_a_checkout_reads_its_top_level_folders() -> None:
    assert resources.data_layout() == "checkout"
    assert resources.data_root() == ROOT
    assert resources.specs_dir() == ROOT / "specs"
    assert resources.scenarios_dir() == ROOT / "scenarios"
    assert resources.catalogue_dir() == ROOT / "fixtures" / "catalogue"


def test_the_env_var_replaces_the_specs_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SPECS_ENV, str(tmp_path))
    assert resources.specs_dir() == tmp_path
    assert resources.specs_overridden()
    assert resources.scenarios_dir() == ROOT / "scenarios"


@pytest.mark.parametrize("leftovers", [(), ("specs", "scenarios")])
def test_outside_a_checkout_the_copy_in_the_package_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           leftovers: tuple[str, ...]) -> None:
    # site-packages may hold unrelated `specs`/`scenarios` folders: without pyproject.toml it is no checkout
    for name in leftovers:
        (tmp_path / name).mkdir()
    monkeypatch.setattr(resources, "_CHECKOUT", tmp_path)
    assert resources.data_layout() == "installed"
    assert resources.data_root() == Path(harness.__file__).resolve().parent / "_data"
    assert resources.specs_dir() == resources.data_root() / "specs"


def test_the_wheel_maps_the_folders_under_the_same_relative_paths() -> None:
    """harness.resources reads `<data root>/specs` etc. in both layouts, so every mapping must keep the
    folder's path relative to the checkout (scenario sources and messages then read the same too)."""
    mapping = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for source, target in mapping.items():
        assert (ROOT / source).exists(), source
        assert target == f"harness/{resources.DATA_PACKAGE_DIR}/{source}"
    for needed in ("specs", "scenarios", "fixtures/catalogue", "fixtures/selftest-baseline.json"):
        assert needed in mapping, needed
    assert not any(s.startswith("fixtures/examples") for s in mapping), "validator examples are test data"


def test_no_other_module_finds_the_data_by_its_own_file_location() -> None:
    """Every lookup of specs/, scenarios/ and fixtures/ goes through harness.resources."""
    allowed = {"resources.py", "reporting/certificate.py"}  # certificate: its templates sit beside it
    offenders = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        rel = path.relative_to(ROOT / "harness").as_posix()
        text = path.read_text(encoding="utf-8")
        if rel not in allowed and re.search(r"Path\(__file__\)|parents\[", text):
            offenders.append(rel)
    assert not offenders, f"route these through harness.resources: {offenders}"


def test_the_version_is_declared_once() -> None:
    assert resources.tool_version() == PYPROJECT["project"]["version"] == harness.__version__


def test_version_prints_tool_spec_edition_and_suite_fingerprint() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    scenarios = load_suites(load_registry(), "baseline", None)
    expected = suite_fingerprint({"id": s.id, "fingerprint": s.fingerprint} for s in scenarios)
    lines = result.output.splitlines()
    assert lines[0] == f"hsa-cert {PYPROJECT['project']['version']}"
    assert lines[1] == "spec edition: v1.1.27"
    assert lines[2].startswith(f"suite fingerprint: {expected} (default suite, {len(scenarios)} scenarios")
    assert "checkout copy" in lines[3]


def test_the_specs_option_points_the_loader_elsewhere(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-specs"
    result = CliRunner().invoke(app, ["--specs", str(missing), "specs", "list"])
    assert result.exit_code == 2
    assert str(missing) in result.output
    assert f"{SPECS_ENV} names a folder that does not exist" in result.output


def test_results_json_and_the_certificate_carry_the_tool_identity() -> None:
    tool = {"name": "hsa-cert", "version": "9.9.9", "spec_edition": "v1.1.27", "suite_fingerprint": "e" * 64}
    document = results_document([], {}, run={"spec_version": "v1.1.27"}, tool=tool)
    assert document["tool"] == tool
    info = run_info(document, load_profile("hospital-outpatient"))
    assert (info.harness_version, info.spec_version, info.default_suite_fingerprint) == ("9.9.9", "v1.1.27", "e" * 64)
    html = render_certificate(mixed_record(default_suite_fingerprint="e" * 64), digest="ab" * 32)
    assert "e" * 64 in html
    # results.json written before the tool section still renders, with the renderer's version
    old = run_info(results_document([], {}, run={}), load_profile("hospital-outpatient"))
    assert (old.harness_version, old.default_suite_fingerprint) == (harness.__version__, "")


def test_a_missing_scenarios_folder_is_an_error_not_an_empty_suite(tmp_path: Path) -> None:
    from harness.errors import ConfigError
    from harness.scenarios.catalogue import load_catalogue_of_scenarios

    with pytest.raises(ConfigError, match="scenarios folder does not exist"):
        load_catalogue_of_scenarios(root=tmp_path / "scenarios")
