"""The code blocks of the README and of every guide in docs/ work as written.

- ``python`` blocks run, each in a fresh namespace.
- ``toml`` blocks are sweep specs: each parses and varies what the shipped spec of that name varies.
- ``bash`` blocks are commands that take from seconds to many minutes (the main job, sweeps, the full
  validation, the app), so they are not run here, by design; each line is checked instead: a
  ``rupture-sim`` command must be accepted by the command line's own parser (a renamed command or
  option fails), and a script, experiment or file it names must exist.
- A python block may be marked as not run with ``<!-- not run: REASON -->`` on the line before it
  (e.g. MODEL.md's quote of ``run_session``, which ``tests/test_docs.py`` checks against the code); the
  reason is required, and the marked blocks are listed in ``test_blocks_marked_not_run_say_why``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"(?:<!-- not run: (?P<reason>[^>]*?) -->\n)?```(?P<lang>\w*)[^\n]*\n(?P<code>.*?)```", re.S)


def _blocks(lang: str) -> list[tuple[Path, int, str, str | None]]:
    """(document, line, code, reason it is not run) of every block of ``lang`` in the README and the guides."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group("lang") == lang:
                line = text.count("\n", 0, match.start("code")) + 1
                found.append((path, line, match.group("code"), match.group("reason")))
    return found


def _id(block: tuple) -> str:
    return f"{block[0].relative_to(ROOT)}:{block[1]}"


PYTHON = _blocks("python")
BASH = _blocks("bash")


def test_the_guides_have_examples_to_run():
    runnable = {path.name for path, _, _, reason in PYTHON if reason is None}
    assert {"README.md", "TEACHING.md", "EXPERIMENTS.md"} <= runnable
    assert {"README.md", "VALIDATION.md", "EXPERIMENTS.md", "TEACHING.md"} <= {path.name for path, *_ in BASH}


@pytest.mark.parametrize("block", [b for b in PYTHON if b[3] is None], ids=_id)
def test_python_examples_run(block):
    path, line, code, _ = block
    namespace: dict = {}
    exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)  # line numbers as in the document
    if "res" in namespace:
        assert len(namespace["res"].sessions) > 0


def test_blocks_marked_not_run_say_why():
    marked = {_id(block): block[3].strip() for block in PYTHON if block[3] is not None}
    assert all(len(reason) > 20 for reason in marked.values()), marked
    assert set(marked) <= {f"docs/MODEL.md:{line}" for path, line, *_ in PYTHON if path.name == "MODEL.md"}


def _commands(code: str) -> list[list[str]]:
    lines = [line for line in code.splitlines() if line.strip()]
    return [shlex.split(line, comments=True) for line in lines]


@pytest.mark.parametrize("block", BASH, ids=_id)
def test_shell_examples_name_real_commands_and_files(block):
    from simulation.tools.cli import CliError, build_parser

    for words in _commands(block[2]):
        program, *args = words
        if program.endswith("rupture-sim"):
            try:
                build_parser().parse_args(args)
            except (CliError, SystemExit) as refusal:  # the CLI's one sentence, or argparse's exit
                pytest.fail(f"{_id(block)}: the command line refuses `{shlex.join(words)}`: {refusal}")
        elif program in ("bash", ".venv/bin/python", "cp"):
            assert (ROOT / args[0]).exists(), f"{_id(block)}: {args[0]} does not exist"
        else:
            pytest.fail(f"{_id(block)}: unknown program {program!r}: teach this test how to check it")


def test_shell_check_refuses_what_it_should():
    from simulation.tools.cli import CliError, build_parser

    with pytest.raises(CliError, match="--quik"):
        build_parser().parse_args(["validate", "--quik"])
    with pytest.raises(CliError, match="teach"):
        build_parser().parse_args(["teach"])


def test_spec_examples_are_valid_specs_like_the_shipped_ones():
    from simulation.sweep.spec import load_spec, parse_spec

    blocks = _blocks("toml")
    assert blocks
    for _, _, code, _ in blocks:
        spec = parse_spec(code)
        shipped = load_spec(ROOT / "experiments" / f"{spec.name}.toml")
        assert list(spec.vary) == list(shipped.vary)


def test_validation_guide_tables_list_every_check():
    """docs/VALIDATION.md carries the tables that move on recalibration: one row per declared check, no stale ids."""
    from simulation.validation.targets import CHECKS

    text = (ROOT / "docs" / "VALIDATION.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (T\d+[a-z]?) \|", text, flags=re.M))
    assert set(CHECKS) - rows == set(), "checks missing from the tables of docs/VALIDATION.md"
    assert rows - set(CHECKS) == set(), "rows of docs/VALIDATION.md name checks that targets.py does not declare"
