"""Timing analysis at scale: sweeps of emulated panic writes, their table, summary and pictures.

The layer above sdhci.emulation and below the command line:

- ``spec``: a sweep is a base configuration, seeds, a grid of values and
  random distributions; expanded into numbered runs, each a (configuration,
  seed) pair, lazily and in a fixed order.
- ``rows``: one run's outcome as a table row (the --json report's scalars).
- ``execute``: runs in this process, in a pool of local processes or on a
  Dask cluster, streamed back in run order, batch by batch.
- ``table``: the Parquet table (and CSV) a sweep writes, resumable.
- ``summary``: per group of grid values, time quantiles and verdict
  fractions with Wilson intervals, read from the table.
- ``plots`` and ``timeline``: pictures of a sweep (from its table) and of
  one run (from its result), with matplotlib.
- ``sweep``: the whole job, from spec to table and summary.

Summaries and plots read the table, never the models. pyarrow, matplotlib
and dask are imported here and nowhere below.
"""
