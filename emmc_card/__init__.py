"""eMMC card model: protocol, registers, state machine, timing and storage."""
from emmc_card.card import EmmcCard
from emmc_card.config import CardConfig, CardTiming, CidFields, InjectedStall, TimeDistribution
from emmc_card.crc import crc7, crc16
from emmc_card.presets import PRESETS, card_preset
from emmc_card.program import PowerCutReport
from emmc_card.protocol import CardState, CardStatus, ProtocolError, ResponseType
from emmc_card.storage import ImageStorage, MemoryStorage, Storage

__all__ = [
    "EmmcCard", "CardConfig", "CardTiming", "CidFields", "InjectedStall", "TimeDistribution",
    "crc7", "crc16", "PRESETS", "card_preset", "PowerCutReport",
    "CardState", "CardStatus", "ProtocolError", "ResponseType",
    "ImageStorage", "MemoryStorage", "Storage",
]
