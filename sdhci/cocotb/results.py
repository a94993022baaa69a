"""How many tests of each cocotb test module ran, read from a cocotb results file.

cocotb only warns when a module it was told to run defines no test (for
example when another module of the same name shadows it on sys.path) and
then reports success for the rest. A green that ran nothing is a red: the
bench flows (tests/cocotb/Makefile, `run_bench`) check every listed module
with `missing_modules` and fail when one yielded no test.

    python -m sdhci.cocotb.results results.xml mod_a,mod_b   # exit 1 when one ran no test
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence
from xml.etree import ElementTree


def tests_per_module(results_xml: Path) -> Counter[str]:
    """Test cases per module (JUnit classname) in a cocotb results file."""
    root = ElementTree.parse(results_xml).getroot()
    return Counter(case.get("classname", "") for case in root.iter("testcase"))


def missing_modules(results_xml: Path, modules: Iterable[str]) -> list[str]:
    """The listed modules of which no test case is in the results file."""
    ran = tests_per_module(results_xml)
    return [m for m in modules if ran[m] == 0]


def main(argv: Sequence[str] | None = None) -> int:
    """Check a results file against a comma-separated module list; 1 if a module ran no test."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m sdhci.cocotb.results RESULTS.xml MODULE[,MODULE...]", file=sys.stderr)
        return 2
    path, modules = Path(args[0]), [m for m in args[1].replace(" ", ",").split(",") if m]
    if not path.is_file():
        print(f"cocotb results: {path} was not written by the simulation", file=sys.stderr)
        return 1
    ran = tests_per_module(path)
    missing = missing_modules(path, modules)
    for module in missing:
        print(f"cocotb results: module {module} ran no test (no @cocotb.test found in it, or another "
              f"module of the same name shadows it on sys.path)", file=sys.stderr)
    print(f"cocotb results: {sum(ran[m] for m in modules)} tests from {len(modules) - len(missing)} "
          f"of {len(modules)} listed modules")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
