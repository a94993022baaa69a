"""The kit as a user gets it: build the wheel, install it with the `kit` extra into a fresh
virtual environment outside the repository, and run a comparison against the packaged RTL
from an empty directory. Nothing may be written beside the installed files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode in (0, 1), f"{cmd}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


def test_wheel_installs_and_compares_from_an_empty_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)], tmp_path)
    wheel = next(dist.glob("sdhci_emu-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = Parser().parsestr(zf.read(next(n for n in names if n.endswith("METADATA"))).decode())
    # the RTL and the GTKWave files are package data; the BFM left emmc_card for the kit
    rtl = {f"sdhci/kit/rtl/{p.name}" for p in (ROOT / "rtl_model").glob("*.v*")}
    assert {"sdhci/kit/rtl/sdhci_dma.v", "sdhci/kit/rtl/sdhci_axi_master.v", "sdhci/kit/rtl/sdhci_crc.vh"} <= rtl
    assert rtl | {"sdhci/kit/waves/rtl.gtkw", "sdhci/kit/bfm.py", "sdhci/kit/host_memory.py"} <= names
    assert "emmc_card/bfm.py" not in names
    requires = meta.get_all("Requires-Dist")
    core = [r for r in requires if "extra ==" not in r]
    kit = [r for r in requires if 'extra == "kit"' in r]
    assert not [r for r in core if r.split(">")[0].split("=")[0].strip() in ("cocotb", "cocotbext-axi", "pytest", "numpy")]
    assert {r.split(">")[0].strip() for r in kit} >= {"cocotb", "cocotbext-axi"}

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    run([str(venv / "bin" / "pip"), "install", "-q", f"{wheel}[kit]"], tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = run([str(venv / "bin" / "python"), "-c", "import sdhci.kit, sys; print(sdhci.kit.__file__)"], work, env)
    installed = Path(where.stdout.strip()).parent
    assert installed.is_relative_to(venv)                    # the wheel's copy, not the checkout
    done = run([str(venv / "bin" / "sdhci-emu"), "rtl", "compare", "--json"], work, env)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["passed"], result["diagnosis"]
    assert result["image_identical"] and result["commands_identical"]
    assert result["transfer"] == "adma2"                      # sdhci.c's choice: the DMA RTL shipped too
    assert (work / "sim_build").is_dir()
    assert not list(installed.rglob("sim_build")) and not list(installed.rglob("results.xml"))
