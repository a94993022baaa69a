"""Render rtl_model/sdhci_regmap.vh from sdhci.regmap, the one register map.

Usage (from the repository root):
    .venv/bin/python rtl_model/gen_regmap.py          # rewrite the header
    .venv/bin/python rtl_model/gen_regmap.py --check  # exit 1 if it is stale

The HWInit values are those of the RTL: Host Controller Version v3.00 and the
Capabilities of sdhci_top with its default BASE_CLK_MHZ (the RTL computes
Capabilities from the parameter; the header documents the default).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sdhci import regmap  # noqa: E402

HEADER = Path(__file__).resolve().parent / "sdhci_regmap.vh"
DEFAULT_BASE_CLK_MHZ = 50


def rtl_capabilities(base_clk_mhz: int = DEFAULT_BASE_CLK_MHZ) -> int:
    """Capabilities (0x40) of sdhci_top: SDMA and ADMA2 (32-bit system bus), 8-bit
    bus, high speed, 3.3 V, 512-byte blocks, embedded slot, TMCLK = base clock in MHz."""
    if not 1 <= base_clk_mhz <= 63:
        raise ValueError(f"BASE_CLK_MHZ must be 1..63 (6-bit timeout clock field), not {base_clk_mhz}")
    caps = regmap.REGISTER_BY_NAME["CAPABILITIES"]
    values = {
        "TIMEOUT_CLOCK_FREQUENCY": base_clk_mhz,
        "TIMEOUT_CLOCK_UNIT": 1,            # MHz
        "BASE_CLOCK_FREQUENCY": base_clk_mhz,
        "MAX_BLOCK_LENGTH": 0,              # 512 bytes
        "SUPPORT_8BIT_EMBEDDED": 1,
        "ADMA2_SUPPORT": 1,
        "HIGH_SPEED_SUPPORT": 1,
        "SDMA_SUPPORT": 1,
        "VOLTAGE_SUPPORT_3V3": 1,
        "SLOT_TYPE": 1,                     # embedded slot for one device
    }
    return sum(v << caps.field(name).lsb for name, v in values.items())


def render() -> str:
    """The header text: sdhci.regmap's rendering with the RTL's HWInit values,
    plus the v3.00 writable-bit mask of every register (the RTL's write masks)."""
    text = regmap.render_verilog_header(hwinit={
        "CAPABILITIES": rtl_capabilities(),
        "HOST_CONTROLLER_VERSION": regmap.SDHCI_SPEC_300,
    })
    lines = ["// Writable (RW) bits of each register as a v3.00 controller presents them."]
    for reg in regmap.REGISTERS:
        mask = reg.mask(("RW",), regmap.SDHCI_SPEC_300)
        lines.append(f"localparam [{reg.width - 1}:0] SDHCI_{reg.name}_RW_V3 = "
                     f"{reg.width}'h{mask:0{reg.width // 4}X};")
    return text + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, exit 1 when stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = HEADER.read_text() if HEADER.exists() else ""
        if current != text:
            print(f"{HEADER} is stale: run rtl_model/gen_regmap.py", file=sys.stderr)
            return 1
        return 0
    HEADER.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
