"""Worker processes that never outlive their parent, and pools that stop when interrupted.

Every process pool of the package starts its workers with ``exit_with_parent``:
the kernel sends a worker SIGTERM when its parent dies (``prctl`` with
``PR_SET_PDEATHSIG`` on Linux; a watchdog thread elsewhere), so a parent killed
by SIGKILL leaves no orphans. ``shut_down`` ends a pool after an interruption
without running its queued tasks.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1


def exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the process that started it dies."""
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


def pool_options() -> dict[str, Any]:
    """Keyword arguments for ``ProcessPoolExecutor`` that tie its workers' lives to this process."""
    return {"initializer": exit_with_parent, "initargs": (os.getpid(),)}


def shut_down(pool: ProcessPoolExecutor, finished: bool) -> None:
    """Shut a pool down; if it did not finish (an interruption), cancel queued tasks and terminate running ones."""
    if finished:
        pool.shutdown(wait=True)
        return
    processes = list((pool._processes or {}).values())  # no public API stops running tasks
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)
