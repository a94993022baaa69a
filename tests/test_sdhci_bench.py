"""The controller benchmark runs and reports a simulated time no shorter than the bus framing."""
from __future__ import annotations

from sdhci import bench_controller


def test_bench_runs(capsys) -> None:
    assert bench_controller.main(["--runs", "1", "--blocks", "4"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["pio", "sdma", "adma"]
    wall, cpu, sim_ps = bench_controller.run("adma", 4)
    # 8-bit SDR at 50 MHz (20 000 ps): each block is 1 + 512 + 16 + 1 = 530 clocks on DAT
    assert sim_ps > 4 * 530 * 20_000 and wall > 0 and cpu > 0
