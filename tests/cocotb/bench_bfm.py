"""BFM self-test: a minimal host written in cocotb drives bare SD bus pins
(tests/cocotb/bfm_harness.v) and checks the eMMC BFM's answers and timing.

The host follows the same convention as the BFM and rtl_model: drive after
the falling edge, sample on the rising edge. Card timing is pinned (NCR 5,
NAC 3, CRC status delay 2, fixed busy times) so every count is exact.
"""
from __future__ import annotations

import random
from dataclasses import replace

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time

from emmc_card import EmmcCard, card_preset
from sdhci.kit.bfm import BfmFaults, EmmcBfm
from emmc_card.config import TimeDistribution
from emmc_card.crc import crc7, crc16_lines

PERIOD_PS = 100_000            # 10 MHz SD clock: the BFM measures it, any value works
NCR = 5
NID = 5
NAC = 3
RCA = 2
CMD1_RETRY_CELLS = 400       # host pause between CMD1 tries (40 us)
PROGRAM_US = 20.0              # busy after a block that goes to the medium (cache off)


def pinned_card(**timing: object) -> EmmcCard:
    """emmc51 with every random time fixed, short init busy and no cache use."""
    config = card_preset("emmc51")
    config = replace(config, timing=replace(
        config.timing, ncr_cycles_min=NCR, ncr_cycles_max=NCR, nid_cycles=NID,
        nac_cycles_min=NAC, nac_cycles_max=NAC, crc_status_delay_cycles=2,
        program=TimeDistribution(kind="fixed", value_us=PROGRAM_US),
        gc_stall_probability=0.0, init_busy_us=300.0, **timing))
    return EmmcCard(config)


class PinHost:
    """A tiny SD host on the harness pins (one bit per clock, SDR)."""

    def __init__(self, dut) -> None:
        self.dut = dut
        cocotb.start_soon(Clock(dut.sdclk, PERIOD_PS, unit="ps").start())

    async def idle(self, cycles: int) -> None:
        for _ in range(cycles):
            await self.dut.sdclk.falling_edge

    async def send_command(self, index: int, argument: int, *, bad_crc: bool = False) -> None:
        head = bytes([0x40 | index]) + argument.to_bytes(4, "big")
        crc = crc7(head) ^ (1 if bad_crc else 0)
        bits = int.from_bytes(head + bytes([(crc << 1) | 1]), "big")
        await self.dut.sdclk.falling_edge
        self.dut.cmd_oe.value = 1
        for shift in range(47, -1, -1):
            self.dut.cmd_o.value = (bits >> shift) & 1
            await self.dut.sdclk.falling_edge
        self.dut.cmd_oe.value = 0
        self.dut.cmd_o.value = 1

    async def response(self, nbits: int = 48, limit: int = 64) -> tuple[bytes | None, int]:
        """(response bytes, idle cells before its start bit); None after `limit` cells.

        Called at the falling edge that ends the command end bit: the k-th
        rising edge after it samples cell k, so a start bit seen at edge k
        means k - 1 idle cells.
        """
        for edge in range(1, limit + 2):
            await self.dut.sdclk.rising_edge
            if int(self.dut.cmd_i.value) == 0:
                break
        else:
            return None, limit
        bits = 0
        for _ in range(nbits - 1):
            await self.dut.sdclk.rising_edge
            bits = (bits << 1) | int(self.dut.cmd_i.value)
        return bits.to_bytes(nbits // 8, "big"), edge - 1

    async def command(self, index: int, argument: int, nbits: int = 48) -> tuple[bytes | None, int]:
        await self.send_command(index, argument)
        result = await self.response(nbits)
        await self.idle(8)                                    # NRC
        return result

    async def send_block(self, data: bytes, width: int, *, bad_crc: bool = False) -> None:
        """One write block on `width` lines, starting at the next falling edge."""
        crcs = list(crc16_lines(data, width))
        if bad_crc:
            crcs[0] ^= 0x8000
        mask = (1 << width) - 1
        if width == 8:
            cells = list(data)
        elif width == 4:
            cells = [nibble for byte in data for nibble in (byte >> 4, byte & 0xF)]
        else:
            cells = [(byte >> (7 - bit)) & 1 for byte in data for bit in range(8)]
        crc_cells = [sum(((crcs[line] >> bit) & 1) << line for line in range(width))
                     for bit in range(15, -1, -1)]
        await self.dut.sdclk.falling_edge
        self.dut.dat_oe.value = 1
        for cell in [0] + cells + crc_cells + [mask]:
            self.dut.dat_o.value = cell | (0xFF & ~mask)
            await self.dut.sdclk.falling_edge
        self.dut.dat_oe.value = 0
        self.dut.dat_o.value = 0xFF

    async def crc_status(self, limit: int = 16) -> tuple[int, int, int]:
        """(delay cells before the token, 3 status bits, busy cells after the end bit)."""
        for edge in range(1, limit + 2):
            await self.dut.sdclk.rising_edge
            if int(self.dut.dat_i.value) & 1 == 0:
                break
        else:
            raise AssertionError("no CRC status token")
        status = 0
        for _ in range(3):
            await self.dut.sdclk.rising_edge
            status = (status << 1) | (int(self.dut.dat_i.value) & 1)
        await self.dut.sdclk.rising_edge
        assert int(self.dut.dat_i.value) & 1 == 1, "CRC status end bit"
        busy = await self.busy_cells()
        return edge - 1, status, busy

    async def busy_cells(self, limit: int = 100_000) -> int:
        busy = 0
        while busy < limit:
            await self.dut.sdclk.rising_edge
            if int(self.dut.dat_i.value) & 1:
                return busy
            busy += 1
        raise AssertionError("busy never ends")

    async def read_block(self, width: int, limit: int = 64) -> tuple[bytes, tuple[int, ...], int]:
        """(data, CRC16 per line, idle cells before the start bit) of one read block."""
        for edge in range(1, limit + 2):
            await self.dut.sdclk.rising_edge
            if int(self.dut.dat_i.value) & 1 == 0:
                break
        else:
            raise AssertionError("no read data")
        cells = []
        for _ in range(512 * 8 // width + 16 + 1):
            await self.dut.sdclk.rising_edge
            cells.append(int(self.dut.dat_i.value))
        assert cells[-1] & ((1 << width) - 1) == (1 << width) - 1, "read end bit"
        if width == 8:
            data = bytes(cells[:512])
        elif width == 4:
            data = bytes(((a & 0xF) << 4) | (b & 0xF) for a, b in zip(cells[0:1024:2], cells[1:1024:2]))
        else:
            data = bytes(sum((cells[8 * i + b] & 1) << (7 - b) for b in range(8)) for i in range(512))
        crc_cells = cells[-17:-1]
        crcs = tuple(sum(((c >> line) & 1) << (15 - i) for i, c in enumerate(crc_cells)) for line in range(width))
        return data, crcs, edge - 1


async def start(dut, card: EmmcCard, faults: BfmFaults | None = None) -> tuple[PinHost, EmmcBfm]:
    bfm = EmmcBfm.from_dut(dut, card, faults=faults)
    bfm.start()
    host = PinHost(dut)
    await host.idle(80)                                     # power-up: 74 clocks before CMD0
    return host, bfm


def r1_status(response: bytes, index: int) -> int:
    assert response[0] == index, f"R1 index {response[0]} != {index}"
    assert response[5] == (crc7(response[:5]) << 1) | 1, "R1 CRC7 / end bit"
    return int.from_bytes(response[1:5], "big")


def on_medium(card: EmmcCard, sector: int, length: int) -> bytes:
    """Bytes on the medium now (the card commits programmed blocks lazily)."""
    card.state(int(get_sim_time("ps")))
    return card.storage.read(0, sector * 512, length)


def state_of(status: int) -> int:
    return (status >> 9) & 0xF


async def identify(host: PinHost) -> None:
    """CMD0, CMD1 until ready, CMD2, CMD3: the card ends in stby with RCA 2."""
    await host.send_command(0, 0)
    await host.idle(8)
    for _ in range(20):
        response, _ = await host.command(1, 0x40FF8080)
        if int.from_bytes(response[1:5], "big") >> 31:
            break
        await host.idle(CMD1_RETRY_CELLS)
    response, _ = await host.command(2, 0, nbits=136)
    response, _ = await host.command(3, RCA << 16)


@cocotb.test()
async def cmd0_cmd1_cmd13_tokens_and_timing(dut) -> None:
    card = pinned_card()
    host, bfm = await start(dut, card)

    await host.send_command(0, 0)
    response, _ = await host.response(limit=64)
    assert response is None, "CMD0 has no response"

    # CMD1 with the usual host OCR: R3 after NID cells; OCR bit 31 stays 0
    # during init_busy_us (300 us) then reads 0xC0FF8080 (sector mode card).
    ocrs = []
    for _ in range(20):
        response, gap = await host.command(1, 0x40FF8080)
        assert response is not None and gap == NID, f"CMD1 R3 after {gap} cells, expected NID {NID}"
        assert response[0] == 0x3F and response[5] == 0xFF, "R3: 0, 0, 111111 ... 1111111 1"
        ocrs.append(int.from_bytes(response[1:5], "big"))
        if ocrs[-1] >> 31:
            break
        await host.idle(CMD1_RETRY_CELLS)
    # busy answers carry the access mode already (0x40FF8080); ready ones bit 31
    assert ocrs[0] == 0x40FF8080 and ocrs[-1] == 0xC0FF8080, [hex(o) for o in ocrs]
    # ready after 300 us: each try is CMD1 48 + NID 5 + R3 48 + 8 + 400 idle
    # cells of 100 ns ~ 51 us, so the 6th or 7th try is the first ready one
    assert len(ocrs) in (6, 7), len(ocrs)

    response, gap = await host.command(2, 0, nbits=136)
    assert gap == NID and response[0] == 0x3F
    cid = response[1:]
    assert cid[15] == (crc7(cid[:15]) << 1) | 1, "CID CRC7"
    assert cid[0] == card.config.cid.mid

    response, gap = await host.command(3, RCA << 16)
    assert gap == NCR, f"CMD3 R1 after {gap} cells, expected NCR {NCR}"
    assert state_of(r1_status(response, 3)) == 2        # status of CMD3 shows ident

    response, gap = await host.command(13, RCA << 16)
    assert gap == NCR
    assert state_of(r1_status(response, 13)) == 3       # stby
    assert [r.cmd for r in bfm.records if r.kind == "command"] == [0] + [1] * len(ocrs) + [2, 3, 13]
    assert bfm.period_ps == PERIOD_PS
    bfm.assert_clean()


async def select_and_write(host: PinHost, sector: int, data: bytes, width: int,
                           bad_crc: bool = False) -> tuple[int, int, int]:
    response, _ = await host.command(24, sector)
    assert state_of(r1_status(response, 24)) == 4         # tran when CMD24 arrived
    await host.idle(2)                                      # NWR
    await host.send_block(data, width, bad_crc=bad_crc)
    return await host.crc_status()


@cocotb.test()
async def write_read_one_bit_bus(dut) -> None:
    card = pinned_card()
    host, bfm = await start(dut, card)
    await identify(host)
    response, _ = await host.command(7, RCA << 16)
    assert state_of(r1_status(response, 7)) == 3
    data = random.Random(1).randbytes(512)
    delay, status, busy = await select_and_write(host, 10, data, 1)
    assert (delay, status) == (2, 0b010)
    # busy: PROGRAM_US = 20 us = 200 cells of 100 ns; +-2 for edge alignment
    assert abs(busy - 200) <= 2, busy
    assert on_medium(card, 10, 512) == data

    await host.idle(8)
    await host.send_command(17, 10)
    # data may start while the response is still on CMD: sample DAT alongside
    reader = cocotb.start_soon(host.read_block(1))
    response, gap = await host.response()
    assert gap == NCR and state_of(r1_status(response, 17)) == 4
    read, crcs, nac = await reader
    assert read == data and crcs == crc16_lines(data, 1)
    assert nac == NAC, f"read start bit after {nac} cells, expected NAC {NAC}"
    bfm.assert_clean()


@cocotb.test()
async def write_read_four_and_eight_bit_bus(dut) -> None:
    card = pinned_card()
    host, bfm = await start(dut, card)
    await identify(host)
    await host.command(7, RCA << 16)
    for width, value in ((4, 1), (8, 2)):
        # CMD6 write byte: EXT_CSD[183] BUS_WIDTH = value; R1b busy
        response, _ = await host.command(6, (3 << 24) | (183 << 16) | (value << 8))
        r1_status(response, 6)
        await host.busy_cells()
        await host.idle(8)
        assert card.bus_width == width
        data = random.Random(width).randbytes(512)
        delay, status, _ = await select_and_write(host, 100 + width, data, width)
        assert (delay, status) == (2, 0b010)
        assert on_medium(card, 100 + width, 512) == data
        await host.idle(8)
        # read it back on the same width: data and the CRC16 of each line
        await host.send_command(17, 100 + width)
        reader = cocotb.start_soon(host.read_block(width))
        await host.response()
        read, crcs, nac = await reader
        assert read == data and crcs == crc16_lines(data, width) and nac == NAC
        await host.idle(8)
    assert [(r.detail["direction"], r.detail["width"]) for r in bfm.records if r.kind == "data"] == \
        [("write", 4), ("read", 4), ("write", 8), ("read", 8)]
    # the wire recorder keeps each block's bytes and per-line CRC16s as they crossed the pins
    last = [r for r in bfm.records if r.kind == "data"][-1]
    assert last.detail["data"] == data and last.detail["crcs"] == crc16_lines(data, 8)
    bfm.assert_clean()


@cocotb.test()
async def host_violations_are_reported(dut) -> None:
    card = pinned_card()
    host, bfm = await start(dut, card)
    await identify(host)
    await host.command(7, RCA << 16)

    # A block with a bad CRC16: the card answers 101 and the BFM records it.
    _, status, _ = await select_and_write(host, 20, bytes(512), 1, bad_crc=True)
    assert status == 0b101
    assert [v.code for v in bfm.violations] == ["data-crc"]
    response, _ = await host.command(12, 0)       # the card waits in rcv for a stop
    assert state_of(r1_status(response, 12)) == 6
    await host.busy_cells()

    # A command token with a wrong CRC7: no response, violation.
    await host.send_command(13, RCA << 16, bad_crc=True)
    response, _ = await host.response()
    assert response is None
    assert bfm.violations[-1].code == "cmd-crc"

    # CMD24 then write data only 1 clock after the response end: NWR violation.
    await host.idle(8)
    response, _ = await host.command(13, RCA << 16)     # clears COM_CRC_ERROR
    await host.send_command(24, 30)
    response, _ = await host.response()
    await host.send_block(bytes(512), 1)               # next falling edge: 0 idle cells
    _, status, _ = await host.crc_status()
    assert bfm.violations[-1].code == "nwr"

    # Write again and send CMD17 while the card is still busy.
    await host.idle(8)
    await host.send_command(24, 31)
    await host.response()
    await host.idle(2)
    await host.send_block(bytes(512), 1)
    for _ in range(6):                                 # token: 2 idle + 5 cells, then busy
        await host.dut.sdclk.falling_edge
    await host.send_command(17, 31)
    assert bfm.violations[-1].code == "cmd-while-busy"
    try:
        bfm.assert_clean()
    except AssertionError as err:
        assert "cmd-while-busy" in str(err)
    else:
        raise AssertionError("assert_clean must raise after violations")


@cocotb.test()
async def injected_faults(dut) -> None:
    card = pinned_card()
    faults = BfmFaults(drop_response={(13, 1)}, corrupt_write_crc={0})
    host, bfm = await start(dut, card, faults)
    await identify(host)
    await host.command(7, RCA << 16)
    response, _ = await host.command(13, RCA << 16)
    assert response is not None                       # occurrence 0 answered
    response, _ = await host.command(13, RCA << 16)
    assert response is None                           # occurrence 1 dropped
    _, status, _ = await select_and_write(host, 40, bytes(512), 1)
    assert status == 0b101                            # corrupted on the line
    assert bfm.violations == []                       # injected faults are not host errors


@cocotb.test()
async def contention_is_reported(dut) -> None:
    card = pinned_card()
    host, bfm = await start(dut, card)
    await identify(host)
    await host.command(7, RCA << 16)

    # The host turns its CMD driver on in the middle of the card's response.
    await host.send_command(13, RCA << 16)
    await host.idle(NCR + 10)                          # NCR idle cells, then 10 response bits
    dut.cmd_oe.value = 1
    await host.idle(2)
    dut.cmd_oe.value = 0
    await host.idle(100)
    assert [v.code for v in bfm.violations] == ["cmd-contention"]

    # The host drives DAT while the card holds DAT0 busy after a block.
    response, _ = await host.command(24, 50)
    await host.idle(2)
    await host.send_block(bytes(512), 1)
    await host.idle(2 + 5 + 10)                        # token delay, token, 10 busy cells
    dut.dat_oe.value = 1
    await host.idle(1)
    dut.dat_oe.value = 0
    assert [v.code for v in bfm.violations] == ["cmd-contention", "dat-contention"]


@cocotb.test()
async def read_multiple_stopped_by_cmd12(dut) -> None:
    card = pinned_card()
    host, bfm = await start(dut, card)
    await identify(host)
    await host.command(7, RCA << 16)               # the medium is blank (zeros): DAT0 reads 0 while driven

    await host.send_command(18, 200)
    reader = cocotb.start_soon(host.read_block(1))
    response, _ = await host.response()
    assert state_of(r1_status(response, 18)) == 4
    data, crcs, nac = await reader
    assert data == bytes(512) and crcs == (0,) and nac == NAC

    # Second block: NAC cells after the first block's end bit, then 0s. Stop
    # it with CMD12 halfway; the card drives NST = 2 more cells after the
    # CMD12 end bit, then releases DAT (the pull-up reads 1).
    await host.idle(NAC + 200)
    await host.send_command(12, 0)                 # returns at the end of CMD12's end bit
    low = 0
    while True:
        await dut.sdclk.rising_edge                # sample each following cell
        if int(dut.dat_i.value) & 1:
            break
        low += 1
    assert low == 2, f"card drove {low} cells after CMD12's end bit, NST is 2"
    stopped = [r for r in bfm.records if r.kind == "data"][-1]
    assert stopped.detail["stopped"] and stopped.detail["block"] == 1
    bfm.assert_clean()
