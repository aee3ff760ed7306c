"""Where the compiled rules are cached, keyed by the source of every compiled module.

numba's own cache only notices edits to the file of the function it compiled,
not to the rules that function calls or the slot constants it reads. Keying
the cache folder by a hash of all compiled modules makes any edit recompile,
so a stale kernel can never run. Imported before any ``@njit`` decoration.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
from numba.core import event
from numba.core.dispatcher import Dispatcher
from numba.core.typing.typeof import Purpose

#: Modules whose code or constants end up inside the compiled kernels.
COMPILED_MODULES = (
    "model/keyed_random.py",
    "model/records.py",
    "model/streams.py",
    "model/session.py",
    "model/taxonomy.py",
    "model/rules.py",
    "model/kernel_cache.py",
    "run/engine.py",
)


def source_fingerprint() -> str:
    """Short hash of the compiled modules' source and the numba version."""
    digest = hashlib.sha256(numba.__version__.encode())
    here = Path(__file__).parents[1]  # the package folder
    for name in COMPILED_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_base() -> Path:
    """The folder of every cached kernel version (``RUPTURE_SIM_CACHE``, else ``~/.cache/rupture-sim``)."""
    return Path(os.environ.get("RUPTURE_SIM_CACHE") or Path.home() / ".cache" / "rupture-sim")


def configure() -> Path:
    """Point numba's cache at a folder for this exact source; return the folder."""
    folder = cache_base() / f"numba-{source_fingerprint()}"
    numba.config.CACHE_DIR = str(folder)
    return folder


CACHE_FOLDER = configure()

#: What a first compile took on the benchmark's machine (2 cores; ``rupture-sim bench``'s ``cold_start``),
#: said until this machine has compiled once and noted its own time.
TYPICAL_COMPILE_SECONDS = 40.0
#: Where the last compile's duration on this machine is noted (in ``cache_base``).
COMPILE_TIME_FILE = "compile-seconds.json"


class CompileNotice(event.Listener):
    """Says on stderr, once per process, that the model is being compiled and about how long it takes.

    Numba announces a compile only when a kernel is neither in memory nor in the cache, so the
    line appears exactly when someone would otherwise wait without a word: the first run after
    installing or after an edit of a compiled module (CLI, app, the API's first call). The time
    the compiles of this process took is noted for the next estimate.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.started = 0.0
        self.announced = False
        self.seconds = 0.0

    def on_start(self, ev: event.Event) -> None:
        """A compile starts: announce the first of the process, time the outermost."""
        if self.depth == 0 and _ours(ev):
            self.started = time.perf_counter()
            if not self.announced:
                self.announce()
        self.depth += 1

    def announce(self) -> None:
        """Say once on stderr that the model is being compiled, and about how long it takes."""
        self.announced = True
        print(
            f"rupture-sim: compiling the model for this machine, once after installing or editing it "
            f"(about {estimated_compile_seconds():.0f} s; cached in {cache_base()})",
            file=sys.stderr,
            flush=True,
        )

    def on_end(self, ev: event.Event) -> None:
        """A compile ends: note the process's compile time once the outermost is done."""
        self.depth -= 1
        if self.depth == 0 and self.started:
            self.seconds += time.perf_counter() - self.started
            self.started = 0.0
            _note_compile_seconds(self.seconds)


def _ours(ev: event.Event) -> bool:
    dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    return module.startswith("simulation.")


def estimated_compile_seconds() -> float:
    """Seconds the last compile on this machine took, or ``TYPICAL_COMPILE_SECONDS``."""
    try:
        return float(json.loads((cache_base() / COMPILE_TIME_FILE).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return TYPICAL_COMPILE_SECONDS


def _note_compile_seconds(seconds: float) -> None:
    """Note what this process's compiles took (a hint for the next estimate; failure to write is harmless)."""
    try:
        cache_base().mkdir(parents=True, exist_ok=True)
        (cache_base() / COMPILE_TIME_FILE).write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
    except OSError:
        pass


COMPILE_NOTICE = CompileNotice()
event.register("numba:compile", COMPILE_NOTICE)


def compiled_entry(dispatcher: Any, args: tuple) -> Callable[..., Any]:
    """The compiled function of ``dispatcher`` for the types of ``args``, to call many times with such arguments.

    A call of a dispatcher looks up the types of its arguments every time; for the named tuple of
    model parameters (``ModelParams``) numba has no fast path, and the look-up costs more than a
    session. Taking the compiled function once, for arguments whose types do not change (an agent
    view's records, the model's parameters), skips it. Loads from the kernel cache or compiles, as
    a first call would. With ``NUMBA_DISABLE_JIT=1`` the dispatcher is the plain Python function.
    """
    if not isinstance(dispatcher, Dispatcher):
        return dispatcher
    return dispatcher.compile(tuple(numba.typeof(arg, Purpose.argument) for arg in args))
