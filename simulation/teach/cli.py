"""The teaching subcommands of ``rupture-sim``: ``demo``, ``export-session`` and ``app``."""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from simulation.extras import require
from simulation.model.parameters import ParameterError
from simulation.run.forks import parse_fork, response_names
from simulation.teach.chapters import CHAPTERS
from simulation.workers import exit_with_parent

DEFAULT_CHAPTER = "hostile-vs-metacommunication"


def _count(low: int, high: int, name: str):
    """Argument type: a whole number in a range, with a one-sentence message naming the option."""

    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number from {low} to {high} (got {text!r})")
        return int(text)

    return parse


def _add_course(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default=DEFAULT_CHAPTER, choices=list(CHAPTERS), metavar="NAME",
                   help=f"teaching chapter, one of: {', '.join(CHAPTERS)} (default: {DEFAULT_CHAPTER})")  # fmt: skip
    p.add_argument("--sessions", type=_count(1, 60, "--sessions"), default=6, help="sessions (default: 6)")
    p.add_argument("--seed", type=_count(0, 2**31, "--seed"), default=3, help="root seed (default: 3)")
    p.add_argument("--fork", metavar="SESSION.SEGMENT:RESPONSE", default=None,
                   help=f"what-if: impose a response at a segment the transcript labels [SESSION.SEGMENT]; "
                        f"RESPONSE is one of {response_names()}")  # fmt: skip


def cmd_demo(args: argparse.Namespace) -> int:
    """Print the chapter's course in 3RS words (and the what-if)."""
    from simulation.teach.chapters import demo_text

    fork = parse_fork(args.fork) if args.fork else None
    print(demo_text(args.preset, args.sessions, args.seed, fork))
    return 0


def cmd_export_session(args: argparse.Namespace) -> int:
    """Write the static page of the chapter's course."""
    from simulation.teach.export_session import export_session

    fork = parse_fork(args.fork) if args.fork else None
    out = Path(args.out)
    if out.is_symlink() and not args.overwrite:  # a dangling link does not "exist", yet writing would follow it
        raise ParameterError(f"--out {out} is a symbolic link; pass --overwrite to write where it points.")
    if out.exists() and not args.overwrite:
        raise ParameterError(f"--out {out} exists; pass --overwrite to replace it.")
    print(f"wrote {export_session(out, args.preset, args.sessions, args.seed, fork)}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the teaching app (SolaraViz) until interrupted."""
    if not args.host.strip():
        raise ParameterError("--host '' would listen on every interface; give an address such as 127.0.0.1.")
    if args.host not in ("127.0.0.1", "localhost"):
        print(f"warning: the app will listen on {args.host}, reachable from other machines; "
              "it has no login. Use 127.0.0.1 unless you mean it.", file=sys.stderr)  # fmt: skip
    return serve(args.host, args.port)


def serve(host: str, port: int) -> int:
    """Run the app (``simulation/teach/app.py``) with ``solara run`` in production mode until interrupted.

    Raises:
        MissingExtraError: If the app's libraries (the ``app`` extra) are not installed.
    """
    for library in ("solara", "altair"):
        require(library, "The teaching app")
    app = Path(importlib.util.find_spec("simulation.teach").origin).parent / "app.py"
    command = [sys.executable, "-m", "solara", "run", str(app), "--host", host, "--port", str(port),
               "--production", "--no-open", "--no-check-version"]  # fmt: skip
    print(f"rupture-sim app on http://{host}:{port} (Ctrl+C to stop)", flush=True)
    # No "runs on Solara" banner over the plots on a projector; the page names itself; no telemetry.
    env = {**os.environ, "SOLARA_THEME_SHOW_BANNER": "False", "SOLARA_THEME_TITLE": "rupture-sim teaching",
           "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}  # fmt: skip
    # the server dies with this process however it ends (kill -9 too), as pool workers do
    server = subprocess.Popen(command, env=env, preexec_fn=functools.partial(exit_with_parent, os.getpid()))
    try:
        return server.wait()
    except KeyboardInterrupt as err:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if type(err).__name__ == "Terminated":  # SIGTERM: the command line's 143
            raise
        return 0


def add_teaching(sub: Any) -> None:
    """Add ``demo``, ``export-session`` and ``app`` to the subcommands."""
    demo = sub.add_parser("demo", help="a narrated course in 3RS terms in the terminal (teaching)")
    _add_course(demo)
    demo.set_defaults(handler=cmd_demo)
    export = sub.add_parser("export-session", help="a static HTML page of a narrated course (teaching)")
    _add_course(export)
    export.add_argument("--out", default="session.html", help="HTML file to write (default: session.html)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing file")
    export.set_defaults(handler=cmd_export_session)
    app = sub.add_parser("app", help="the teaching app in the browser (SolaraViz)")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    app.add_argument("--port", type=_count(1, 65535, "--port"), default=8765, help="port (default: 8765)")
    app.set_defaults(handler=cmd_app)
