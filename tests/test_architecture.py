"""Enforce ARCHITECTURE.md: layer order and one owning module per third-party library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "harness"

# Top-level module or subpackage under harness/ -> layer. Lower layers never import higher ones.
LAYERS: dict[str, float] = {
    "errors": 0,
    "model": 0,
    "resources": 0,
    "specs": 1,
    "personas": 1,
    "transport": 1,
    "gateway": 1,
    "hostile": 1,
    "answer_guard": 0,  # standard-library guards the transport plugs in (deadline reaper, 1xx skipping)
    "sm_crypto": 0,  # SM2/SM3/SM4 primitives (gmssl) for the gateway and the platform's gateway check
    "scenarios": 2,
    "checks": 2,
    "platform": 2,
    "judge": 2,
    "proxy": 2,
    "verdict": 2,
    "siteconfig": 2,
    "sitepersons": 1,  # a site's test persons (several per archetype for --jobs), stand-ins
    "personcopies": 2,  # further persons per archetype for the embedded platform (--persons)
    "runner": 3,
    "load": 3,  # hsa-cert load: Locust users, shapes, SLOs (beside the runner)
    "hisdriver": 3,
    "reporting": 4,
    "selftest": 4,
    "pytest_plugin": 5,
    "session": 6,
    "matrix": 6.5,  # many sites at once: above session (it runs one certify session per site), below cli
    "client": 6,
    "cli": 7,
}

# Third-party import name -> the one module (path relative to harness/) allowed to import it.
OWNERS: dict[str, str | tuple[str, ...]] = {
    "jsonschema_rs": "specs/validate.py",
    # the session and its guarded connections; naming what they raise
    "requests": ("transport/connections.py", "transport/errors.py"),
    "urllib3": ("transport/connections.py", "transport/errors.py"),  # requests' own HTTP layer: connections, errors
    "faker": "personas/identity.py",
    "yaml": "scenarios/loader.py",
    "starlette": "platform/app.py",
    "uvicorn": "platform/server.py",
    # the command line: one module per command group under cli/
    "typer": tuple(f"cli/{p.name}" for p in (PKG / "cli").glob("*.py")),
    "jinja2": "reporting/certificate.py",
    "allure": "reporting/allure.py",
    "allure_commons": "reporting/allure.py",
    "pytest": ("pytest_plugin/items.py", "pytest_plugin/plugin.py", "pytest_plugin/run.py"),
    "_pytest": "pytest_plugin/run.py",  # PYTEST_CURRENT_TEST's updater, kept out of the run
    "responses": "platform/inprocess.py",
    "orjson": "platform/codec.py",
    "rich": "reporting/progress.py",
    "gmssl": "sm_crypto.py",
    "cryptography": "reporting/signing.py",
    "locust": "load/locust_run.py",  # imported late, in its own process: it patches the process for gevent
    "gevent": "load/locust_run.py",
    "psycopg": "reporting/ledger_pg.py",  # a province's shared ledger on PostgreSQL
}

# The reference platform and the conformance checks share schemas but no logic.
PLATFORM_MAY_NOT_IMPORT = {"checks", "scenarios", "runner", "verdict", "gateway", "transport"}
CHECKS_MAY_NOT_IMPORT = {"platform"}
# The client judge and the built-in HIS that proves it are written apart: neither imports the other, and the
# judge does not import the checks (those judge sites) nor the runner; the platform does not import the judge.
JUDGE_MAY_NOT_IMPORT = {"checks", "runner", "hisdriver", "platform"}
# The mutation proxy stands in front of any site: it knows the envelope and the specs, not our platform or checks.
PROXY_MAY_NOT_IMPORT = {"platform", "checks", "scenarios"}


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py"))


def _unit(path: Path) -> str:
    rel = path.relative_to(PKG)
    unit = rel.parts[0].removesuffix(".py")
    return unit


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    rel_pkg = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel_pkg[: len(rel_pkg) - (node.level - 1)])
                mod = ".".join([*base, node.module] if node.module else base)
                if node.module is None:
                    found.extend((f"{mod}.{a.name}", node.lineno) for a in node.names)
                else:
                    found.append((mod, node.lineno))
            elif node.module:
                if node.module == "harness":
                    found.extend((f"harness.{a.name}", node.lineno) for a in node.names)
                else:
                    found.append((node.module, node.lineno))
    return found


def test_every_unit_has_a_layer() -> None:
    units = {_unit(p) for p in _modules()} - {"__init__", "__main__"}
    missing = units - LAYERS.keys()
    assert not missing, f"add these to LAYERS and ARCHITECTURE.md: {sorted(missing)}"


def test_layer_order() -> None:
    problems = []
    for path in _modules():
        unit = _unit(path)
        if unit in {"__init__", "__main__"}:
            continue
        mine = LAYERS[unit]
        for name, line in _imports(path):
            parts = name.split(".")
            if parts[0] != "harness" or len(parts) < 2:
                continue
            other = parts[1]
            if other == unit or other not in LAYERS:
                continue
            if LAYERS[other] >= mine:
                problems.append(f"{path.relative_to(ROOT)}:{line} ({unit}, layer {mine}) imports {name}")
            if unit == "platform" and other in PLATFORM_MAY_NOT_IMPORT:
                problems.append(f"{path.relative_to(ROOT)}:{line}: the platform may not import {name}")
            if unit == "judge" and other in JUDGE_MAY_NOT_IMPORT:
                problems.append(f"{path.relative_to(ROOT)}:{line}: the client judge may not import {name}")
            if unit in {"platform", "hisdriver"} and other == "judge":
                problems.append(f"{path.relative_to(ROOT)}:{line}: {unit} may not import the client judge")
            if unit == "proxy" and other in PROXY_MAY_NOT_IMPORT:
                problems.append(f"{path.relative_to(ROOT)}:{line}: the mutation proxy may not import {name}")
            if unit in {"checks", "scenarios", "runner", "verdict"} and other in CHECKS_MAY_NOT_IMPORT:
                problems.append(f"{path.relative_to(ROOT)}:{line}: {unit} may not import the platform")
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_each_third_party_library_has_one_owner() -> None:
    stdlib = set(sys.stdlib_module_names)
    problems = []
    for path in _modules():
        rel = path.relative_to(PKG).as_posix()
        for name, line in _imports(path):
            top = name.split(".")[0]
            if top in stdlib or top == "harness" or top == "__future__":
                continue
            owner = OWNERS.get(top)
            if owner is None:
                problems.append(f"harness/{rel}:{line}: {top} has no owner in OWNERS")
            elif rel not in ((owner,) if isinstance(owner, str) else owner):
                problems.append(f"harness/{rel}:{line}: {top} may only be imported in harness/{owner}")
    assert not problems, "\n".join(problems)


DOC = ROOT / "ARCHITECTURE.md"


def _section(title: str) -> str:
    """The text of one `## ` section of ARCHITECTURE.md, found by the start of its title."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _module_map() -> dict[str, list[str]]:
    """The module map's entries: unit (its first backticked name, without `/`) -> entry texts."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _section("Module map").splitlines():
        if line.startswith("- `"):
            unit = line[3 : line.index("`", 3)].removesuffix("/")
            current = [line[line.index("`", 3) + 1 :]]
            entries.setdefault(unit, []).append("")
        elif line.startswith("  ") and current is not None:
            current.append(line)
        else:
            current = None
        if current is not None:
            entries[unit][-1] = "\n".join(current)
    return entries


def _backticked(text: str) -> set[str]:
    return set(text.split("`")[1::2])


def test_every_module_is_named_in_the_module_map() -> None:
    entries = _module_map()
    twice = sorted(unit for unit, texts in entries.items() if len(texts) > 1)
    assert not twice, f"units with more than one entry in the module map: {twice}"
    missing = []
    for path in _modules():
        rel = path.relative_to(PKG)
        if rel.name in {"__init__.py", "__main__.py"}:
            continue
        unit = _unit(path)
        if unit not in entries:
            missing.append(f"harness/{rel.as_posix()} (no entry `{unit}`)")
        elif len(rel.parts) > 1:
            inside = rel.relative_to(rel.parts[0]).with_suffix("").as_posix()
            if inside not in _backticked(entries[unit][0]):
                missing.append(f"harness/{rel.as_posix()} (name `{inside}` in the entry of `{unit}/`)")
    assert not missing, "not in ARCHITECTURE.md's module map:\n" + "\n".join(missing)
    stale = sorted(set(entries) - {_unit(p) for p in _modules()})
    assert not stale, f"module map entries with no module under harness/: {stale}"


def test_layer_table_names_every_unit_once_with_its_layer() -> None:
    seen: dict[str, list[float]] = {}
    for line in _section("Layers").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0] or not cells[0][0].isdigit():
            continue
        layer = float(cells[0].replace("½", ".5"))
        for name in _backticked(cells[1]):
            seen.setdefault(name.removesuffix("/"), []).append(layer)
    expected = {unit: [layer] for unit, layer in LAYERS.items()}
    assert seen == expected, (
        f"layer table vs LAYERS: missing {sorted(expected.keys() - seen.keys())}, "
        f"extra {sorted(seen.keys() - expected.keys())}, "
        f"different {sorted(u for u in seen.keys() & expected.keys() if seen[u] != expected[u])}"
    )


def test_owner_table_names_every_owner_once() -> None:
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in _section("One owner").splitlines()
        if line.startswith("| ") and not line.startswith("| library")
    ]
    libraries = [row[0] for row in rows]
    assert len(libraries) == len(set(libraries)), f"owner table rows repeated: {libraries}"
    named = set().union(*(_backticked(row[1]) for row in rows))
    owners = {o for v in OWNERS.values() for o in ((v,) if isinstance(v, str) else v) if not o.startswith("cli/")}
    missing = sorted(owners - named)
    assert not missing, f"owner modules not in ARCHITECTURE.md's owner table: {missing}"
    assert "cli/*.py" in named
