"""Where chunks run: in this process, in a local process pool, or on a Dask cluster.

Each backend takes the pending chunks and yields the records of finished
chunks as they complete; workers write their own shards, so only small
records travel back. Which backend ran a chunk never changes its numbers.

Pool workers never outlive the sweep (``simulation.workers``), and an
interrupted pool is shut down with its queued chunks cancelled and its running
workers terminated.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from simulation.sweep.chunks import Chunk, run_chunk
from simulation.sweep.spec import SweepSpec
from simulation.workers import pool_options, shut_down

BACKENDS = ("inprocess", "processes", "dask")


def run_inprocess(spec: SweepSpec, chunks: Sequence[Chunk], folder: str, workers: int) -> Iterator[dict[str, Any]]:
    """Run the chunks one after another in this process."""
    for chunk in chunks:
        yield run_chunk(spec, chunk, folder)


def run_processes(spec: SweepSpec, chunks: Sequence[Chunk], folder: str, workers: int) -> Iterator[dict[str, Any]]:
    """Run the chunks on a pool of ``workers`` local processes (spawned, so safe with Mesa and numba)."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, **pool_options())
    finished = False
    try:
        futures = [pool.submit(run_chunk, spec, chunk, folder) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
        finished = True
    finally:
        shut_down(pool, finished)


def run_dask(
    spec: SweepSpec, chunks: Sequence[Chunk], folder: str, workers: int, scheduler: str | None = None
) -> Iterator[dict[str, Any]]:
    """Run the chunks on a Dask cluster: the one at ``scheduler``, or a local one with ``workers`` processes.

    The workers must see ``folder`` (a shared file system, or the same machine).
    """
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout=30)
    try:
        futures = [client.submit(run_chunk, spec, chunk, folder, pure=False) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
