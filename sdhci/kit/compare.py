"""Run the standard comparison on a DUT from Python (what `sdhci-emu rtl compare` does).

    from sdhci.kit.compare import compare_dut
    from sdhci.kit.dut import load_dut
    result = compare_dut(load_dut("DUT.toml"), simulator="verilator")
    assert result["passed"], result["diagnosis"]

It builds the DUT (`<work_dir>/sim_build/...`, the current directory by
default), runs the bench sdhci.kit.compare_bench in the simulator with a job
file, and returns the bench's result (see docs/kit.md for its keys).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sdhci.kit.dut import DutDescription
from sdhci.kit.sim import build_lock, run_dut

BENCH_MODULE = "sdhci.kit.compare_bench"
JOB_ENV = "SDHCI_KIT_JOB"          # the bench reads its job file from here


class CompareError(RuntimeError):
    """The bench could not produce a result (build failure, simulator crash); names the log."""


def _build_name(desc: DutDescription, simulator: str) -> str:
    """A build directory per distinct design: label plus a digest of sources, defines, parameters."""
    key = json.dumps([desc.toplevel, desc.sources, desc.includes, desc.defines, desc.parameters], sort_keys=True)
    return f"{desc.label}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def compare_dut(desc: DutDescription, *, simulator: str | None = None, transfer: str = "auto",
                preset: dict[str, Any] | None = None, calibrate: Path | None = None,
                bfm_timing: dict[str, int] | None = None, work_dir: Path | None = None) -> dict[str, Any]:
    """Compare the DUT with the model on the standard scenario; the result dict (also written to disk)."""
    simulator = simulator or desc.simulator
    base = Path(work_dir) if work_dir is not None else Path.cwd()
    name = _build_name(desc, simulator)
    job_dir = base / "sim_build" / f"{name}-{simulator}"
    with build_lock(job_dir):       # another compare of this design waits: the job files are shared
        job_dir.mkdir(parents=True, exist_ok=True)
        # one build per design; the job, result and log per kind of run, so that runs by other
        # transfer modes (or a calibration) keep theirs beside it
        run = f"{'calibrate' if calibrate else 'compare'}-{transfer}"
        output = job_dir / f"{run}.json"
        output.unlink(missing_ok=True)
        job = {"dut": desc.as_dict(), "simulator": simulator, "transfer": transfer, "preset": preset,
               "calibrate": str(Path(calibrate).resolve()) if calibrate else None, "bfm_timing": bfm_timing or {},
               "output": str(output)}
        job_file = job_dir / f"{run}-job.json"
        job_file.write_text(json.dumps(job, indent=2))
        log = job_dir / f"{run}.log"
        try:
            run_dut(desc, BENCH_MODULE, name=name, simulator=simulator, extra_env={JOB_ENV: str(job_file)},
                    work_dir=base, log_file=log)
        except SystemExit:
            pass                          # cocotb_tools reports a failed test this way; the result tells
        if not output.is_file():
            raise CompareError(f"the {simulator} run of {desc.label} produced no result; see {log}")
        result = json.loads(output.read_text())
    result["log"] = str(log)
    return result
