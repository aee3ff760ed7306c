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
from numba.core import config, event, types
from numba.core.dispatcher import Dispatcher
from numba.core.registry import CPUDispatcher
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
TYPICAL_COMPILE_SECONDS = 12.0
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
    """Seconds the last whole compile here took (``_note_compile_seconds``), or ``TYPICAL_COMPILE_SECONDS``."""
    noted = _noted_compile()
    return float(noted["seconds"]) if noted else TYPICAL_COMPILE_SECONDS


def _noted_compile() -> dict[str, Any] | None:
    """What ``_note_compile_seconds`` noted last, if it can be read."""
    try:
        noted = json.loads((cache_base() / COMPILE_TIME_FILE).read_text())
        float(noted["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return noted


def _note_compile_seconds(seconds: float) -> None:
    """Note what this process's compiles took (a hint for the next estimate; failure to write is harmless).

    The longest compile of this source is kept: a process that compiles only the rest (the agent
    view's entry after the cohort engine's, which share the session and the rules) takes a second,
    which would promise the next whole compile far too little.
    """
    fingerprint = CACHE_FOLDER.name
    noted = _noted_compile()
    if noted and noted.get("source") == fingerprint:
        seconds = max(seconds, float(noted["seconds"]))
    try:
        cache_base().mkdir(parents=True, exist_ok=True)
        record = {"seconds": round(seconds, 1), "source": fingerprint}
        (cache_base() / COMPILE_TIME_FILE).write_text(json.dumps(record) + "\n")
    except OSError:
        pass


COMPILE_NOTICE = CompileNotice()
event.register("numba:compile", COMPILE_NOTICE)


def compiled_entry(dispatcher: Any, args: tuple) -> Callable[..., Any]:
    """The compiled function of ``dispatcher`` for the types of ``args``, to call many times with such arguments.

    A call of a dispatcher looks up the types of its arguments every time; for a record (the
    model's parameters, ``records.kernel_params``) numba has no fast path, and the look-up costs
    more than a session. Taking the compiled function once, for arguments whose types do not change (an agent
    view's records, the model's parameters), skips it. Loads from the kernel cache or compiles, as
    a first call would. With ``NUMBA_DISABLE_JIT=1`` the dispatcher is the plain Python function.
    """
    if not isinstance(dispatcher, Dispatcher):
        return dispatcher
    return dispatcher.compile(tuple(numba.typeof(arg, Purpose.argument) for arg in args))


class OneVersionDispatcher(CPUDispatcher):
    """A compiled function with one version per argument types, whatever the constants at its call sites.

    Called from compiled code, numba's own dispatcher compiles a version of the callee for every
    integer constant passed (``uniform(g, R_NOTICE)`` and ``uniform(g, R_REACTION)`` are two
    compiles, of ``Literal[int](13)`` and ``Literal[int](14)``) and for every set of omitted
    default arguments (``log_event`` had nine versions): each as costly as a new rule, for the same
    machine code once the caller inlines it. Here a call from compiled code asks for the plain
    types: ``int64`` for an integer constant, ``bool`` for a truth value, and the default's type for
    an omitted number default (the call then passes the default as a constant).
    """

    def get_call_template(self, args: tuple, kws: dict) -> tuple:
        """The call template for ``args`` and ``kws`` as plain types (see the class)."""
        _, folded = self._compiler.fold_argument_types(args, kws)
        return super().get_call_template(tuple(_plain(arg) for arg in folded), {})


def _plain(arg: types.Type) -> types.Type:
    """An integer or truth-value constant's type as a variable's; an omitted number default as its value's type."""
    if isinstance(arg, (types.IntegerLiteral, types.BooleanLiteral)):
        return types.unliteral(arg)
    if isinstance(arg, types.Omitted) and isinstance(arg.value, (bool, int, float)):
        return numba.typeof(arg.value, Purpose.argument)
    return arg


#: Options of every kernel unless it says otherwise. No C callback wrapper (nothing passes a kernel as
#: a first-class function; it cost 5% of each compile). ``forceinline`` set, so that a kernel compiled
#: while an inlined one compiles does not inherit it (numba passes unset options on to callees).
KERNEL_OPTIONS = {"nopython": True, "no_cfunc_wrapper": True, "forceinline": False}


def njit(function: Callable[..., Any] | None = None, *, cache: bool = False, **options: Any) -> Any:
    """Numba's ``njit`` for the model's kernels: one version per argument types (``OneVersionDispatcher``).

    Used as ``@njit(cache=True)``, with numba's options (``inline="always"``: numba inlines the
    function's code before compiling its caller, at a compile cost per call site;
    ``forceinline=True``: the function is compiled once and LLVM inlines its machine code into
    every caller). With ``NUMBA_DISABLE_JIT=1`` the function stays plain Python, as with numba's own.
    """

    def decorate(py_func: Callable[..., Any]) -> Any:
        if config.DISABLE_JIT:
            return py_func
        dispatcher = OneVersionDispatcher(py_func=py_func, locals={}, targetoptions={**KERNEL_OPTIONS, **options})
        if cache:
            dispatcher.enable_caching()
        return dispatcher

    return decorate if function is None else decorate(function)
