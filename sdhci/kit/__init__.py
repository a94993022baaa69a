"""The verification kit: the project's driver against an SDHCI controller's RTL under cocotb.

Installed with `pip install 'sdhci-emu[kit]'`; the emulator itself never
imports it (only `sdhci-emu rtl ...` does). A DUT is described once
(`dut`: DUT.toml), driven through a bus adapter (`adapters`) by the async
runner (`runner`), with the eMMC card on its SD pins (`bfm`), set up by
`env`; `scenario` and `scoreboard` compare it with the Python model,
`autoconfig` builds that model from the DUT's registers, `calibrate` fits
its latencies, `diagnosis` reads the wire. `compare` and `cli` run it all;
`sim` and `verilator` build with Icarus or Verilator. docs/kit.md lists
the API class by class.
"""
