"""Output folders: checked before any work, built in a hidden staging folder, swapped in atomically.

Every command that writes a folder calls ``check_output`` first, so an
unusable path (a file, a path under a file, a read-only place, ``.``, ``''``
or a folder that contains the working directory) is one sentence before any
computation, in a dry run too. ``staging_folder`` builds a result next to its
target and swaps it in with one atomic exchange (``renameat2`` with
``RENAME_EXCHANGE`` where the platform has it, else two renames); staging
folders of killed runs are removed, or restored, on the next start.
``--overwrite`` replaces only a folder this tool wrote (its ``MARKER`` file).

One folder, one writer: every command that writes a folder holds
``folder_lock`` for the whole run (resume included), an exclusive advisory
lock (``flock``) on ``LOCK`` inside a folder that is resumed in place, or on a
hidden sibling ``.NAME.lock`` of a folder that is swapped in whole. It is
taken before anything is written; a second writer gets one sentence naming
the folder and the process that holds it, and touches nothing. The kernel
drops the lock of a process that dies, however it dies, so a lock file left by
a killed run is stale by construction and the next run takes it over; a run
that ends removes its lock file.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: File in every folder this tool writes; ``--overwrite`` replaces only folders that hold it.
MARKER = ".rupture-sim"
#: The lock file inside a folder being written (it holds the writer's process id).
LOCK = ".rupture-sim.lock"
#: How long a second writer waits for a process that just died to release its lock (its workers end first).
_RELEASE_WAIT = 5.0
#: Files of results written before the marker existed (a folder of only these counts as ours).
_LEGACY_FILES = re.compile(r"[\w.-]+\.(parquet|png)|summary\.md|manifest\.json|parameters\.json")
_STALE = re.compile(r"\.(?P<name>.+)\.(?P<kind>partial|old)-(?:(?P<pid>\d+)-)?[\w]+")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(ValueError):
    """An output path that cannot be used (one sentence naming the option, the path and the reason)."""


def check_output(option: str, path: str | os.PathLike[str], parent: bool = False) -> Path:
    """Check that ``path`` can be created or written as an output folder, before any work.

    Args:
        option: The option or argument that named the path, e.g. ``"--out"``.
        path: The folder.
        parent: ``path`` only holds the output folder (``run --out``), so it may
            be or contain the working directory.

    Returns:
        The path.

    Raises:
        OutputError: For an empty path, ``.``, a folder containing the working
            directory, a file, a path under a file, or a place that cannot be written.
    """
    text = os.fspath(path)
    if not text.strip():
        raise OutputError(f"{option} '' is not a folder name; give a folder such as results/mine.")
    shown = text if text.isprintable() else repr(text)
    shown = shown if len(shown) <= 100 else f"{shown[:80]}... ({len(text)} characters)"
    try:
        return _check_folder(option, Path(text), shown, parent)
    except (OSError, RuntimeError, ValueError) as err:  # e.g. a name too long, a symlink loop, a NUL byte
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"{option} {shown} cannot be used as a folder ({_reason(err)}).") from None


def _check_folder(option: str, folder: Path, text: str, parent: bool) -> Path:
    """The checks of ``check_output`` (``text`` is the path as shown in messages)."""
    resolved, cwd = folder.resolve(), Path.cwd().resolve()
    if not parent and (resolved == cwd or resolved in cwd.parents):
        raise OutputError(f"{option} {text} is or contains the working directory; give a folder inside it.")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {text} is a file, not a folder.")
    existing = next((p for p in [folder, *folder.absolute().parents] if p.exists()), Path("/"))
    if not existing.is_dir():
        raise OutputError(f"{option} {text} lies under {existing}, which is a file.")
    _probe(option, text, existing)
    return folder


def _probe(option: str, text: str, folder: Path) -> None:
    """Create and delete a file in ``folder``: the only test of writability that holds for root too."""
    try:
        handle, name = tempfile.mkstemp(prefix=".rupture-sim-probe-", dir=folder)
        os.close(handle)
        os.unlink(name)
    except OSError as err:
        raise OutputError(f"{option} {text} cannot be written (in {folder}: {_reason(err)}).") from None


def _reason(err: Exception) -> str:
    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "read-only or not permitted"
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return "full"
    return getattr(err, "strerror", None) or err.__class__.__name__


def written_by_us(folder: Path, kind: str) -> bool:
    """Whether this tool wrote ``folder`` as a ``kind`` result: its marker says so, or it holds only such files.

    The second case accepts results written before the marker existed.
    """
    try:
        return json.loads((folder / MARKER).read_text()).get("kind") == kind
    except (OSError, ValueError, AttributeError):
        pass
    entries = list(folder.iterdir())
    return bool(entries) and all(
        (p.is_file() and _LEGACY_FILES.fullmatch(p.name)) or (p.is_dir() and p.name == "figures") for p in entries
    )


def check_replaceable(option: str, target: Path, kind: str, overwrite: bool, overwrite_any: bool = False) -> None:
    """Refuse to replace ``target`` unless asked to, and unless this tool wrote it as ``kind`` or ``overwrite_any``.

    Raises:
        OutputError: If ``target`` exists and may not be replaced.
    """
    if not target.exists():
        return
    if not (overwrite or overwrite_any):
        raise OutputError(f"Output folder {target} already exists; pass --overwrite to replace it.")
    if not overwrite_any and not (target.is_dir() and written_by_us(target, kind)):
        count = sum(1 for _ in target.rglob("*")) if target.is_dir() else 1
        raise OutputError(
            f"{option} {target} is not a {kind} folder written by rupture-sim (no {MARKER} file marks it so); "
            f"--overwrite-any would delete it with its {count} files and folders."
        )


def prepare_target(
    option: str, path: str | os.PathLike[str], kind: str, overwrite: bool, overwrite_any: bool = False
) -> Path:
    """Everything about an output folder that can fail, checked before any work.

    Checks the path, clears staging folders that killed runs left (restoring an
    old result they held), and refuses a folder that may not be replaced.

    Raises:
        OutputError: As ``check_output`` and ``check_replaceable`` do.
    """
    target = check_output(option, path)
    clean_stale(target)
    check_replaceable(option, target, kind, overwrite, overwrite_any)
    return target


def write_marker(folder: Path, kind: str) -> None:
    """Mark ``folder`` as written by this tool (what ``--overwrite`` looks for)."""
    (folder / MARKER).write_text(json.dumps({"written_by": "rupture-sim", "kind": kind}) + "\n")


def clean_stale(target: Path) -> None:
    """Remove staging folders of ``target`` that killed runs left, restoring an old result if it is missing.

    A staging folder is stale when the process named in it is gone.
    """
    parent = target.parent
    if not parent.is_dir():
        return
    for path in sorted(parent.glob(f".{target.name}.*-*")):
        match = _STALE.fullmatch(path.name)
        if not match or match["name"] != target.name or _alive(match["pid"]):
            continue
        kept = path / target.name
        if match["kind"] == "old" and kept.is_dir() and not target.exists():
            kept.rename(target)
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: str | None) -> bool:
    """Whether the process that named a staging folder still runs (folders named without a pid are stale)."""
    if pid is None:
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _stage(target: Path, kind: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}-{os.getpid()}-", dir=target.parent))


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where the platform cannot."""
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def staging_folder(target: Path, overwrite: bool, kind: str, overwrite_any: bool = False) -> Iterator[Path]:
    """A hidden sibling folder that becomes ``target`` only when the block finishes.

    The old ``target`` (if any, and only if it may be replaced) is swapped out
    atomically and then deleted.

    Raises:
        OutputError: If ``target`` exists and may not be replaced.
    """
    with folder_lock(target, sibling=True):
        clean_stale(target)
        check_replaceable("--out", target, kind, overwrite, overwrite_any)
        with _staged(target, overwrite, kind, overwrite_any) as staging:
            yield staging


@contextlib.contextmanager
def _staged(target: Path, overwrite: bool, kind: str, overwrite_any: bool) -> Iterator[Path]:
    """The staging folder of ``staging_folder`` (its caller holds the lock), swapped in when the block ends."""
    staging = _stage(target, "partial")
    staging.chmod(0o755)  # mkdtemp makes it private; the result should read like any other folder
    try:
        yield staging
        write_marker(staging, kind)
        if target.exists():
            check_replaceable("--out", target, kind, overwrite, overwrite_any)  # it may have appeared meanwhile
            _swap(staging, target)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; afterwards ``staging`` holds the old result (to be deleted)."""
    if exchange(staging, target):
        return
    old = _stage(target, "old")
    target.rename(old / target.name)  # a kill here leaves the old result in .NAME.old-*: clean_stale restores it
    staging.rename(target)
    (old / target.name).rename(staging)
    old.rmdir()


# --- one writer per folder ---------------------------------------------------------------------------------------

#: Locks this process holds: lock file -> nesting depth (a command and the functions it calls may each ask).
_HELD: dict[str, int] = {}


def lock_path(folder: Path, sibling: bool = False) -> Path:
    """The lock file of ``folder``: inside it, or (``sibling``) next to it for a folder that is swapped in whole."""
    return folder.parent / f".{folder.name}.lock" if sibling else folder / LOCK


@contextlib.contextmanager
def folder_lock(folder: Path, sibling: bool = False) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` for the block (re-entrant within a process).

    Creates ``folder`` (or, for ``sibling``, its parent) if needed: the lock must
    live somewhere; nothing else is written before the lock is held.

    Raises:
        OutputError: If another process holds the lock (the sentence names the folder and its process id).
    """
    path = lock_path(Path(folder), sibling)
    key = os.path.abspath(path)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = _acquire(path, Path(folder))
    except OutputError:
        _remove_if_empty(path.parent, created)
        raise
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked: a waiting opener then sees another inode and retries
        os.close(fd)
        _remove_if_empty(path.parent, created)


def _remove_if_empty(folder: Path, created: bool) -> None:
    """Remove a folder made only to hold a lock if the run wrote nothing into it (e.g. it was refused)."""
    if created:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _acquire(path: Path, folder: Path) -> int:
    """Lock ``path`` (creating it) and write this process's id in it; return the open descriptor."""
    deadline = time.monotonic() + _RELEASE_WAIT
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _holder(path)
            if holder is not None and not _alive(str(holder)) and time.monotonic() < deadline:
                time.sleep(0.1)  # a killed writer's workers are still ending; they release the lock with them
                continue
            who = f"process {holder}" if holder is not None else "another process"
            raise OutputError(
                f"{folder} is being written by rupture-sim {who}; wait for it to finish or choose another folder."
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed the file as we opened it: lock the new one
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _holder(path: Path) -> int | None:
    """The process id in a lock file (the holder writes it just after locking: wait a moment for it)."""
    for _ in range(20):
        try:
            text = path.read_text().strip()
        except OSError:
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.05)
    return None
