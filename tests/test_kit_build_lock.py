"""One simulation at a time per build directory: a second process waits for the first, and says so."""
from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path

from sdhci.kit.sim import build_lock

# A second process takes the lock, stamps the time it got it, and releases it.
_SECOND = """
import sys, time
from pathlib import Path
from sdhci.kit.sim import build_lock
with build_lock(Path(sys.argv[1])):
    print(time.monotonic(), flush=True)
"""


def test_a_second_process_waits_until_the_first_releases(tmp_path) -> None:
    build_dir = tmp_path / "sim_build" / "dut-icarus"
    with build_lock(build_dir):
        second = subprocess.Popen([sys.executable, "-c", _SECOND, str(build_dir)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([second.stderr], [], [], 60)      # it says it waits, then blocks
        said = second.stderr.readline() if ready else ""
        time.sleep(0.2)
        assert second.poll() is None                                  # still waiting
        released = time.monotonic()
    out, _ = second.communicate(timeout=30)
    assert said == f"waiting for another simulation in {build_dir} to finish\n"
    assert second.returncode == 0 and float(out) >= released        # the lock came only after this one let go


def test_the_lock_is_reentrant_in_one_process_and_lives_beside_the_directory(tmp_path) -> None:
    build_dir = tmp_path / "sim_build" / "dut-icarus"
    with build_lock(build_dir):
        with build_lock(build_dir):             # compare_dut holds it around run_bench, which takes it again
            pass
    assert (tmp_path / "sim_build" / "dut-icarus.lock").is_file()
    assert not build_dir.exists()               # the lock does not create (or depend on) the build directory
