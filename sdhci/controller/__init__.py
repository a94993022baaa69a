"""The SDHCI host controller model (register level, cycle-approximate timing)."""
from sdhci.controller.config import (PRESETS, Capabilities, ControllerConfig, Fault, Latencies,
                                     controller_preset)
from sdhci.controller.controller import SdhciController

__all__ = ["SdhciController", "ControllerConfig", "Capabilities", "Latencies", "Fault",
           "PRESETS", "controller_preset"]
