"""sdhci-emu: the SDHCI host side (register map, controller model, driver ports, runners, reports)."""
