"""The analysis layer's libraries stay in the analysis layer: the emulator and `sdhci-emu panic-write` need none
(numpy included: the core install has none)."""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAVY = {"pyarrow", "matplotlib", "dask", "distributed", "numpy"}


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_below_the_analysis_layer_imports_its_libraries() -> None:
    below = [p for package in ("sdhci", "emmc_card") for p in (ROOT / package).rglob("*.py")
             if "analysis" not in p.parts]
    assert len(below) > 40
    offenders = {str(p.relative_to(ROOT)): _imports(p) & HEAVY for p in below if _imports(p) & HEAVY}
    assert offenders == {}
    assert _imports(ROOT / "sdhci" / "analysis" / "table.py") >= {"pyarrow"}      # the check sees them


def test_starting_the_command_line_loads_none_of_them() -> None:
    code = "import sys, sdhci.cli; print(sorted({m.split('.')[0] for m in sys.modules} & %r))" % HEAVY
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
