"""Realistic kernel log text ending in a panic, for the record a dump carries.

The shape is what kmsg_dump_get_buffer(syslog=true) produces on an arm64
board with an eMMC: one line per record, "<level>[%5lu.%06lu] message\\n"
(printk's syslog prefix and print_time()), monotonic timestamps, ordinary
driver chatter, then an Oops (abort info, registers, call trace) and
panic()'s own lines up to the point where kmsg_dump(KMSG_DUMP_PANIC) runs
(after the panic notifiers, before the "---[ end Kernel panic" line).
Everything random comes from the caller's random.Random.
"""
from __future__ import annotations

import random
import string
from typing import Callable

_FILLER = (
    (6, "mmc0: new HS200 MMC card at address 0001"),
    (6, "mmcblk0: mmc0:0001 8GTF4R 7.28 GiB"),
    (6, "mmcblk0boot0: mmc0:0001 8GTF4R 4.00 MiB"),
    (6, " mmcblk0: p1 p2 < p5 p6 >"),
    (6, "pstore: Registered pstore_blk as persistent store backend"),
    (6, "EXT4-fs (mmcblk0p6): mounted filesystem with ordered data mode. Quota mode: none."),
    (5, "random: crng init done"),
    (6, "NET: Registered PF_INET6 protocol family"),
    (6, "cfg80211: Loading compiled-in X.509 certificates for regulatory database"),
    (6, "systemd[1]: Started Journal Service."),
    (6, "systemd[1]: Mounted Kernel Debug File System."),
    (6, "systemd-journald[{pid}]: Received client request to flush runtime journal."),
    (6, "usb 1-1: new high-speed USB device number {small} using xhci-hcd"),
    (6, "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready"),
    (6, "eth0: Link is Up - 1Gbps/Full - flow control rx/tx"),
    (4, "brcmfmac: brcmf_c_preinit_dcmds: Firmware: BCM43455/6 wl0: Feb 27 2018 03:15:32"),
    (5, "audit: type=1400 audit({sec}.{ms}:{small}): apparmor=\"STATUS\" operation=\"profile_load\" pid={pid}"),
    (6, "CPU{cpu}: Booted secondary processor 0x000000000{cpu} [0x410fd034]"),
    (4, "cpufreq: cpufreq_online: CPU{cpu}: Running at unlisted initial frequency: 1199999 KHz"),
    (6, "EXT4-fs (mmcblk0p5): re-mounted. Quota mode: none."),
    (3, "mmc0: Timeout waiting for hardware interrupt."),
    (4, "sdhci-arasan fe330000.mmc: Timeout waiting for Buffer Read Ready interrupt"),
    (6, "kworker/u8:{small} ({pid}): drop_caches: 1"),
)

_FUNCS = ("mmc_blk_mq_complete_rq", "blk_mq_end_request", "sdhci_irq", "__handle_irq_event_percpu",
          "handle_irq_event", "process_one_work", "worker_thread", "kthread", "el1_abort",
          "el1h_64_sync_handler", "el1h_64_sync", "dev_queue_xmit", "ext4_end_bio",
          "bio_endio", "sdhci_request_done", "tasklet_action_common", "__do_softirq",
          "irq_exit_rcu", "gic_handle_irq", "call_on_irq_stack", "do_interrupt_handler",
          "kernel_init", "do_exit", "do_group_exit", "get_signal", "do_notify_resume")
_COMMS = ("kworker/{cpu}:1", "kworker/u8:2", "systemd", "irq/{small}-mmc0", "sh", "init", "swapper/{cpu}")
_MODULES = "brcmfmac brcmutil cfg80211 rfkill sdhci_of_arasan sdhci_pltfm sdhci cqhci ip_tables x_tables ipv6"
_OOPS_PANICS = ("Oops: Fatal exception", "Fatal exception in interrupt")
_DIRECT_PANICS = ("Attempted to kill init! exitcode=0x0000000b",
                  "VFS: Unable to mount root fs on unknown-block(179,6)",
                  "hung_task: blocked tasks", "softlockup: hung tasks")


#: The random fields a template may name, each an integer drawn only where a template uses it: (lowest,
#: highest, format spec).
_FIELDS = {
    "pid": (100, 32000, ""),
    "small": (1, 9, ""),
    "cpu": (1, 3, ""),
    "sec": (1_600_000_000, 1_800_000_000, ""),
    "ms": (0, 999, ":03d"),
}


def _compile(template: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A template as positional str.format text and, per field it names, its draw: (lowest, how many values).

    Each field is drawn where it stands, in order, as rng.randint(lowest,
    highest); a name used twice is drawn twice and both places show the
    later draw (the text's bytes for a seed depend on it).
    """
    parts = list(string.Formatter().parse(template))
    names = [name for _, name, _, _ in parts if name]
    last = {name: i for i, name in enumerate(names)}
    text = "".join(literal.replace("{", "{{").replace("}", "}}")
                   + (f"{{{last[name]}{_FIELDS[name][2]}}}" if name else "") for literal, name, _, _ in parts)
    return text, tuple((_FIELDS[name][0], _FIELDS[name][1] - _FIELDS[name][0] + 1) for name in names)


def _fill(getrandbits: Callable[[int], int], text: str, draws: tuple[tuple[int, int], ...]) -> str:
    """A compiled template with its fields drawn (getrandbits is the generator's)."""
    return text.format(*[lowest + _below(getrandbits, count) for lowest, count in draws])


def _below(getrandbits: Callable[[int], int], n: int) -> int:
    """rng.randrange(n) from the generator's bound getrandbits: the very draw random.Random makes.

    CPython's Random.randrange, randint and choice all come down to
    _randbelow_with_getrandbits: getrandbits(n.bit_length()) until the value
    is below n. Drawing it here skips their three Python-level calls per
    value, which were most of the filler loop's time (~1,300 draws for a
    64 KiB record); test_pstore_panic_text checks it against randrange.
    """
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


#: (level, text, draws) per filler template, and (text, draws) per task name; see _compile.
_FILLER_TEMPLATES = tuple((level, *_compile(template)) for level, template in _FILLER)
_COMM_TEMPLATES = tuple(_compile(template) for template in _COMMS)


def _frame(rng: random.Random, name: str) -> str:
    size = rng.randrange(0x40, 0x400, 4)
    return f" {name}+0x{rng.randrange(4, size, 4):x}/0x{size:x}"


def _identity(rng: random.Random) -> list[tuple[int, str]]:
    cpu = rng.randint(0, 3)
    comm = _fill(rng.getrandbits, *rng.choice(_COMM_TEMPLATES))
    return [(4, f"CPU: {cpu} PID: {rng.randint(1, 32000)} Comm: {comm} Not tainted 6.1.55 #1"),
            (4, "Hardware name: Example eMMC Board (DT)")]


def _crash(rng: random.Random) -> list[tuple[int, str]]:
    """An Oops report (arm64 layout) or a direct panic, then panic() up to the kmsg dump."""
    frames = [_frame(rng, name) for name in rng.sample(_FUNCS, rng.randint(8, 14))]
    if rng.random() < 0.75:
        addr = rng.choice((0x0, 0x8, 0x10, 0x18, 0x28, 0x1a0))
        lines = [(1, f"Unable to handle kernel NULL pointer dereference at virtual address {addr:016x}"),
                 (1, "Mem abort info:"), (1, "  ESR = 0x0000000096000005"),
                 (1, "  EC = 0x25: DABT (current EL), IL = 32 bits"), (1, "  SET = 0, FnV = 0"),
                 (1, "  EA = 0, S1PTW = 0"), (1, "  FSC = 0x05: level 1 translation fault"),
                 (1, "Data abort info:"), (1, "  ISV = 0, ISS = 0x00000005"), (1, "  CM = 0, WnR = 0"),
                 (1, f"user pgtable: 4k pages, 48-bit VAs, pgdp=00000000{rng.getrandbits(20) << 12:08x}"),
                 (1, f"[{addr:016x}] pgd=0000000000000000, p4d=0000000000000000"),
                 (0, "Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP"),
                 (4, f"Modules linked in: {_MODULES}")]
        lines += _identity(rng)
        lines += [(4, "pstate: 60400005 (nZCv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)"),
                  (4, "pc :" + frames[0]),
                  (4, "lr :" + frames[1]),
                  (4, f"sp : ffff8000{rng.getrandbits(28) << 4:08x}")]
        regs = [f"x{n}: {rng.choice((0, rng.getrandbits(64))):016x}" for n in range(29, -1, -1)]
        lines += [(4, " ".join(regs[i:i + 3])) for i in range(0, 30, 3)]
        lines.append((4, "Call trace:"))
        lines += [(4, frame) for frame in frames]
        code = " ".join(f"{rng.getrandbits(32):08x}" for _ in range(4))
        lines += [(0, f"Code: {code} ({rng.getrandbits(32):08x}) "),
                  (4, "---[ end trace 0000000000000000 ]---"),
                  (0, f"Kernel panic - not syncing: {rng.choice(_OOPS_PANICS)}")]
    else:
        lines = [(0, f"Kernel panic - not syncing: {rng.choice(_DIRECT_PANICS)}")]
        lines += _identity(rng)
        lines.append((4, "Call trace:"))
        lines += [(4, frame) for frame in frames]
    lines += [(2, "SMP: stopping secondary CPUs"),
              (0, "Kernel Offset: disabled"),
              (0, "CPU features: 0x00000,00800084,0000420b"),
              (0, "Memory Limit: none")]
    return lines


#: printk's syslog line: "<level>[%5lu.%06lu] msg" and a newline (%-formatting: the fastest way here).
_LINE = "<%d>[%5d.%06d] %s\n"


def _line(level: int, msg: str, t_us: int) -> str:
    return _LINE % (level, t_us // 1_000_000, t_us % 1_000_000, msg)


def panic_text(rng: random.Random, size_bytes: int, uptime_s: float) -> bytes:
    """At most size_bytes of kernel log ending with a panic at uptime `uptime_s`.

    Whole lines only: ordinary messages fill the space before the crash
    report; if even the report does not fit, its oldest lines are dropped
    (as the kernel's dump keeps the newest). Deterministic per rng state.
    """
    if size_bytes < 0:
        raise ValueError(f"size_bytes must be >= 0, got {size_bytes}")
    if not uptime_s >= 0:
        raise ValueError(f"uptime_s must be >= 0, got {uptime_s}")
    end_us = int(round(uptime_s * 1_000_000))
    crash = _crash(rng)
    times = [end_us]
    for _ in crash[1:]:
        times.append(max(0, times[-1] - rng.randint(5, 400)))
    crash_times = times[::-1]

    # Filler lines are measured with the crash start time: their own times
    # are earlier, so their "%5lu" seconds are never wider (an upper bound).
    filler: list[tuple[int, str]] = []
    budget = size_bytes - sum(len(_line(lv, m, t)) for (lv, m), t in zip(crash, crash_times))
    frame = len(_line(0, "", crash_times[0]))         # "<l>[sssss.uuuuuu] " and the newline, levels are 1 digit
    getrandbits, append = rng.getrandbits, filler.append   # ~1,000 lines in a 64 KiB record: the loop is the cost
    while budget > 0:
        level, text, draws = _FILLER_TEMPLATES[_below(getrandbits, len(_FILLER_TEMPLATES))]   # rng.choice's draw
        msg = _fill(getrandbits, text, draws) if draws else text
        cost = frame + len(msg)
        if cost > budget:
            break
        append((level, msg))
        budget -= cost
    span = crash_times[0] + 1
    draw = rng.random
    filler_times = sorted([int(draw() * span) for _ in filler])
    out = [_LINE % (lv, t // 1_000_000, t % 1_000_000, m) for (lv, m), t in zip(filler, filler_times)]
    out += [_line(lv, m, t) for (lv, m), t in zip(crash, crash_times)]
    total = sum(map(len, out))
    first = 0
    while total > size_bytes:
        total -= len(out[first])
        first += 1
    return "".join(out[first:]).encode()
