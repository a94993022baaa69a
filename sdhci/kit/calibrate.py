"""Calibration: fit the model's controller latencies to one RTL run of the scenario.

The RTL run is recorded once (its Side: the phase samples of the record's
write, commands, image). The model is cheap (a few hundredths of a second per
scenario), so the fit runs the model again and again against that one
recording: coordinate descent over the latencies the scoreboard can see,
each over a small grid in the DUT's clock or SD clock cycles, minimising the
per-phase deviations. What it fits:

- command issue (Command register write -> start bit, SD clocks);
- response to Command Complete, busy end to Transfer Complete, buffer free
  to Buffer Write Ready (clk cycles; visible through the driver's polls);
- PIO block start (last Buffer Data Port write -> block may go out, clk);
- NWR the controller keeps before write data (SD clocks);
- the PIO buffer's depth in blocks;
- by DMA: a block between host memory and the buffer, an ADMA2 descriptor
  fetch, an SDMA resume after the address write (clk cycles).

The register access cost is not fitted: the bench measures it on the DUT's
bus (sdhci.kit.autoconfig.measure_access).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from emmc_card.configtools import to_dict
from sdhci.config import EmulatorConfig
from sdhci.kit.scoreboard import Side, compare_sides, model_side


@dataclass(frozen=True)
class Knob:
    """One fitted parameter: a Latencies field (or buffer_blocks) and its candidate values."""

    name: str
    values: tuple[int, ...]


def knobs(clk_ps: int, dma: bool = False) -> list[Knob]:
    """The fitted parameters; the DMA ones only when the run moved its data by DMA."""
    clks = tuple(k * clk_ps for k in range(0, 9))
    dma_knobs = [
        Knob("dma_block_ps", tuple(k * clk_ps for k in range(0, 257, 2))),    # 512 bytes: 128 beats of 32 bits
        Knob("dma_descriptor_fetch_ps", tuple(k * clk_ps for k in range(0, 17))),
        Knob("sdma_resume_ps", clks),
    ] if dma else []
    return dma_knobs + [
        Knob("command_issue_cycles", tuple(range(0, 9))),
        Knob("pio_block_start_ps", clks),
        Knob("write_gap_cycles", (2, 3, 4)),
        Knob("response_status_ps", clks[:5]),
        Knob("busy_status_ps", clks[:5]),
        Knob("buffer_ready_ps", clks[:5]),
        Knob("buffer_blocks", (1, 2, 4)),
    ]


def _with(config: EmulatorConfig, name: str, value: int) -> EmulatorConfig:
    controller = config.controller
    if name == "buffer_blocks":
        controller = replace(controller, buffer_blocks=value)
    else:
        controller = replace(controller, latencies=replace(controller.latencies, **{name: value}))
    return replace(config, controller=controller)


def cost(model: Side, rtl: Side, period_ps: int) -> float:
    """Lower is better: the worst and the mean deviation of every phase, in SD clocks, plus
    a heavy penalty for a different structure, command list or image, and a light one
    for the panic write's total time."""
    result = compare_sides(model, rtl, period_ps)
    penalty = 1000.0 * (len(result.structure_errors) + (not result.commands_equal) + (not result.image_equal))
    spread = 0.0
    for phase, samples in rtl.samples.items():
        pairs = list(zip(model.samples.get(phase, []), samples))
        if pairs:
            spread += sum(abs(m.ps - r.ps) for m, r in pairs) / len(pairs) / period_ps
    worst = sum(row.max_deviation for row in result.rows)
    return penalty + worst + spread + abs(model.total_ps - rtl.total_ps) / period_ps / 100


def fit(config: EmulatorConfig, rtl: Side, period_ps: int, clk_ps: int, passes: int = 2,
        run_model: Callable[[EmulatorConfig], Side] | None = None, dma: bool = False) -> tuple[EmulatorConfig, float]:
    """The config whose controller latencies reproduce `rtl` best, and its cost (`dma`: the run
    moved its data by SDMA or ADMA2, so the DMA latencies are fitted too)."""
    run_model = run_model or (lambda c: model_side(c)[0])
    best = config
    best_cost = cost(run_model(best), rtl, period_ps)
    for _ in range(passes):
        for knob in knobs(clk_ps, dma):
            for value in knob.values:
                candidate = _with(best, knob.name, value)
                try:
                    candidate.validate()
                except ValueError:
                    continue
                c = cost(run_model(candidate), rtl, period_ps)
                if c < best_cost - 1e-9:
                    best, best_cost = candidate, c
    return best, best_cost


def preset_document(config: EmulatorConfig, comment: str) -> dict[str, Any]:
    """The preset file's tables: [controller] (for --controller FILE.toml) and [platform]."""
    return {"comment": comment, "controller": to_dict(config.controller), "platform": to_dict(config.platform)}
