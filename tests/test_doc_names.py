"""Every module path, dotted name and link in the documentation, docstrings and comments points at something real.

A renamed or moved module leaves its old name behind in prose, where no import fails. This test reads the
README, the guides in ``docs/``, the other Markdown files, the design files, the scripts and every ``.py``
file of the repository (docstrings, comments and strings included) and fails on:

- a dotted name of the package (``simulation`` followed by ``.module`` and attributes) that does not import
  or has no such attribute;
- a path of the package (``simulation/<folder>/<file>``, or the short ``<folder>/<file>.py`` that names a
  folder of the package) that does not exist;
- in Markdown, a backticked dotted name that starts with a module's own name (``session.session_keys``,
  ``runner.chosen_targets``) that no module of that name has;
- a relative Markdown link (``[text](path#anchor)``) whose file or heading does not exist.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulation"
#: Folders of generated files: outputs, caches, virtual environments (any hidden folder) and install metadata.
SKIP_DIRS = {"results", "build", "__pycache__"}
SUFFIXES = {".py", ".md", ".toml", ".sh", ".txt"}
ROOT_NAME = PACKAGE.name
FOLDERS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())

#: ``simulation.a.b``: the package name followed by dotted identifiers, not inside a longer name or path.
DOTTED = re.compile(rf"(?<![\w./-]){ROOT_NAME}(?:\.[A-Za-z_]\w*)+")
#: ``simulation/a/b.py`` or ``simulation/a/`` (anything under the package folder).
LONG_PATH = re.compile(rf"(?<![\w./-]){ROOT_NAME}/[\w./-]*\w")
#: ``a/b.py`` where ``a`` is a folder of the package (the short form used inside the package's own docs).
SHORT_PATH = re.compile(rf"(?<![\w./-])(?:{'|'.join(FOLDERS)})/[\w/]*\.py\b")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: A backticked dotted name in Markdown (``module.attribute``, maybe called).
BACKTICKED = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\([^`]*\))?`")
#: Endings that make a dotted word a file name, not a module path.
FILE_ENDINGS = {"py", "md", "toml", "csv", "json", "jsonl", "sh", "txt", "parquet", "png", "html", "log"}


def _documents() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*")
        if path.suffix in SUFFIXES
        and path.is_file()
        and not any(_generated(part) for part in path.relative_to(ROOT).parts)
    )


def _generated(part: str) -> bool:
    return part in SKIP_DIRS or part.startswith(".") or part.endswith(".egg-info")


DOCUMENTS = _documents()


def _attribute(obj: object, name: str) -> object:
    if hasattr(obj, name):
        return getattr(obj, name)
    if isinstance(obj, np.dtype) and obj.names and name in obj.names:  # a field of a record dtype
        return obj.fields[name][0]
    fields = getattr(obj, "__dataclass_fields__", {})  # a dataclass field without a default is no class attribute
    if name in fields:
        return fields[name].type if isinstance(fields[name], dataclasses.Field) else fields[name]
    raise AttributeError(name)


@cache
def resolves(dotted: str) -> bool:
    """Whether ``dotted`` is an importable module, or a module followed by existing attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: object = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and module_name.startswith(err.name):
                continue  # this prefix is no module: try a shorter one
            raise  # a dependency is missing: not the document's fault
        try:
            for name in parts[cut:]:
                obj = _attribute(obj, name)
        except AttributeError:
            return False
        return True
    return False


def _where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, index) + 1}"


def _occurrences(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    found = []
    for path in DOCUMENTS:
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8")
        found += [(match.group(0), _where(path, text, match.start())) for match in pattern.finditer(text)]
    return found


def test_the_scan_reads_the_documents_it_is_meant_to():
    names = {path.relative_to(ROOT).as_posix() for path in DOCUMENTS}
    assert {"README.md", "docs/MODEL.md", "docs/ARCHITECTURE.md", "simulation/model/rules.py"} <= names
    assert len(_occurrences(DOTTED)) > 50 and len(_occurrences(LONG_PATH)) > 50


def test_dotted_names_resolve():
    broken = sorted({f"{where}: {name}" for name, where in _occurrences(DOTTED) if not resolves(name)})
    assert broken == [], "dotted names that do not import or have no such attribute:\n" + "\n".join(broken)


def test_package_paths_exist():
    broken = [f"{where}: {path}" for path, where in _occurrences(LONG_PATH) if not (ROOT / path).exists()]
    broken += [f"{where}: {path}" for path, where in _occurrences(SHORT_PATH) if not (PACKAGE / path).exists()]
    assert broken == [], "paths of the package that do not exist:\n" + "\n".join(sorted(set(broken)))


@cache
def _modules_named() -> dict[str, list[str]]:
    """The package's modules by their last name (``session`` -> ``simulation.model.session``)."""
    names: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names.setdefault(module.rsplit(".", 1)[-1], []).append(module)
    return names


def test_short_dotted_names_in_markdown_resolve():
    """``session.session_keys`` in a guide must be an attribute of some module named ``session``."""
    broken, checked = [], 0
    for path in [path for path in DOCUMENTS if path.suffix == ".md"]:
        text = path.read_text(encoding="utf-8")
        for match in BACKTICKED.finditer(text):
            first, rest = match.group(1).split(".", 1)
            if first == ROOT_NAME or first not in _modules_named() or rest.rsplit(".", 1)[-1] in FILE_ENDINGS:
                continue
            checked += 1
            if not any(resolves(f"{module}.{rest}") for module in _modules_named()[first]):
                broken.append(f"{_where(path, text, match.start())}: {match.group(1)}")
    assert checked > 50
    assert broken == [], "short dotted names no module of that name has:\n" + "\n".join(broken)


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower()).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    headings = {_slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}
    return headings | set(re.findall(r'<a id="([^"]+)"', text))  # and explicit anchors


MARKDOWN = [path for path in DOCUMENTS if path.suffix == ".md"]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_anchors_exist(path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == [], f"{path.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The resolver and the patterns reject stale names (built here, so this file holds none to find)."""
    stale = ".".join((ROOT_NAME, "docs", "write_docs"))
    assert not resolves(stale)
    assert resolves(".".join((ROOT_NAME, "report", "docs", "write_docs")))
    assert resolves(".".join((ROOT_NAME, "model", "parameters", "Param", "low")))  # a dataclass field
    assert not resolves(".".join((ROOT_NAME, "model", "parameters", "Param", "nothing")))
    assert DOTTED.findall(f"see ``{stale}``.") == [stale]
    assert SHORT_PATH.findall("`run/futures.py`, experiments/explore/x.py") == ["run/futures.py"]
    assert not (PACKAGE / "run" / "futures.py").exists()
    assert not any(resolves(f"{module}.run_session") for module in _modules_named()["rules"])
    assert any(resolves(f"{module}.run_session") for module in _modules_named()["session"])
    assert BACKTICKED.findall("`session.session_keys(seed)` and `report.md`") == ["session.session_keys", "report.md"]
    page = tmp_path / "a.md"
    page.write_text("# A title\n\n## Calibration\n")
    assert _anchors(page) == {"a-title", "calibration"}
    assert _slug("Validation against the literature") == "validation-against-the-literature"
    assert _slug("Strain update (in `between_sessions`)") == "strain-update-in-between_sessions"
