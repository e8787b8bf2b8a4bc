"""Where hsa-cert's data lives: the one place that finds `specs/`, `scenarios/` and `fixtures/`.

Three layouts, tried in this order:

1. an override: `$HSA_CERT_SPECS` (or `hsa-cert --specs DIR`, which sets it) names a `specs/` folder,
   e.g. a newer spec edition; it replaces only the specs;
2. a checkout: the package sits in a source tree (`<root>/harness`, `<root>/pyproject.toml`,
   `<root>/specs`), so development and the tests read the top-level folders they edit;
3. an installed wheel: the same folders are package data under `harness/_data/` (the build maps them
   there, see `[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml), found through
   `importlib.resources`.

Only the standard library here (layer 0): callers turn a missing folder into an error with a hint.
"""

from __future__ import annotations

import os
import tomllib
from importlib import metadata, resources
from pathlib import Path

__all__ = [
    "DISTRIBUTION",
    "SPECS_ENV",
    "catalogue_dir",
    "data_layout",
    "data_root",
    "fixtures_dir",
    "scenarios_dir",
    "specs_dir",
    "specs_overridden",
    "tool_version",
]

DISTRIBUTION = "hsa-cert"
SPECS_ENV = "HSA_CERT_SPECS"
_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent
DATA_PACKAGE_DIR = "_data"  # harness/_data/ in a wheel


def _is_checkout(root: Path) -> bool:
    return (root / "pyproject.toml").is_file() and (root / "specs").is_dir() and (root / "scenarios").is_dir()


def _installed_root() -> Path:
    found = resources.files("harness").joinpath(DATA_PACKAGE_DIR)
    # A wheel is installed unpacked, so this is a real folder; a zipped install is not supported (the
    # loaders walk folders), and the plain path then makes the callers' "not found" errors name it.
    return found if isinstance(found, Path) else _PACKAGE / DATA_PACKAGE_DIR


def data_root() -> Path:
    """The folder holding `specs/`, `scenarios/` and `fixtures/`: the checkout, else the installed data."""
    return _CHECKOUT if _is_checkout(_CHECKOUT) else _installed_root()


def data_layout() -> str:
    """"checkout" or "installed": which layout `data_root()` found (for `--version` and error hints)."""
    return "checkout" if _is_checkout(_CHECKOUT) else "installed"


def specs_overridden() -> bool:
    return bool(os.environ.get(SPECS_ENV, "").strip())


def specs_dir() -> Path:
    """`$HSA_CERT_SPECS` if set, else `specs/` of the data root."""
    override = os.environ.get(SPECS_ENV, "").strip()
    return Path(override).expanduser() if override else data_root() / "specs"


def scenarios_dir() -> Path:
    return data_root() / "scenarios"


def fixtures_dir() -> Path:
    return data_root() / "fixtures"


def catalogue_dir() -> Path:
    """The synthetic-person catalogue (regions, institutions, archetypes): `fixtures/catalogue/`."""
    return fixtures_dir() / "catalogue"


def tool_version() -> str:
    """The version declared in pyproject.toml: read from the checkout's file when running from one (so
    it is current even if the editable install is older), else from the installed distribution."""
    if _is_checkout(_CHECKOUT):
        try:
            with (_CHECKOUT / "pyproject.toml").open("rb") as fh:
                return str(tomllib.load(fh)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            pass
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
