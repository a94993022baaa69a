"""Where a sweep's runs go: this process, a pool of local processes, or a Dask cluster.

Runs travel in chunks (consecutive run numbers); an executor hands back the
rows of each chunk in run order, whatever order they finished in, keeping
only a few chunks in flight, so a sweep of a million runs never holds more
than a window of them. Every run is a pure function of the sweep and its
number: the rows are the same on every executor (but for each run's wall
time).

A worker keeps booted boards (sdhci.emulation.BootCache) and built
configurations between chunks, per thread: a run starts from the state card
bring-up left instead of bringing the card up again.
"""
from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sdhci.analysis.rows import failed, outputs
from sdhci.analysis.spec import RunSpec, SweepSpec
from sdhci.config import EmulatorConfig
from sdhci.emulation import BootCache, EmulationError, run_panic_write

Row = dict[str, Any]
#: Runs per chunk: enough to make a chunk's trip to a worker cheap beside its runs.
CHUNK_RUNS = 25


@dataclass(frozen=True)
class Chunk:
    """Runs first .. first + count - 1 of a sweep."""
    spec: SweepSpec
    first: int
    count: int


class _Worker(threading.local):
    """What one worker thread keeps between chunks."""

    def __init__(self) -> None:
        self.boots = BootCache()
        self.configs: OrderedDict[tuple[str, tuple], EmulatorConfig] = OrderedDict()

    def config(self, spec: SweepSpec, fingerprint: str, run: RunSpec) -> EmulatorConfig:
        """The run's configuration: built once per combination of values, the seed set per run."""
        key = (fingerprint, run.values)
        built = self.configs.get(key)
        if built is None:
            built = spec.config(run)
            self.configs[key] = built
            if len(self.configs) > 64:
                self.configs.popitem(last=False)
        return dataclasses.replace(built, run=dataclasses.replace(built.run, seed=run.seed))


_WORKER = _Worker()


def run_chunk(chunk: Chunk) -> list[Row]:
    """Play a chunk's runs; their rows, in run order."""
    fingerprint = chunk.spec.fingerprint
    rows = []
    for index in range(chunk.first, chunk.first + chunk.count):
        run = chunk.spec.run(index)
        start = time.perf_counter_ns()
        try:
            out = outputs(run_panic_write(_WORKER.config(chunk.spec, fingerprint, run), _WORKER.boots))
        except EmulationError as err:
            out = failed(str(err))
        out["wall_ns"] = time.perf_counter_ns() - start
        rows.append({"run": run.index, "seed": run.seed, **dict(run.values), **out})
    return rows


def chunks(spec: SweepSpec, start: int, size: int = CHUNK_RUNS) -> Iterator[Chunk]:
    """The runs from `start` on, in chunks of `size`."""
    for first in range(start, spec.runs, size):
        yield Chunk(spec, first, min(size, spec.runs - first))


class _Future(Protocol):
    def result(self) -> list[Row]: ...


def _in_order(submit: Callable[[Chunk], _Future], work: Iterator[Chunk], window: int) -> Iterator[list[Row]]:
    """Submit chunks keeping at most `window` in flight; yield their rows in submission order."""
    pending: deque[_Future] = deque()
    for chunk in work:
        pending.append(submit(chunk))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class Executor(Protocol):
    """Runs chunks somewhere; rows come back per chunk, in run order."""
    workers: int

    def rows(self, work: Iterator[Chunk]) -> Iterator[list[Row]]: ...
    def close(self) -> None: ...


class InProcess:
    """Every run in this process, one after the other (-j 1)."""
    workers = 1

    def rows(self, work: Iterator[Chunk]) -> Iterator[list[Row]]:
        return (run_chunk(chunk) for chunk in work)

    def close(self) -> None:
        pass


def _ignore_interrupt() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops the sweep and keeps the table readable."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """`workers` local processes (-j N)."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_ignore_interrupt)

    def rows(self, work: Iterator[Chunk]) -> Iterator[list[Row]]:
        return _in_order(lambda chunk: self._pool.submit(run_chunk, chunk), work, 2 * self.workers)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """The workers of a Dask distributed cluster (--scheduler tcp://HOST:PORT).

    Connecting fails fast (OSError naming the address) when no scheduler
    answers, or when it has no workers within the timeout: before any run.
    """

    def __init__(self, address: str, timeout_s: float = 5.0) -> None:
        from distributed import Client
        try:
            self._client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise OSError(f"no Dask scheduler answered at {address} within {timeout_s:g} s ({err})") from None
        try:
            self._client.wait_for_workers(1, timeout=timeout_s)
        except (OSError, TimeoutError):
            self._client.close()
            raise OSError(f"the Dask scheduler at {address} has no workers (start some with "
                          f"'dask worker {address}')") from None
        self.workers = max(1, sum(self._client.nthreads().values()))

    def rows(self, work: Iterator[Chunk]) -> Iterator[list[Row]]:
        return _in_order(lambda chunk: self._client.submit(run_chunk, chunk, pure=False), work, 2 * self.workers)

    def close(self) -> None:
        self._client.close()
