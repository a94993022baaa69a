"""sdhci-emu sweep --scheduler: the same table on a two-worker Dask cluster as in one local process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from sdhci.analysis import table
from sdhci.cli import main

DASK = os.path.join(os.path.dirname(sys.executable), "dask")
ARGS = ["--grid", "patch=as-posted,checked", "--grid", "run.enable_cache=true,false",
        "--set", "run.stall_ms=200", "--seeds", "6"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded workers on 127.0.0.1, torn down afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--dashboard-address", ":0", "--no-show"], **quiet)]
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(2):
            processes.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny",
                                               "--no-dashboard", "--host", "127.0.0.1"], **quiet))
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):         # no nanny: each worker is the process itself
            process.kill()
            process.wait(timeout=20)


def _table(out) -> list[dict]:
    return pq.read_table(os.path.join(out, table.RUNS)).drop(["wall_ns"]).to_pylist()


def test_dask_cluster_gives_the_local_table(cluster, tmp_path) -> None:
    assert main(["sweep", "--out", str(tmp_path / "local"), *ARGS, "-j", "1"]) == 0
    assert main(["sweep", "--out", str(tmp_path / "dask"), *ARGS, "--scheduler", cluster]) == 0
    local, remote = _table(tmp_path / "local"), _table(tmp_path / "dask")
    assert len(local) == 24 and local == remote
    # The 200 ms stall outlasts the 160 ms poll: as-posted returns 0 (a silent loss, the record lost in the
    # cache or torn on the medium), checked returns -ETIMEDOUT.
    outcomes = {(r["patch"], r["run.enable_cache"], r["verdict"], r["returned"]) for r in local}
    assert outcomes == {("as-posted", True, "lost", 0), ("as-posted", False, "torn", 0),
                        ("checked", True, "error", -110), ("checked", False, "error", -110)}


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["sweep", "--out", str(out), "--seeds", "2", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no Dask scheduler answered" in err
    assert not (out / table.RUNS).exists()
