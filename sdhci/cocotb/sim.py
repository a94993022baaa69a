"""Build and run one cocotb bench on Icarus Verilog from pytest or a script.

Each bench gets its own build directory under sim_build/ so parallel pytest
workers never share a compiled design; WAVES=1 (environment) compiles in the
dump module and writes the FST into waves/<bench>.fst.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

from cocotb_tools.runner import get_runner

from sdhci.cocotb.results import missing_modules

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "tests" / "cocotb"
RTL_DIR = ROOT / "rtl_model"
WAVES_DIR = ROOT / "waves"
TIMESCALE = ("1ns", "1ps")      # ps precision: the kit's times are integer ps


def waves_enabled() -> bool:
    return os.environ.get("WAVES", "0") not in ("", "0")


def rtl_sources() -> list[Path]:
    """The controller's Verilog files (everything in rtl_model/)."""
    return sorted(RTL_DIR.glob("*.v"))


def run_bench(name: str, toplevel: str, sources: Sequence[Path], test_module: str,
              testcase: str | Sequence[str] | None = None,
              parameters: Mapping[str, object] | None = None,
              extra_env: Mapping[str, str] | None = None) -> Path:
    """Compile `sources` and run the cocotb tests of `test_module` (a module in tests/cocotb/).

    Returns the results XML path; under pytest a failing cocotb test fails the
    calling test (cocotb_tools.runner checks the results file), and a module
    that ran no test raises RuntimeError.
    """
    waves = waves_enabled()
    build_dir = ROOT / "sim_build" / (f"{name}-waves" if waves else name)
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))       # the runner exports sys.path as PYTHONPATH
    runner = get_runner("icarus")
    runner.build(sources=list(sources), hdl_toplevel=toplevel, build_dir=build_dir,
                 includes=[RTL_DIR], parameters=dict(parameters or {}),
                 timescale=TIMESCALE, waves=waves)
    plusargs = []
    if waves:
        WAVES_DIR.mkdir(exist_ok=True)
        plusargs.append(f"+dumpfile_path={WAVES_DIR / (name + '.fst')}")
    results = runner.test(test_module=test_module, hdl_toplevel=toplevel, testcase=testcase,
                          build_dir=build_dir, test_dir=build_dir, waves=waves,
                          plusargs=plusargs, extra_env=dict(extra_env or {}))
    if missing_modules(Path(results), [test_module]):
        raise RuntimeError(f"cocotb module {test_module} ran no test")
    return results
