"""Driver side, sans-IO: mmc core, SDHCI host driver, mmcpstore port, runners."""
