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
    "pytest": "pytest_plugin.py",
    "_pytest": "pytest_plugin.py",
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
