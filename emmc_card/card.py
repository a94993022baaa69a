"""The eMMC card: JEDEC state machine and command handlers, transaction level.

The host hands the card whole bus transactions (a command token, a written
data block, a request for the next read block) stamped with the time of
their last bit; the card answers with what it puts on the bus and when
(emmc_card.bus outcome types). State is time-aware: busy (R1b, programming)
ends at a known picosecond, and every call first brings the card up to its
t_ps. Bad host input never raises: it sets the status bits JESD84-B51 names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from emmc_card import registers as reg
from emmc_card.bus import (
    CRC_STATUS_ACCEPTED,
    CRC_STATUS_BITS,
    CRC_STATUS_CRC_ERROR,
    NAC_MIN,
    SHORT_RESPONSE_BITS,
    CommandOutcome,
    CorrectCrcs,
    ReadOutcome,
    WriteOutcome,
    data_block_cycles,
)
from emmc_card.cache import BlockKey, WriteCache
from emmc_card.config import SECTOR, CardConfig
from emmc_card.crc import crc16_lines
from emmc_card.program import PowerCutReport, ProgramQueue
from emmc_card.statecopy import FrozenState, copy_state, restore_state
from emmc_card.protocol import (
    CLEARED_BY_VALID_COMMAND,
    ERROR_BITS,
    CardState,
    CardStatus,
    ProtocolError,
    decode_command,
    encode_r1,
    encode_r2,
    encode_r3,
    status_word,
)
from emmc_card.storage import USER, ImageStorage, MemoryStorage, Storage
from emmc_card.timing import CardTimer

S = CardState

# CMD6 argument fields.
SWITCH_CMD_SET, SWITCH_SET_BITS, SWITCH_CLEAR_BITS, SWITCH_WRITE_BYTE = 0, 1, 2, 3
# EXT_CSD bytes a host may change with CMD6 and the values each accepts.
_HS_TIMING_OK = {0, 1, 2, 3}
_WRITABLE = {
    reg.EXT_CSD_FLUSH_CACHE, reg.EXT_CSD_CACHE_CTRL, reg.EXT_CSD_HPI_MGMT,
    reg.EXT_CSD_PARTITION_CONFIG, reg.EXT_CSD_BUS_WIDTH, reg.EXT_CSD_HS_TIMING,
}
CMD0_GO_IDLE, CMD0_GO_PRE_IDLE = 0x00000000, 0xF0F0F0F0
CMD23_RELIABLE = 1 << 31
CMD23_FORCED_PROGRAMMING = 1 << 24   # write to the medium, not the volatile cache
# PARTITION_CONFIG bits 6:3 (BOOT_ACK, BOOT_PARTITION_ENABLE) are R/W/E: kept over
# CMD0 and power cycles; bits 2:0 (PARTITION_ACCESS) are R/W/E_P (JESD84-B51 EXT_CSD).
PARTITION_CONFIG_NONVOLATILE = 0x78
# What an illegal command gets: no response (identity marks it as not valid).
_ILLEGAL = CommandOutcome(None)
# The status bits every command touches, as plain ints: IntFlag arithmetic runs in Python.
_ERROR_BITS, _CLEARED_BY_VALID_COMMAND = int(ERROR_BITS), int(CLEARED_BY_VALID_COMMAND)
_READY_FOR_DATA = int(CardStatus.READY_FOR_DATA)


@dataclass(slots=True)
class _Transfer:
    """The data phase the last read/write command opened."""

    write: bool
    partition: int
    offset: int                   # byte offset of the next block
    block_len: int
    remaining: int | None         # None: open-ended multiple block
    reliable: bool = False
    forced: bool = False          # CMD23 forced programming: bypasses the cache
    ext_csd: bool = False
    stopped: bool = False         # CRC error / out of range: further blocks ignored


@dataclass(frozen=True)
class CardSnapshot:
    """Everything an EmmcCard holds at one moment (see EmmcCard.snapshot)."""

    state: FrozenState
    medium: object


class EmmcCard:
    """One eMMC device: registers, state machine, cache and medium."""

    def __init__(self, config: CardConfig, image_path: str | os.PathLike[str] | None = None) -> None:
        config.validate()
        self.config = config
        self._cid = reg.cid(config)
        self._csd = reg.csd(config)
        boot = config.boot_partition_bytes
        self.storage: Storage = (ImageStorage(image_path, config.user_area_bytes, boot) if image_path is not None
                                 else MemoryStorage(config.user_area_bytes, boot))
        self._timer = CardTimer(config)
        self._queue = ProgramQueue(self.storage)
        self._cache = WriteCache(config.cache_size_kib * 1024 // SECTOR)
        self.blocks_written = 0            # lifetime count of accepted write blocks
        self.power_cut_report: PowerCutReport | None = None
        self.powered = True
        self._power_cut_at: int | None = None  # a scheduled cut (schedule_power_cut)
        self._inactive = False                 # ina: CMD1 voltage mismatch, left only by power cycle
        self._boot_config: int | None = None   # PARTITION_CONFIG bits 6:3 once written
        # Physical block of the medium: reads must not cross 2^READ_BL_LEN, writes 2^WRITE_BL_LEN (512).
        self._read_block_bytes = 1 << reg.csd_capacity_fields(config.user_area_bytes)[2]
        self._reset(0)

    # ----------------------------------------------------------------- state

    def _reset(self, t_ps: int) -> None:
        """Power-on / CMD0 state: idle, default bus, EXT_CSD modes at reset values."""
        self._ext_csd = reg.ext_csd(self.config)
        if self._boot_config is not None:
            part = reg.EXT_CSD_PARTITION_CONFIG
            self._ext_csd[part] = (self._ext_csd[part] & reg.PARTITION_ACCESS_MASK) | self._boot_config
        self._state = S.IDLE
        self._next_state: tuple[int, CardState] | None = None
        self._rca = 1
        self._flags = 0
        self._ready_at_ps: int | None = None
        self._block_len = SECTOR
        self._cmd23_arg: int | None = None   # CMD23 argument with a non-zero count
        self._armed_cmd23: int | None = None
        self._transfer: _Transfer | None = None
        self._busy_until = t_ps
        self._bus_width_code = 0       # BUS_WIDTH is W/E_P: not readable, kept apart from EXT_CSD
        self.bus_width = 1
        self.ddr = False

    def _settle(self, t_ps: int) -> None:
        """Bring the card to time t_ps: end busy phases, commit programmed blocks (or lose power on the way)."""
        if self._power_cut_at is not None and t_ps >= self._power_cut_at:
            self.power_cut(self._power_cut_at)
            return
        if self._next_state is not None and t_ps >= self._next_state[0]:
            self._state = self._next_state[1]
            self._next_state = None
        self._queue.settle(t_ps)

    def state(self, t_ps: int) -> int:
        """CURRENT_STATE at t_ps (0 idle ... 10 slp)."""
        self._settle(t_ps)
        return int(self._state)

    def busy(self, t_ps: int) -> bool:
        """Whether the card holds DAT0 low at t_ps (a query: it does not move the card's time)."""
        cut = self._power_cut_at
        return self.powered and t_ps < self._busy_until and (cut is None or t_ps < cut)

    @property
    def busy_until_ps(self) -> int:
        """When the card releases DAT0 (in the past when it is not busy)."""
        return self._busy_until

    def _enter(self, state: CardState, until_ps: int | None = None, then: CardState | None = None) -> None:
        self._state = state
        self._next_state = (until_ps, then) if then is not None else None

    @property
    def cache_on(self) -> bool:
        return bool(self._ext_csd[reg.EXT_CSD_CACHE_CTRL] & 1) and self._cache.capacity_blocks > 0

    @property
    def partition(self) -> int:
        """Partition the next data command accesses (PARTITION_CONFIG bits 2:0)."""
        return self._ext_csd[reg.EXT_CSD_PARTITION_CONFIG] & reg.PARTITION_ACCESS_MASK

    @property
    def ext_csd(self) -> bytes:
        """The EXT_CSD as CMD8 would send it now."""
        return bytes(self._ext_csd)

    # -------------------------------------------------------------- commands

    def command(self, token: bytes, t_ps: int, clock_period_ps: int) -> CommandOutcome:
        """Answer one 48-bit command token whose end bit ends at t_ps."""
        self._settle(t_ps)                 # first: a scheduled power cut may fall before t_ps
        if not self.powered or self._inactive:
            return CommandOutcome(None)
        try:
            index, arg = decode_command(bytes(token))
        except ProtocolError:
            self._flags |= CardStatus.COM_CRC_ERROR
            return CommandOutcome(None)
        handler = self._HANDLERS.get(index)
        if handler is None:
            return self._illegal()
        # A CMD23 count applies to the command right after it only.
        self._armed_cmd23, self._cmd23_arg = self._cmd23_arg, None
        pending = self._flags & _CLEARED_BY_VALID_COMMAND
        out = handler(self, arg, t_ps, clock_period_ps)
        if out is not _ILLEGAL:
            self._flags &= ~pending   # clear condition B: one valid command later, reported or not
        return out

    def _illegal(self) -> CommandOutcome:
        """Unsupported or wrong-state command: no response, flagged in the next one."""
        self._flags |= CardStatus.ILLEGAL_COMMAND
        return _ILLEGAL

    def _r1(self, index: int, t_ps: int, clk: int, extra: int = 0, busy_ps: int | None = None) -> CommandOutcome:
        """R1/R1b with the status as of reception; error bits are cleared once sent."""
        status = self._flags | extra
        if not self.busy(t_ps):
            status |= _READY_FOR_DATA
        self._flags &= ~_ERROR_BITS
        ncr = self._timer.ncr_cycles()
        response = encode_r1(index, status_word(status, self._state))
        if busy_ps is None:
            return CommandOutcome(response, ncr)
        end = t_ps + (ncr + SHORT_RESPONSE_BITS) * clk
        self._busy_until = max(self._busy_until, end + busy_ps)
        return CommandOutcome(response, ncr, self._busy_until)

    def _cmd0(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if arg not in (CMD0_GO_IDLE, CMD0_GO_PRE_IDLE):
            return self._illegal()   # boot operation (0xFFFFFFFA) is not modelled
        # Blocks already acknowledged are written back, never dropped by a reset.
        for (partition, offset), data in self._cache.drain():
            self._queue.schedule((partition, offset), data, t_ps, self._timer.program_ps(), False)
        self._reset(t_ps)
        return CommandOutcome(None)

    def _cmd1(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.IDLE:
            return self._illegal()
        window = arg & reg.OCR_VOLTAGE_MASK
        if window and not window & reg.ocr(self.config, False):
            self._inactive = True    # voltage range validation failed (an argument of 0 only asks)
            return CommandOutcome(None)
        if self._ready_at_ps is None:
            self._ready_at_ps = t_ps + self._timer.init_busy_ps()
        ready = t_ps >= self._ready_at_ps
        if ready:
            self._state = S.READY
        return CommandOutcome(encode_r3(reg.ocr(self.config, ready)), self._timer.nid_cycles())

    def _cmd2(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.READY:
            return self._illegal()
        self._state = S.IDENT
        return CommandOutcome(encode_r2(self._cid), self._timer.nid_cycles())

    def _cmd3(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.IDENT or arg >> 16 == 0:   # RCA 0 is reserved for deselection
            return self._illegal()
        out = self._r1(3, t_ps, clk)
        self._rca = arg >> 16
        self._state = S.STBY
        return out

    def _cmd6(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.TRAN:
            return self._illegal()
        access, index, value, cmd_set = (arg >> 24) & 3, (arg >> 16) & 0xFF, (arg >> 8) & 0xFF, arg & 7
        busy_ps, error = self._switch(access, index, value, cmd_set, t_ps)
        out = self._r1(6, t_ps, clk, busy_ps=busy_ps)
        if error:
            self._flags |= CardStatus.SWITCH_ERROR   # type X: seen by the next CMD13
        self._enter(S.PRG, out.busy_until_ps, S.TRAN)
        return out

    def _switch(self, access: int, index: int, value: int, cmd_set: int, t_ps: int) -> tuple[int, bool]:
        """Apply a CMD6; returns (busy time in ps, SWITCH_ERROR)."""
        generic = self._timer.cmd6_busy_ps()
        if access == SWITCH_CMD_SET:
            return generic, cmd_set != 0         # argument bits 2:0; only the standard set (0) exists
        if index not in _WRITABLE:
            return generic, True
        old = self._bus_width_code if index == reg.EXT_CSD_BUS_WIDTH else self._ext_csd[index]
        new = {SWITCH_SET_BITS: old | value, SWITCH_CLEAR_BITS: old & ~value,
               SWITCH_WRITE_BYTE: value}[access]
        if index == reg.EXT_CSD_BUS_WIDTH:
            if new not in reg.BUS_WIDTHS:
                return generic, True
            self._bus_width_code = new
            self.bus_width, self.ddr = reg.BUS_WIDTHS[new]
            return generic, False
        elif index == reg.EXT_CSD_HS_TIMING and new & 0xF not in _HS_TIMING_OK:
            return generic, True
        elif index == reg.EXT_CSD_PARTITION_CONFIG:
            if self.storage.size(new & reg.PARTITION_ACCESS_MASK) == 0:
                return self._timer.partition_switch_busy_ps(), True
            self._ext_csd[index] = new
            self._boot_config = new & PARTITION_CONFIG_NONVOLATILE
            return self._timer.partition_switch_busy_ps(), False
        elif index == reg.EXT_CSD_CACHE_CTRL:
            if new & ~1 or (new and not self._cache.capacity_blocks):
                return generic, True
            self._ext_csd[index] = new
            return (self._flush(t_ps) if not new and len(self._cache) else generic), False
        elif index == reg.EXT_CSD_FLUSH_CACHE:
            if new & ~1:
                return generic, True
            return (self._flush(t_ps) if new else generic), False
        self._ext_csd[index] = new
        return generic, False

    def _flush(self, t_ps: int) -> int:
        """Write every cached block to the medium; returns the busy time from t_ps."""
        for key, data in self._cache.drain():
            self._queue.schedule(key, data, t_ps, self._timer.program_ps(), False)
        return max(self._queue.free_ps - t_ps, 0) + self._timer.flush_overhead_ps()

    def _cmd7(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        mine = arg >> 16 == self._rca
        if mine and self._state == S.STBY:
            out = self._r1(7, t_ps, clk)
            self._state = S.TRAN
            return out
        if mine and self._state == S.DIS:
            until = self._next_state[0] if self._next_state else t_ps
            out = self._r1(7, t_ps, clk, busy_ps=0)
            self._busy_until = max(out.busy_until_ps, until)   # the programming already under way
            self._enter(S.PRG, self._busy_until, S.TRAN)
            return CommandOutcome(out.response, out.delay_cycles, self._busy_until)
        if not mine and self._state in (S.STBY, S.TRAN, S.DATA, S.PRG):
            if self._state == S.PRG:
                until, _ = self._next_state or (t_ps, S.TRAN)
                self._enter(S.DIS, until, S.STBY)
            else:
                self._state = S.STBY
                self._transfer = None
            return CommandOutcome(None)
        return self._illegal()

    def _cmd8(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.TRAN:
            return self._illegal()
        out = self._r1(8, t_ps, clk)
        self._transfer = _Transfer(False, USER, 0, SECTOR, 1, ext_csd=True)
        self._state = S.DATA
        return out

    def _cmd9_10(self, index: int, arg: int) -> CommandOutcome:
        if self._state != S.STBY:
            return self._illegal()
        if arg >> 16 != self._rca:
            return CommandOutcome(None)
        return CommandOutcome(encode_r2(self._csd if index == 9 else self._cid), self._timer.ncr_cycles())

    def _cmd9(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        return self._cmd9_10(9, arg)

    def _cmd10(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        return self._cmd9_10(10, arg)

    def _cmd12(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state == S.DATA:
            out = self._r1(12, t_ps, clk)
            self._state = S.TRAN
            self._transfer = None
            return out
        if self._state != S.RCV:
            return self._illegal()
        self._transfer = None
        done = max(self._busy_until, self._queue.free_ps, t_ps)
        out = self._r1(12, t_ps, clk, busy_ps=0)
        self._busy_until = max(out.busy_until_ps, done + self._timer.stop_busy_ps())
        self._enter(S.PRG, self._busy_until, S.TRAN)
        return CommandOutcome(out.response, out.delay_cycles, self._busy_until)

    def _cmd13(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state in (S.IDLE, S.READY, S.IDENT):
            return self._illegal()
        if arg >> 16 != self._rca:
            return CommandOutcome(None)
        return self._r1(13, t_ps, clk)

    def _cmd16(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.TRAN:
            return self._illegal()
        # Sector mode and DDR fix the block length at 512. Byte mode takes up to
        # 2^READ_BL_LEN (reads; writes need 512) in blocks that fill whole bytes on
        # every DAT line (a model limit: multiples of 8).
        if self.config.sector_mode or self.ddr:
            valid = arg == SECTOR
        else:
            valid = 8 <= arg <= self._read_block_bytes and arg % 8 == 0
        if not valid:
            return self._r1(16, t_ps, clk, extra=CardStatus.BLOCK_LEN_ERROR)
        self._block_len = arg
        return self._r1(16, t_ps, clk)

    def _cmd23(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.TRAN:
            return self._illegal()
        self._cmd23_arg = arg if arg & 0xFFFF else None
        return self._r1(23, t_ps, clk)

    def _crosses_block(self, offset: int, block_len: int, write: bool) -> bool:
        """Whether a data block spans two physical blocks (READ/WRITE_BLK_MISALIGN = 0 forbid it)."""
        physical = SECTOR if write else self._read_block_bytes
        return offset // physical != (offset + block_len - 1) // physical

    def _address_error(self, arg: int, block_len: int, partition: int, write: bool) -> tuple[int, int]:
        """(byte offset, status error bits) of a data command's address argument."""
        offset = arg * SECTOR if self.config.sector_mode else arg
        if self._crosses_block(offset, block_len, write):
            return offset, CardStatus.ADDRESS_MISALIGN
        if offset + block_len > self.storage.size(partition):
            return offset, CardStatus.ADDRESS_OUT_OF_RANGE
        return offset, 0

    def _data_command(self, index: int, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        if self._state != S.TRAN:
            return self._illegal()
        write = index in (24, 25)
        multi = index in (18, 25)
        cmd23 = self._armed_cmd23 if multi else None
        if write and self._block_len != SECTOR:     # WRITE_BL_PARTIAL = 0
            return self._r1(index, t_ps, clk, extra=CardStatus.BLOCK_LEN_ERROR)
        partition = self.partition
        offset, error = self._address_error(arg, self._block_len, partition, write)
        if error:
            return self._r1(index, t_ps, clk, extra=error)
        out = self._r1(index, t_ps, clk)
        remaining = (cmd23 & 0xFFFF if cmd23 else None) if multi else 1
        reliable = bool(cmd23 and cmd23 & CMD23_RELIABLE and write)
        forced = bool(cmd23 and cmd23 & CMD23_FORCED_PROGRAMMING and write)
        self._transfer = _Transfer(write, partition, offset, self._block_len, remaining, reliable, forced)
        self._state = S.RCV if write else S.DATA
        return out

    def _cmd17(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        return self._data_command(17, arg, t_ps, clk)

    def _cmd18(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        return self._data_command(18, arg, t_ps, clk)

    def _cmd24(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        return self._data_command(24, arg, t_ps, clk)

    def _cmd25(self, arg: int, t_ps: int, clk: int) -> CommandOutcome:
        return self._data_command(25, arg, t_ps, clk)

    _HANDLERS = {
        0: _cmd0, 1: _cmd1, 2: _cmd2, 3: _cmd3, 6: _cmd6, 7: _cmd7, 8: _cmd8, 9: _cmd9, 10: _cmd10,
        12: _cmd12, 13: _cmd13, 16: _cmd16, 17: _cmd17, 18: _cmd18, 23: _cmd23, 24: _cmd24, 25: _cmd25,
    }

    # ------------------------------------------------------------------ data

    def write_block(self, data: bytes, crcs: tuple[int, ...] | CorrectCrcs, t_ps: int,
                    clock_period_ps: int) -> WriteOutcome:
        """Take one written block whose end bit ends at t_ps; answer CRC status and busy.

        `crcs`: the CRC16 per line received, or CorrectCrcs (the host's own,
        correct for the bus it sent on).
        """
        delay = self.config.timing.crc_status_delay_cycles
        self._settle(t_ps)
        tr = self._transfer
        if not self.powered or self._state != S.RCV or tr is None or tr.stopped:
            return WriteOutcome(None, delay)
        if len(data) != tr.block_len or not (       # the host's own CRCs on the card's bus match as they are
                type(crcs) is CorrectCrcs and crcs.width == self.bus_width and crcs.ddr == self.ddr
                or self._crcs_match(data, crcs)):
            tr.stopped = True     # data discarded, later blocks ignored until CMD12
            return WriteOutcome(CRC_STATUS_CRC_ERROR, delay)
        if tr.offset + tr.block_len > self.storage.size(tr.partition):
            tr.stopped = True
            self._flags |= CardStatus.ADDRESS_OUT_OF_RANGE
            return WriteOutcome(None, delay)
        token_end = t_ps + (delay + CRC_STATUS_BITS) * clock_period_ps
        cached = self.cache_on and not (tr.reliable or tr.forced)
        busy_until = self._accept(tr, bytes(data), token_end, cached)
        tr.offset += tr.block_len
        remaining = tr.remaining
        if remaining is not None:
            tr.remaining = remaining = remaining - 1
            if remaining == 0:
                # Last block (CMD24, or CMD25 after the CMD23 count): programming, then tran.
                busy_until = max(busy_until, self._queue.free_ps) if not cached else busy_until
                self._transfer = None
                self._enter(S.PRG, busy_until, S.TRAN)
        if busy_until > self._busy_until:
            self._busy_until = busy_until
        return WriteOutcome(CRC_STATUS_ACCEPTED, delay, busy_until if busy_until > token_end else None)

    def _crcs_match(self, data: bytes, crcs: tuple[int, ...] | CorrectCrcs) -> bool:
        """The received CRC16s are those of `data` on the card's bus."""
        if isinstance(crcs, CorrectCrcs):
            if crcs.width == self.bus_width and crcs.ddr == self.ddr:
                return True      # the same lines, the same bits: the same CRCs
            crcs = crc16_lines(data, crcs.width, crcs.ddr)
        return tuple(crcs) == crc16_lines(data, self.bus_width, self.ddr)

    def _accept(self, tr: _Transfer, data: bytes, t_ps: int, cached: bool) -> int:
        """Put one block into the volatile cache (`cached`) or the programming queue; returns busy end."""
        key: BlockKey = (tr.partition, tr.offset)
        timer, queue = self._timer, self._queue
        stall = timer.block_stall_ps(self.blocks_written)
        self.blocks_written += 1
        buffer_blocks = self.config.timing.write_buffer_blocks
        if cached:
            for old_key, old_data in self._cache.put(key, data):
                queue.schedule(old_key, old_data, t_ps, timer.program_ps(), False)
            accepted = t_ps + timer.cached_write_ps() + stall
            room = queue.room_ps(t_ps, buffer_blocks)
            return accepted if accepted >= room else room
        self._cache.discard(key)   # the medium copy is now the newest
        queue.schedule(key, data, t_ps, timer.program_ps() + stall, tr.reliable)
        return queue.room_ps(t_ps, buffer_blocks)

    def read_block(self, t_ps: int, clock_period_ps: int) -> ReadOutcome | None:
        """Next block of a CMD17/18/8 read, starting after NAC cycles from t_ps."""
        self._settle(t_ps)
        if not self.powered:
            return None
        tr = self._transfer
        if self._state != S.DATA or tr is None or tr.write or tr.stopped:
            return None
        if tr.ext_csd:
            data = bytes(self._ext_csd)
        elif tr.offset + tr.block_len > self.storage.size(tr.partition):
            tr.stopped = True          # open-ended read ran off the end; host sends CMD12
            self._flags |= CardStatus.ADDRESS_OUT_OF_RANGE
            return None
        elif self._crosses_block(tr.offset, tr.block_len, False):
            tr.stopped = True          # first block across a physical block: stop, report with CMD12
            self._flags |= CardStatus.ADDRESS_MISALIGN
            return None
        else:
            data = self.read(tr.partition, tr.offset, tr.block_len)
        nac = min(self._timer.nac_cycles(), self._nac_max_cycles(clock_period_ps))
        tr.offset += tr.block_len
        if tr.remaining is not None:
            tr.remaining -= 1
            if tr.remaining == 0:
                end = t_ps + (nac + data_block_cycles(len(data), self.bus_width, self.ddr)) * clock_period_ps
                self._transfer = None
                self._enter(S.DATA, end, S.TRAN)
        return ReadOutcome(data, nac, self.bus_width, self.ddr)

    def _nac_max_cycles(self, clock_period_ps: int) -> int:
        """The spec's bound on read access time, NAC max = 10 x (TAAC x f + 100 x NSAC) clocks.

        A drawn NAC above it is clipped: a compliant card answers within it at
        every clock frequency (JESD84-B51 bus timing; docs/facts.md).
        """
        taac_clocks = self.config.taac_ns * 1000 // clock_period_ps
        return max(NAC_MIN, 10 * (taac_clocks + 100 * self.config.nsac))

    def read(self, partition: int, offset: int, length: int) -> bytes:
        """What the card returns for these bytes now: cache, then blocks being programmed, then medium."""
        out = bytearray(self.storage.read(partition, offset, length))
        first = offset - offset % SECTOR
        for block in range(first, offset + length, SECTOR):
            key = (partition, block)
            newer = self._cache.get(key)
            if newer is None:
                newer = self._queue.pending(key)
            if newer is not None:
                lo, hi = max(block, offset), min(block + SECTOR, offset + length)
                out[lo - offset:hi - offset] = newer[lo - block:hi - block]
        return bytes(out)

    # ----------------------------------------------------------------- power

    def schedule_power_cut(self, t_ps: int) -> None:
        """The power goes at t_ps (a watchdog resetting the board, say).

        The card's next call at or after t_ps first applies the cut at exactly
        t_ps, so a host that goes on talking past it meets a dead card and the
        medium holds what it held at t_ps. Call power_cut(t_ps) once the run is
        over to apply a cut that no later call reached.
        """
        self._power_cut_at = t_ps

    def power_cut(self, t_ps: int) -> None:
        """Cut power at t_ps: cache lost, block in programming may tear; the card is then off."""
        self._power_cut_at = None
        if not self.powered:
            return
        self._settle(t_ps)
        report = PowerCutReport(t_ps, [key for key, _ in self._cache.drain()], [], [], [])
        self._queue.power_cut(t_ps, self._timer, report)
        self.storage.flush()
        self.power_cut_report = report
        self.powered = False
        self._busy_until = t_ps

    def power_on(self, t_ps: int) -> None:
        """Power the card up again (after power_cut): idle, registers at reset values."""
        self.powered = True
        self._inactive = False
        self._reset(t_ps)

    def close(self) -> None:
        """Orderly end: finish programming, write the cache back, close the medium."""
        if self.powered:
            for key, data in self._cache.drain():
                self._queue.schedule(key, data, self._queue.free_ps, 0, False)
            self._queue.finish()
        self.storage.close()

    # ------------------------------------------------------------ snapshots

    def _shared(self) -> tuple[object, ...]:
        """What a snapshot leaves shared: the configuration (never changed by the card) and the medium object."""
        return (self.config, self.config.timing, self.config.cid, self.storage)

    def snapshot(self) -> CardSnapshot:
        """The card's whole state (registers, state machine, timer, cache, programming) and its medium's content.

        Only an in-memory medium can be snapshotted. restore() puts the card
        back exactly, as often as asked: a sweep starts every run from the
        state card bring-up left.
        """
        return CardSnapshot(copy_state(self, self._shared()), self.storage.snapshot())

    def restore(self, snapshot: CardSnapshot) -> None:
        """Return to the moment snapshot() was taken (the same card object, for the host that holds it)."""
        storage = self.storage
        restore_state(self, snapshot.state)
        storage.restore(snapshot.medium)

    def keep_programming_history(self) -> list:
        """From now on, keep every block handed to the medium (key, start and end of its programming): the list."""
        self._queue.history = []
        return self._queue.history

    # -------------------------------------------- the card's state at panic entry

    def reseed(self, seed: int) -> None:
        """Draw every later random duration as a card seeded with `seed` would (a run begins on a booted card)."""
        self._timer.reseed(seed)

    def preload_cache(self, blocks: list[tuple[BlockKey, bytes]]) -> None:
        """Dirty blocks already in the volatile cache: earlier writes, acknowledged and not yet flushed.

        At most the cache's capacity, and only with the cache on (ValueError
        otherwise): nothing is evicted, nothing programmed. They reach the
        medium as any cached block does (eviction, flush), and a power cut
        loses them.
        """
        if not self.cache_on:
            raise ValueError("the volatile cache is off: it holds no dirty blocks")
        if len(self._cache) + len(blocks) > self._cache.capacity_blocks:
            raise ValueError(f"{len(blocks)} dirty blocks do not fit in the cache's {self._cache.capacity_blocks}")
        for key, data in blocks:
            if len(data) != SECTOR:
                raise ValueError(f"a cached block holds {SECTOR} bytes, not {len(data)}")
            self._cache.put(key, bytes(data))

    def continue_previous_write(self, blocks: list[tuple[BlockKey, bytes]], t_ps: int, until_ps: int) -> None:
        """A previous write is still programming at t_ps and ends at until_ps.

        Its blocks reach the medium one after another, the last at until_ps;
        until then the card is in prg and holds DAT0 low, so a data command
        is illegal (JESD84-B51 state table: CMD24/25 only from tran). Only the
        host can shorten this: HPI, or waiting for tran with CMD13.
        """
        self._settle(t_ps)
        if self._state != S.TRAN or self.busy(t_ps):
            raise ValueError(f"the card must be idle in tran to start a previous write, not {self._state.name}")
        if not blocks or until_ps <= t_ps:
            raise ValueError("a previous write needs blocks and an end after its start")
        left = until_ps - t_ps
        for i, (key, data) in enumerate(blocks):        # programmed in order, the time split evenly
            share = left // (len(blocks) - i)
            self._queue.schedule(key, bytes(data), t_ps, share, False)
            left -= share
        self._busy_until = until_ps
        self._enter(S.PRG, until_ps, S.TRAN)

    def start_background_operation(self, t_ps: int, until_ps: int) -> None:
        """Garbage collection (a background operation) keeps the medium busy from t_ps to until_ps.

        The card stays in tran and answers commands; blocks it takes wait in
        its write buffer or go to its cache, but nothing is programmed before
        until_ps, so a write that needs the medium (cache off, reliable write,
        a flush, the busy after CMD12) waits for the collection to end. The
        patch sends no HPI, which could cut it short.
        """
        self._settle(t_ps)
        if until_ps <= t_ps:
            raise ValueError("a background operation must end after it starts")
        self._queue.free_ps = max(self._queue.free_ps, until_ps)

    def __enter__(self) -> EmmcCard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

