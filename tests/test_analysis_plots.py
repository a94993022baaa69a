"""Pictures: a sweep's distributions and loss fractions (sdhci-emu plot), and one run's timeline (--plot)."""
from __future__ import annotations

import os

import matplotlib.image
import pytest

from sdhci.analysis.timeline import pending_blocks
from sdhci.cli import main
from sdhci.config import load_config
from sdhci.emulation import run_panic_write


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "out"
    sweep = out.parent / "sweep.toml"
    sweep.write_text('[run.entry]\nbusy = "gc"\n[sweep]\nseeds = 12\n[sweep.grid]\n"run.enable_cache" = [true, false]\n'
                     '[sweep.random]\n"run.entry.busy_us" = { uniform = [0.0, 250000.0] }\n')
    assert main(["sweep", str(sweep), "--out", str(out), "-j", "1"]) == 0
    assert main(["plot", str(out)]) == 0
    return out / "plots"


def _svg(path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_picture_is_written_as_png_and_svg(swept) -> None:
    names = {"total_hist", "total_ecdf", "lost_vs_run.enable_cache", "lost_vs_run.entry.busy_us"}
    assert {p for p in os.listdir(swept)} == {f"{n}.{ext}" for n in names for ext in ("png", "svg")}
    for name in names:
        image = matplotlib.image.imread(swept / f"{name}.png")
        assert image.shape[0] > 200 and image.shape[1] > 400


def test_loss_pictures_carry_the_varied_parameter_on_their_axis(swept) -> None:
    grid = _svg(swept / "lost_vs_run.enable_cache.svg")
    assert "run.enable_cache" in grid and "fraction lost (95% Wilson interval)" in grid
    assert ">True<" in grid and ">False<" in grid                  # the two values as tick labels
    randomised = _svg(swept / "lost_vs_run.entry.busy_us.svg")
    assert "run.entry.busy_us (bins of equal counts)" in randomised
    assert "run.enable_cache=True" in randomised                   # one line per other grid value


def test_time_distributions_mark_the_poll_timeout(swept) -> None:
    for name in ("total_hist", "total_ecdf"):
        svg = _svg(swept / f"{name}.svg")
        assert "poll timeout 160 ms" in svg and "panic_write total time" in svg
        assert "run.enable_cache=True" in svg and "run.enable_cache=False" in svg


def test_timeline_of_one_run(tmp_path, capsys) -> None:
    picture = tmp_path / "timeline.svg"
    assert main(["panic-write", "--plot", str(picture)]) == 0
    assert "Verdict: LOST" in capsys.readouterr().out
    svg = _svg(picture)
    for text in ("CMD", "DAT", "DMA", "CPU registers", "card programming", "blocks not yet", "entry", "return",
                 "power cut", "CMD25", "CMD12"):
        assert text in svg, text


def test_pending_blocks_rise_with_each_cached_block_and_vanish_at_the_cut() -> None:
    result = run_panic_write(load_config(None, []))
    steps = pending_blocks(result)
    assert steps[0] == (result.entry_ps, 0)
    assert max(n for _, n in steps) == 128                         # every block acknowledged into the cache
    return_ps = result.entry_ps + result.total_ps
    assert [n for t, n in steps if t < return_ps][-1] == 128       # still there when panic_write returns
    assert steps[-1] == (result.power_cut_ps, 0)


def test_pending_blocks_without_cache_drain_before_return() -> None:
    result = run_panic_write(load_config(None, ["run.enable_cache=false",
                                                "card.timing.program={kind='fixed', value_us=100.0}"]))
    steps = pending_blocks(result)
    return_ps = result.entry_ps + result.total_ps
    # The card's write buffer holds 32 blocks while it programs: never more than 32 + the one arriving.
    assert max(n for _, n in steps) <= 33
    assert [n for t, n in steps if t <= return_ps][-1] == 0        # CMD12's busy waits for every block


def test_plot_needs_a_sweep_directory(tmp_path, capsys) -> None:
    assert main(["plot", str(tmp_path)]) == 2
    assert "holds no runs.parquet" in capsys.readouterr().err


def test_timeline_path_must_be_png_or_svg(tmp_path, capsys) -> None:
    assert main(["panic-write", "--plot", str(tmp_path / "t.jpeg")]) == 2
    assert "must end in .png or .svg" in capsys.readouterr().err
