"""Wire-level diagnosis on hand-made wire records and register logs (no simulator).

Times are in ps; one SD clock is 20 ns. Each case builds what the BFM would have
recorded and what the driver would have read, with the expected sentence.
"""
from __future__ import annotations

import struct

from emmc_card.crc import crc7
from sdhci import regmap as rm
from sdhci.driver.ops import MemRead, Poll, PollResult, Read, ReadBurst, Write
from sdhci.driver.runner import OpRecord
from sdhci.kit.bfm import BusRecord, response_check
from sdhci.kit.diagnosis import card_status_names, diagnose, errno_names, status_names

P = 20_000


def cmd_write(index: int, t: int) -> OpRecord:
    return OpRecord(Write(rm.SDHCI_COMMAND, 16, index << 8), t, t + 60_000, None)


def status_poll(value: int, start: int, end: int) -> OpRecord:
    return OpRecord(Poll(rm.SDHCI_INT_STATUS, 32, 0xFFFF_FFFF, 0, interval_ns=1000, timeout_ns=10**7, negate=True),
                    start, end, PollResult(value, 1, False))


def r2(cid: bytes) -> bytes:
    """A correct R2 (CID in bits 127:1 with its CRC7), as the card sends it."""
    return bytes([0x3F]) + cid[:15] + bytes([(crc7(cid[:15]) << 1) | 1])


def test_names() -> None:
    assert status_names(0x00028001) == "Command Complete | Error Interrupt | Command CRC Error"
    assert errno_names("CMD9 (arg 0x00010000) failed with -84") == "CMD9 (arg 0x00010000) failed with -84 (EILSEQ)"
    # R1 card status (JESD84-B51 device status): CURRENT_STATE in 12:9, the rest bit by bit
    assert card_status_names(0x0000_0900) == "CURRENT_STATE tran | READY_FOR_DATA"
    assert card_status_names(0x8000_0E00) == "CURRENT_STATE prg | ADDRESS_OUT_OF_RANGE"
    assert card_status_names(0x0040_0080 | 15 << 9) == "CURRENT_STATE 15 | SWITCH_ERROR | ILLEGAL_COMMAND"


def test_crc_error_on_a_correct_r2_is_a_controller_defect() -> None:
    resp = r2(bytes(range(1, 17)))
    check = response_check(9, resp)
    assert check["crc7_ok"] and check["length"] == 136
    records = [BusRecord("command", 1_000_000, 1_000_000 + 48 * P, 9, {"argument": 0x10000}),
               BusRecord("response", 1_000_000 + 53 * P, 1_000_000 + 189 * P, 9, check)]
    log = [cmd_write(9, 900_000), status_poll(0x00028001, 960_000, 1_000_000 + 190 * P)]
    found = diagnose(records, log, "CardInitError: CMD9 (arg 0x00010000) failed with -84")
    assert found[0] == "driver: CardInitError: CMD9 (arg 0x00010000) failed with -84 (EILSEQ)"
    assert found[1] == (f"controller reported Command CRC Error on CMD9 at 4.800 us (Interrupt Status 0x00028001: "
                        f"Command Complete | Error Interrupt | Command CRC Error), but the R2 on the wire "
                        f"(2.060 us to 4.780 us) carried a correct CRC7 (0x{check['crc7']:02X}): controller defect")


def test_crc_error_on_a_bad_crc_is_the_controller_doing_its_job() -> None:
    resp = bytearray(r2(bytes(range(1, 17))))
    resp[16] ^= 0x02                                 # one CRC7 bit flipped on the wire
    records = [BusRecord("command", 1_000_000, 1_000_000 + 48 * P, 9, {}),
               BusRecord("response", 1_000_000 + 53 * P, 1_000_000 + 189 * P, 9, response_check(9, bytes(resp)))]
    assert diagnose(records, [cmd_write(9, 900_000), status_poll(0x00028001, 960_000, 5_000_000)]) == []


def test_transfer_complete_while_dat0_busy() -> None:
    records = [BusRecord("command", 0, 48 * P, 25, {}), BusRecord("crc_status", 1_000_000, 1_100_000, 25, {}),
               BusRecord("busy", 1_100_000, 6_100_000)]
    log = [cmd_write(25, 0), status_poll(rm.SDHCI_INT_DATA_END, 1_100_000, 1_200_000)]
    assert diagnose(records, log) == [
        "Transfer Complete at 1.200 us (Interrupt Status 0x00000002: Transfer Complete) while DAT0 was still busy "
        "until 6.100 us (busy since 1.100 us after the CRC status of a CMD25 block): controller defect"]
    # after the busy ended it is what a correct controller does
    assert diagnose(records, [cmd_write(25, 0), status_poll(rm.SDHCI_INT_DATA_END, 6_100_000, 6_200_000)]) == []


def test_transfer_complete_before_the_r1b_response_ended() -> None:
    records = [BusRecord("command", 0, 48 * P, 6, {}), BusRecord("response", 50 * P, 98 * P, 6, {}),
               BusRecord("busy", 98 * P, 1_000 * P)]
    log = [cmd_write(6, 0), status_poll(rm.SDHCI_INT_DATA_END, 49 * P, 60 * P)]
    assert diagnose(records, log) == [
        "Transfer Complete at 1.200 us (Interrupt Status 0x00000002: Transfer Complete), before the CMD6 R1b "
        "response ended (1.960 us); the card then held DAT0 busy until 20.000 us: controller defect"]


def test_transfer_complete_not_cleared_is_not_blamed_twice() -> None:
    # The driver saw it, did not clear it (no W1C write), and sees it again during a later busy.
    records = [BusRecord("command", 0, 48 * P, 25, {}), BusRecord("busy", 2_000_000, 3_000_000)]
    log = [cmd_write(25, 0), status_poll(rm.SDHCI_INT_DATA_END, 1_000_000, 1_100_000),
           status_poll(rm.SDHCI_INT_DATA_END, 2_100_000, 2_200_000)]
    assert diagnose(records, log) == []
    cleared = log[:2] + [OpRecord(Write(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_DATA_END), 1_200_000, 1_260_000, None),
                         log[2]]
    assert len(diagnose(records, cleared)) == 1


def test_stale_buffer_data_port_word() -> None:
    data = bytes(range(256)) * 2
    words = list(struct.unpack("<128I", data))
    stale = words[:5] + [words[4]] + words[6:]          # word 5 read as word 4 again
    records = [BusRecord("command", 0, 48 * P, 8, {}),
               BusRecord("data", 60 * P, 590 * P, 8, {"block": 0, "direction": "read", "data": data, "crcs": ()})]
    log = [cmd_write(8, 0), OpRecord(ReadBurst(rm.SDHCI_BUFFER, 128), 600 * P, 600 * P + 128 * 60_000, stale)]
    assert diagnose(records, log) == [
        f"Buffer Data Port read returned 0x{words[4]:08X} at 12.300 us, but the card sent 0x{words[5]:08X} "
        "(EXT_CSD: block 0 of CMD8, word 5; 1 of 128 words wrong): controller defect"]
    log[1] = OpRecord(ReadBurst(rm.SDHCI_BUFFER, 128), 600 * P, 600 * P + 128 * 60_000, words)
    assert diagnose(records, log) == []


def test_stale_dma_word_in_host_memory() -> None:
    # A two-block CMD18 by ADMA2: the driver loads the 1024 bytes from host memory after Transfer
    # Complete; the controller's master stored word 3 of the second block as word 2 again.
    blocks = [bytes(range(256)) * 2, bytes(range(255, -1, -1)) * 2]
    records = [BusRecord("command", 0, 48 * P, 18, {})] + [
        BusRecord("data", (60 + 540 * k) * P, (590 + 540 * k) * P, 18,
                  {"block": k, "direction": "read", "data": blocks[k], "crcs": ()}) for k in range(2)]
    stored = bytearray(b"".join(blocks))
    stored[512 + 12:512 + 16] = stored[512 + 8:512 + 12]
    log = [cmd_write(18, 0), OpRecord(MemRead(0x8010_0000, 1024), 1200 * P, 1200 * P, bytes(stored))]
    word2, word3 = (struct.unpack_from("<I", blocks[1], 4 * i)[0] for i in (2, 3))
    assert diagnose(records, log) == [
        f"DMA read data in host memory at 0x8010020C was 0x{word2:08X} when the driver loaded it at 24.000 us, "
        f"but the card sent 0x{word3:08X} (data: block 1 of CMD18, word 3; 1 of 256 words wrong): controller defect"]
    log[1] = OpRecord(MemRead(0x8010_0000, 1024), 1200 * P, 1200 * P, b"".join(blocks))
    assert diagnose(records, log) == []


def test_response_register_against_the_wire() -> None:
    status = 0x0000_0900                              # tran, READY_FOR_DATA
    token = bytes([13]) + status.to_bytes(4, "big")
    resp = token + bytes([(crc7(token) << 1) | 1])
    records = [BusRecord("command", 0, 48 * P, 13, {}), BusRecord("response", 50 * P, 98 * P, 13, response_check(13, resp))]
    good = [cmd_write(13, 0), OpRecord(Read(rm.SDHCI_RESPONSE, 32), 100 * P, 103 * P, status)]
    assert diagnose(records, good) == []
    bad = [cmd_write(13, 0), OpRecord(Read(rm.SDHCI_RESPONSE, 32), 100 * P, 103 * P, 0x0000_0B00)]
    assert diagnose(records, bad) == [
        "Response register 0x10 read 0x00000B00 (CURRENT_STATE data | READY_FOR_DATA) at 2.000 us after CMD13, "
        "but the card sent 0x00000900 (CURRENT_STATE tran | READY_FOR_DATA) there (card status, response at "
        "1.000 us): controller defect"]
