"""The `sdhci-emu` command line: a panic write, a sweep of them and its plots, the config, an image, a benchmark.

Bad input from the user (configuration, option values, files) ends in one
line on stderr, "sdhci-emu: error: ...", and exit status 2. Only the errors
the layers below raise for bad input (ConfigError, EmulationError, ValueError,
OSError) are turned into that line; anything else is a bug and stays visible.

Each command imports what it uses when it runs, so starting the program
costs no more than parsing its arguments.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    from sdhci.config import EmulatorConfig

PROG = "sdhci-emu"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: The patch variants (sdhci.driver.variants.PATCHES; kept here so that --help needs no import).
PATCH_NAMES = ("as-posted", "flush", "reliable-write", "checked", "fixed")

#: Command-line shortcuts and the configuration key each one sets.
OPTION_KEYS = {
    "card": "card_preset",
    "controller": "controller_preset",
    "platform": "platform_preset",
    "transfer": "run.transfer",
    "bus_width": "run.bus_width",
    "sd_clock": "run.sd_clock_hz",
    "kmsg_size": "pstore.kmsg_size",
    "stall_ms": "run.stall_ms",
    "image": "run.image",
    "seed": "run.seed",
    "power_cut": "run.power_cut",
    "blkdev": "pstore.blkdev",
    "patch": "run.patch",
}


class UsageError(Exception):
    """Bad command-line input; main() prints it as one line and exits 2."""


class _HelpShown(Exception):
    """--help was printed; main() returns 0 instead of argparse exiting the interpreter."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports through exceptions instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise UsageError(message or f"exit status {status}")
        raise _HelpShown()


def _preset_names(kind: str) -> str:
    """The preset names of one kind, for --help (imported only when help is shown)."""
    if kind == "card":
        from emmc_card.presets import PRESETS
    elif kind == "controller":
        from sdhci.controller.presets import PRESETS
    else:
        from sdhci.driver.platform import PLATFORM_PRESETS as PRESETS
    return ", ".join(PRESETS)


class _HelpFormatter(argparse.HelpFormatter):
    """Fills %(presets)s in an option's help with the presets of its kind when help is printed."""

    def _expand_help(self, action: argparse.Action) -> str:
        if "%(presets)s" in (action.help or ""):
            action = argparse.Action(action.option_strings, action.dest, help=action.help.replace(
                "%(presets)s", _preset_names(action.dest)), metavar=action.metavar)
        return super()._expand_help(action)


class _VersionAction(argparse.Action):
    """--version: the installed package's version (looked up only when asked)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version
        try:
            found = version("sdhci-emu")
        except PackageNotFoundError:
            found = "unknown (not installed as a package)"
        print(f"{PROG} {found}")
        parser.exit()


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _non_negative_number(text: str) -> float | int:
    try:
        value = float(text) if any(c in text for c in ".eE") else int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _config_options(parser: argparse.ArgumentParser, config_file: bool = True) -> None:
    """Options that build the emulator configuration (panic-write, config, bench, sweep)."""
    group = parser.add_argument_group("configuration")
    if config_file:
        group.add_argument("--config", metavar="FILE.toml", help="configuration file (TOML)")
    group.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                       help="override one configuration key (dotted, value as a TOML scalar); repeatable")
    group.add_argument("--card", metavar="PRESET", help="card preset: %(presets)s")
    group.add_argument("--controller", metavar="PRESET", help="SDHCI controller preset: %(presets)s")
    group.add_argument("--platform", metavar="PRESET", help="platform preset (MMIO costs): %(presets)s")
    group.add_argument("--transfer", choices=("auto", "pio", "sdma", "adma2"),
                       help="transfer mode (default: what Linux's sdhci would choose)")
    group.add_argument("--bus-width", type=int, choices=(1, 4, 8), help="SD bus width in lines")
    group.add_argument("--sd-clock", type=_positive_int, metavar="HZ", help="requested SD clock")
    group.add_argument("--kmsg-size", type=_positive_int, metavar="BYTES",
                       help="kmsg record size in bytes, a multiple of 4096 (sets pstore.kmsg_size, which is in KiB "
                       "like the kernel's pstore_blk.kmsg_size)")
    group.add_argument("--stall-ms", type=_non_negative_number, metavar="MS",
                       help="inject one card stall of this length during the write")
    group.add_argument("--power-cut", metavar="WHEN",
                       help="when the power goes: return (default), never, entry+TIME or return+TIME "
                       "(TIME like 500us, 2.5ms); sets run.power_cut")
    group.add_argument("--image", metavar="PATH", help="keep the eMMC image in this file (the medium as the power "
                       "cut leaves it)")
    group.add_argument("--seed", type=int, metavar="N", help="seed of every random choice, 0 .. 2^63-1")
    group.add_argument("--patch", choices=PATCH_NAMES,
                       help="the mmcpstore that runs: the seed patch as posted (default) or a fix; sets run.patch")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Emulate Linux mmcpstore's panic write on an SDHCI host and an eMMC card.",
                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, formatter_class=_HelpFormatter)

    panic = command("panic-write", "emulate one panic write and report it")
    _config_options(panic)
    panic.add_argument("--json", action="store_true", help="print the report as JSON")
    panic.add_argument("--vcd", metavar="PATH", help="write a VCD of the panic write (time 0 at its entry) and, "
                       "beside it, a GTKWave save file (.gtkw) that opens on it")
    panic.add_argument("--vcd-bringup", action="store_true",
                       help="keep the card bring-up in the VCD, in a scope of its own (time 0 at power-on)")
    panic.add_argument("--plot", metavar="PATH", help="draw the run as a timeline (PNG or SVG, by the extension)")

    sweep = command("sweep", "run a sweep of panic writes (grid and Monte Carlo) into a table and a summary")
    sweep.add_argument("sweep_file", metavar="SWEEP.toml", nargs="?",
                       help="a configuration with a [sweep] table (seeds, grid, random)")
    _config_options(sweep, config_file=False)
    sweep.add_argument("--out", metavar="DIR", required=True, help="directory for runs.parquet and summary.csv")
    sweep.add_argument("--grid", metavar="KEY=V1,V2,...", action="append", default=[],
                       help="vary a configuration key over these values (repeatable; short keys: card, "
                       "controller, platform, patch)")
    sweep.add_argument("--seeds", metavar="N|FIRST..LAST", help="seeds 1..N, or FIRST..LAST")
    sweep.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                       help="local worker processes (default: every core)")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on the workers of this Dask distributed scheduler instead")
    sweep.add_argument("--resume", action="store_true", help="continue the sweep whose table --out holds")
    sweep.add_argument("--csv", action="store_true", help="write runs.csv as well")
    sweep.add_argument("--batch", type=_positive_int, default=2000, metavar="N",
                       help="rows per batch written (and held in memory) at a time (default 2000)")

    plot = command("plot", "draw a sweep's pictures (PNG and SVG) from its table")
    plot.add_argument("sweep_dir", metavar="DIR", help="the --out directory of a sweep")

    config = command("config", "print the effective configuration as TOML")
    _config_options(config)

    inspect = command("inspect", "list the pstore records in an eMMC image")
    inspect.add_argument("image_path", metavar="IMAGE", help="eMMC image file")
    inspect.add_argument("--json", action="store_true", help="print the records as JSON")
    inspect.add_argument("--config", metavar="FILE.toml", help="take partition and pstore sizes from this configuration")
    inspect.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                         help="override one configuration key; repeatable")
    inspect.add_argument("--blkdev", metavar="DEV", help="pstore partition, e.g. /dev/mmcblk0p5 or 179:5")
    inspect.add_argument("--kmsg-size", type=_positive_int, metavar="BYTES", help="pstore/blk kmsg zone size")

    bench = command("bench", "wall time of the default panic write per transfer mode")
    _config_options(bench)
    bench.add_argument("--runs", type=_positive_int, default=5, metavar="N", help="runs per mode (median taken)")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")

    from sdhci.kit.cli import add_rtl_parser   # declares `rtl compare|calibrate`; imports no simulator code
    add_rtl_parser(sub)
    return parser


def _kmsg_kib(size_bytes: int) -> int:
    """--kmsg-size is in bytes; pstore/blk's kmsg_size parameter is in KiB, a multiple of 4."""
    if size_bytes % 4096:
        raise UsageError(f"argument --kmsg-size: {size_bytes} bytes is not a multiple of 4096 "
                         "(pstore/blk kmsg_size is in 4 KiB steps)")
    return size_bytes // 1024


def _overrides(args: argparse.Namespace) -> list[str]:
    """--set items, then the shortcut options (which win), as KEY=VALUE strings."""
    out = list(args.overrides)
    for option, key in OPTION_KEYS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if option == "kmsg_size":
            value = _kmsg_kib(value)
        out.append(f"{key}={_toml_scalar(value)}")
    return out


def _toml_scalar(value: object) -> str:
    """`value` written as TOML, as load_config parses the right side of KEY=VALUE."""
    import tomli_w
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _load(args: argparse.Namespace) -> EmulatorConfig:
    from sdhci.config import load_config
    return load_config(args.config, _overrides(args))


def _output_path(option: str, path: str | None, extensions: tuple[str, ...] = ()) -> None:
    """An output file option names a file (of a type we can write), checked before any run."""
    if path is None:
        return
    if not path.strip():
        raise UsageError(f"argument {option}: expected a file path, got an empty string")
    if extensions and not path.lower().endswith(extensions):
        raise UsageError(f"argument {option}: {path} must end in {' or '.join(extensions)}")


def _cmd_panic_write(args: argparse.Namespace, out: TextIO) -> int:
    from sdhci.emulation import run_panic_write
    from sdhci.report import render_json, render_text
    _output_path("--vcd", args.vcd)
    _output_path("--plot", args.plot, (".png", ".svg"))
    result = run_panic_write(_load(args))
    if args.vcd:
        from sdhci.vcd import write_panic_waves
        write_panic_waves(args.vcd, result, bringup=args.vcd_bringup)
    if args.plot:
        from sdhci.analysis.timeline import plot_timeline
        plot_timeline(result, args.plot)
    out.write(render_json(result) if args.json else render_text(result))
    return 0


def _cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    import os
    from sdhci.analysis import summary, table
    from sdhci.analysis.execute import DaskCluster, InProcess, LocalPool
    from sdhci.analysis.spec import load_sweep
    from sdhci.analysis.sweep import first_run, run_sweep
    if args.scheduler is not None and args.jobs is not None:
        raise UsageError("argument --scheduler: the cluster's workers run the sweep; -j applies to local runs only")
    spec = load_sweep(args.sweep_file, _overrides(args), args.grid, args.seeds)
    start = first_run(args.out, spec, args.resume)
    jobs = args.jobs or os.cpu_count() or 1
    executor = (DaskCluster(args.scheduler) if args.scheduler else InProcess() if jobs == 1 else LocalPool(jobs))
    try:
        outcome = run_sweep(spec, args.out, executor, start, args.batch)
    finally:
        executor.close()
    written = [os.path.join(args.out, table.RUNS), summary.write_summary(args.out)]
    if args.csv:
        written.append(table.write_csv(args.out))
    out.write(summary.render_summary(args.out))
    out.write(f"{outcome.rows} of {outcome.runs} runs: {', '.join(written)}\n")
    if outcome.interrupted:
        print(f"{PROG}: interrupted after {outcome.rows} of {outcome.runs} runs; the table holds them, "
              "--resume continues", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    from sdhci.analysis.plots import plot_sweep
    for path in plot_sweep(args.sweep_dir):
        out.write(path + "\n")
    return 0


def _cmd_config(args: argparse.Namespace, out: TextIO) -> int:
    import tomli_w
    from sdhci.config import config_dict
    out.write(tomli_w.dumps(config_dict(_load(args))))
    return 0


def _cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    import json
    from sdhci.inspect import inspect_image
    from sdhci.report import records_dict, render_records_text
    listing = inspect_image(args.image_path, _load(args))
    out.write(json.dumps(records_dict(listing), indent=2) + "\n" if args.json else render_records_text(listing))
    if listing.errors:
        zones = "; ".join(f"zone {zone}: {message}" for zone, message in listing.errors)
        raise ValueError(f"{args.image_path}: {len(listing.errors)} zone(s) rejected: {zones}")
    return 0


def _cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    from sdhci.bench import bench_json, render_bench, run_bench
    rows = run_bench(args.config, _overrides(args), runs=args.runs)
    out.write(bench_json(rows) if args.json else render_bench(rows))
    return 0


def _cmd_rtl(args: argparse.Namespace, out: TextIO) -> int:
    from sdhci.kit.cli import run_rtl          # the cocotb kit, loaded only for `rtl`
    return run_rtl(args, out)


_COMMANDS = {
    "panic-write": _cmd_panic_write,
    "config": _cmd_config,
    "inspect": _cmd_inspect,
    "bench": _cmd_bench,
    "sweep": _cmd_sweep,
    "plot": _cmd_plot,
    "rtl": _cmd_rtl,
}


def _one_line(message: str) -> str:
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _os_error_text(err: OSError) -> str:
    if err.filename is not None and err.strerror:
        return f"{err.strerror}: {err.filename}"
    return str(err)


def _value_error_text(err: ValueError) -> str:
    """ConfigError and EmulationError (both ValueErrors) say which layer refused."""
    from emmc_card.configtools import ConfigError
    from sdhci.emulation import EmulationError
    if isinstance(err, ConfigError):
        return f"configuration: {err}"
    if isinstance(err, EmulationError):
        return f"emulation: {err}"
    return str(err)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sdhci-emu` script; returns the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return _COMMANDS[args.command](args, sys.stdout)
    except _HelpShown:
        return 0
    except UsageError as err:
        message = str(err)
    except ValueError as err:
        message = _value_error_text(err)
    except OSError as err:
        message = _os_error_text(err)
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
