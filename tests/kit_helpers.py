"""Where the project's own cocotb benches live, for the pytest entries that run them."""
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent / "cocotb"
