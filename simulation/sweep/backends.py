"""Where chunks run: in this process, in a local process pool, or on a Dask cluster.

Each backend takes the pending chunks and yields the records of finished
chunks as they complete; workers write their own shards, so only small
records travel back. Which backend ran a chunk never changes its numbers.

Pool workers never outlive the sweep: each asks the kernel to send it SIGTERM
when its parent dies (``prctl(PR_SET_PDEATHSIG)``, or a watchdog thread where
that is unavailable), and an interrupted pool is shut down with its queued
chunks cancelled and its running workers terminated.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from simulation.sweep.chunks import Chunk, run_chunk
from simulation.sweep.spec import SweepSpec

BACKENDS = ("inprocess", "processes", "dask")


def run_inprocess(spec: SweepSpec, chunks: Sequence[Chunk], folder: str, workers: int) -> Iterator[dict[str, Any]]:
    """Run the chunks one after another in this process."""
    for chunk in chunks:
        yield run_chunk(spec, chunk, folder)


_PR_SET_PDEATHSIG = 1


def exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the process that started it dies.

    Uses ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` on Linux, else a thread that
    polls the parent id; either way the worker cannot be orphaned.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def run_processes(spec: SweepSpec, chunks: Sequence[Chunk], folder: str, workers: int) -> Iterator[dict[str, Any]]:
    """Run the chunks on a pool of ``workers`` local processes (spawned, so safe with Mesa and numba)."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),)
    )
    finished = False
    try:
        futures = [pool.submit(run_chunk, spec, chunk, folder) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
        finished = True
    finally:
        _shut_down(pool, wait=finished)


def _shut_down(pool: ProcessPoolExecutor, wait: bool) -> None:
    """Shut the pool down; after an interruption, cancel queued chunks and terminate running ones."""
    if wait:
        pool.shutdown(wait=True)
        return
    processes = list((pool._processes or {}).values())  # no public API to stop running tasks
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


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
