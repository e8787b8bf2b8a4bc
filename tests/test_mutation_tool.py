"""tools/mutation.py: how it prepares a module for mutmut, reads the results and scores them.

The mutation runs themselves take minutes (`python tools/mutation.py --module NAME`); these tests cover
the script's own logic on made-up inputs, without mutmut.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_tool"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_listed_module_and_test_file_exists(tool: ModuleType) -> None:
    for module in tool.MODULES.values():
        assert (ROOT / module.source).is_file(), module.source
        assert module.tests and all((ROOT / t).is_file() for t in module.tests), module.name
    assert {"checks.money", "verdict", "masking", "gate", "evidence", "certify", "checkdigit", "runner.evaluate",
            "runner.engine-2601", "transport", "platform.calc", "platform.settling", "platform.rules"} <= set(
        tool.MODULES)


def test_a_module_is_selected_whole_or_by_function(tool: ModuleType) -> None:
    assert tool.MODULES["gate"].globs == ["harness.reporting.gate.*"]
    assert tool.MODULES["transport"].globs == ["harness.transport.errors.x__network_error__mutmut_*",
                                               "harness.transport.errors.x__tls_error__mutmut_*"]


def test_decorated_functions_are_decorated_after_their_definition(tool: ModuleType) -> None:
    source = '''"""doc"""


@check("a.b", "R-A")
def first(x):
    return x + 1


@outer
@inner(2)
async def second():
    pass


class K:
    @property
    def p(self):
        return 1
'''
    changed = tool.undecorate(source)
    assert changed == '''"""doc"""


def first(x):
    return x + 1
first = (check("a.b", "R-A"))(first)


async def second():
    pass
second = (outer)((inner(2))(second))


class K:
    @property
    def p(self):
        return 1
'''
    namespace: dict = {"check": lambda *a: (lambda f: (a, f(1))), "outer": lambda f: ("outer", f),
                       "inner": lambda n: (lambda f: ("inner", n))}
    exec(compile(changed, "<undecorated>", "exec"), namespace)
    assert namespace["first"] == (("a.b", "R-A"), 2) and namespace["second"] == ("outer", ("inner", 2))


def test_equivalent_mutants_are_read_with_their_reason(tool: ModuleType, tmp_path: Path) -> None:
    notes = tmp_path / "survivors.md"
    notes.write_text("# survivors\n\nprose - `not.a.mutant` is ignored\n"
                     "- `harness.m.x_f__mutmut_3`: same behaviour: the length was checked before\n"
                     "  - `harness.m.x_g__mutmut_1` : codec names ignore case\n", encoding="utf-8")
    assert tool.equivalent_mutants(notes) == {
        "harness.m.x_f__mutmut_3": "same behaviour: the length was checked before",
        "harness.m.x_g__mutmut_1": "codec names ignore case"}
    assert tool.equivalent_mutants(tmp_path / "absent.md") == {}


def test_results_are_scored_per_status(tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tool, "WORK", tmp_path)
    module = tool.Module("m", "harness/m.py", ("tests/test_m.py",), functions=("x_f__mutmut_*", "x_g__mutmut_*"))
    assert tool.collect(module, {}) is None
    meta = tmp_path / "m" / "mutants" / "harness" / "m.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"harness.m.x_f__mutmut_1": 1, "harness.m.x_f__mutmut_2": 0, "harness.m.x_f__mutmut_3": 0,
             "harness.m.x_f__mutmut_4": 36, "harness.m.x_g__mutmut_1": 33, "harness.m.x_g__mutmut_2": 3,
             "harness.m.x_g__mutmut_3": None, "harness.m.x_h__mutmut_1": 0}
    meta.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")
    (tmp_path / "m" / "seconds").write_text("12.5\n", encoding="utf-8")
    score = tool.collect(module, {"harness.m.x_f__mutmut_3": "equivalent"})
    assert score.as_dict() == {
        "module": "m", "mutants": 7, "killed": 2, "timeout": 1, "survived": 1, "no_tests": 1, "equivalent": 1,
        "other": 1, "score": 0.5, "seconds": 12.5,
        "survivors": ["harness.m.x_f__mutmut_2", "harness.m.x_g__mutmut_1", "harness.m.x_g__mutmut_3"]}
    table = tool.table([score]).splitlines()
    assert table[0].split() == ["module", "mutants", "killed", "timeout", "survived", "no", "tests", "equivalent",
                                "score", "seconds"]
    assert table[2].split() == ["m", "7", "2", "1", "2", "1", "1", "50.0%", "12"]
    assert table[4].split() == ["overall", "7", "2", "1", "2", "1", "1", "50.0%", "12"]


def test_the_script_lists_its_modules() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "mutation.py"), "--list", "--module", "gate"],
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "gate: harness/reporting/gate.py "
