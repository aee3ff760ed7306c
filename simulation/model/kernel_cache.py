"""Where the compiled rules are cached, keyed by the source of every compiled module.

numba's own cache only notices edits to the file of the function it compiled,
not to the rules that function calls or the slot constants it reads. Keying
the cache folder by a hash of all compiled modules makes any edit recompile,
so a stale kernel can never run. Imported before any ``@njit`` decoration.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
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


def configure() -> Path:
    """Point numba's cache at a folder for this exact source; return the folder."""
    base = os.environ.get("RUPTURE_SIM_CACHE") or Path.home() / ".cache" / "rupture-sim"
    folder = Path(base) / f"numba-{source_fingerprint()}"
    numba.config.CACHE_DIR = str(folder)
    return folder


CACHE_FOLDER = configure()


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
