"""`make sim` (tests/cocotb/Makefile, the cocotb Makefile flow) runs every test of every
listed bench module, and fails when a listed module yields none.

The expected counts come from the bench sources (their @cocotb.test
decorators), not from cocotb: a module shadowed by another of the same name
on sys.path would otherwise pass silently with none of its tests run.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ROOT / "tests" / "cocotb"


def listed_modules() -> list[str]:
    """COCOTB_TEST_MODULES as the Makefile sets it by default."""
    text = (BENCHES / "Makefile").read_text()
    match = re.search(r"^COCOTB_TEST_MODULES\s*\?=\s*(\S+)", text, re.M)
    assert match, "tests/cocotb/Makefile sets no default COCOTB_TEST_MODULES"
    return match.group(1).split(",")


def defined_tests(module: str) -> int:
    """Functions decorated with @cocotb.test (with or without arguments) in a bench module."""
    tree = ast.parse((BENCHES / f"{module}.py").read_text())
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ast.unparse(target) == "cocotb.test":
                    count += 1
    return count


def make_sim(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    results = tmp_path / "results.xml"
    return subprocess.run(["make", "-C", str(BENCHES), "sim", f"SIM_BUILD={tmp_path / 'build'}",
                           f"COCOTB_RESULTS_FILE={results}", *args],
                          capture_output=True, text=True, timeout=900, env=env)


def test_bench_module_names_are_unique_in_the_tree() -> None:
    benches = {p.stem for p in BENCHES.glob("*.py")}
    others = {p.stem for p in ROOT.rglob("*.py") if BENCHES not in p.parents and ".venv" not in p.parts}
    assert benches & others == set()


def test_make_sim_runs_every_test_the_listed_modules_define(tmp_path: Path) -> None:
    modules = listed_modules()
    expected = {m: defined_tests(m) for m in modules}
    assert all(expected.values()), expected
    done = make_sim(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cases = list(ElementTree.parse(tmp_path / "results.xml").getroot().iter("testcase"))
    ran = {m: sum(1 for c in cases if c.get("classname") == m) for m in modules}
    assert ran == expected
    assert not [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    total = sum(expected.values())
    assert f"{total} tests from {len(modules)} of {len(modules)} listed modules" in done.stdout


def test_make_sim_fails_when_a_listed_module_has_no_test(tmp_path: Path) -> None:
    (tmp_path / "bench_nothing_here.py").write_text('"""A bench module that defines no test."""\n')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = make_sim(tmp_path, "COCOTB_TEST_MODULES=bench_rtl_spec,bench_nothing_here", env=env)
    assert done.returncode != 0
    assert "module bench_nothing_here ran no test" in done.stderr
