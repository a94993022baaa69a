"""The SDHCI host controller model (register level, cycle-approximate timing)."""
from sdhci.controller.config import Capabilities, ControllerConfig, Fault, Latencies
from sdhci.controller.controller import SdhciController
from sdhci.controller.presets import PRESETS, controller_preset

__all__ = ["SdhciController", "ControllerConfig", "Capabilities", "Latencies", "Fault",
           "PRESETS", "controller_preset"]
