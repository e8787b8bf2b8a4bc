"""The public facade: what `import harness` offers is deliberate and complete."""

from __future__ import annotations

import harness


def test_all_names_exist() -> None:
    missing = [name for name in harness.__all__ if not hasattr(harness, name)]
    assert not missing


def test_public_names_are_exported() -> None:
    public = {name for name in vars(harness) if not name.startswith("_")}
    # Submodules become attributes once imported anywhere; they are reached by their dotted path.
    modules = {name for name in public if type(getattr(harness, name)).__name__ == "module"}
    assert public - modules == set(harness.__all__) - {"__version__"}


def test_version_matches_package_metadata() -> None:
    from importlib.metadata import version

    assert harness.__version__ == version("hsa-cert")
