"""The documentation matches the code: data dictionary, parameter declarations, generated docs, MODEL.md."""

import ast
import re
from pathlib import Path

import pytest

from simulation import simulate
from simulation.model.parameters import PARAMETERS
from simulation.report.docs import GENERATED_FILES, write_docs
from simulation.run.tables import DATA_DICTIONARY

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RULES = ROOT / "simulation" / "model" / "rules.py"
SESSION = ROOT / "simulation" / "model" / "session.py"
LITERATURE_ID = re.compile(r"\b(T(20|1[0-9]|[1-9])|S[1-9])\b")


@pytest.fixture(scope="module")
def tables():
    return simulate(n_patients=6, n_sessions=3, seed=0).tables()


# (a) every output column is defined, and every definition is of an output column ------------
def test_every_table_has_a_dictionary_section(tables):
    assert set(tables) == set(DATA_DICTIONARY)


@pytest.mark.parametrize("name", ["sessions", "patients", "events", "therapists"])
def test_dictionary_matches_columns(tables, name):
    columns = set(tables[name].columns)
    defined = set(DATA_DICTIONARY[name])
    assert columns - defined == set(), f"{name}: columns without a definition"
    assert defined - columns == set(), f"{name}: definitions of columns that do not exist"
    assert all(text.strip() for text in DATA_DICTIONARY[name].values())


# (b) every parameter is declared with meaning, scale and a source ---------------------------
@pytest.mark.parametrize("spec", PARAMETERS, ids=lambda s: s.name)
def test_parameter_declaration(spec):
    assert spec.meaning.strip(), "meaning is empty"
    assert spec.scale.strip(), "scale is empty"
    assert LITERATURE_ID.search(spec.source) or "assumption" in spec.source.lower(), (
        f"source {spec.source!r} names no literature id (T1-T20, S1-S9) and is not an assumption"
    )
    assert spec.low <= spec.default <= spec.high
    if spec.integer:
        assert float(spec.default).is_integer()


def test_parameter_names_are_unique():
    names = [spec.name for spec in PARAMETERS]
    assert len(names) == len(set(names))


# (c) the committed generated docs are what the code generates now ---------------------------
def test_generated_docs_are_up_to_date(tmp_path):
    written = write_docs(tmp_path)
    assert [path.name for path in written] == list(GENERATED_FILES)
    for path in written:
        committed = DOCS / path.name
        assert committed.exists(), f"docs/{path.name} is missing; run write_docs"
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"docs/{path.name} is stale: regenerate with `rupture-sim docs` or simulation.report.docs.write_docs"
        )


def test_generation_is_deterministic(tmp_path):
    first = [p.read_bytes() for p in write_docs(tmp_path / "a")]
    second = [p.read_bytes() for p in write_docs(tmp_path / "b")]
    assert first == second


def test_generated_docs_cover_every_parameter_and_column():
    parameters = (DOCS / "PARAMETERS.md").read_text(encoding="utf-8")
    dictionary = (DOCS / "DATA_DICTIONARY.md").read_text(encoding="utf-8")
    for spec in PARAMETERS:
        assert f"| `{spec.name}` |" in parameters
    for columns in DATA_DICTIONARY.values():
        for column in columns:
            assert f"| `{column}` |" in dictionary
    assert "(undocumented)" not in dictionary


# (d) MODEL.md, rules.py and session.py name the same rules and steps -------------------------
def _rule_functions() -> tuple[set[str], set[str]]:
    """All function names of rules.py and session.py, and the public ones compiled with numba."""
    every, compiled = set(), set()
    for node in [node for path in (RULES, SESSION) for node in ast.parse(path.read_text(encoding="utf-8")).body]:
        if not isinstance(node, ast.FunctionDef):
            continue
        every.add(node.name)
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name == "njit" and not node.name.startswith("_"):
                compiled.add(node.name)
    return every, compiled


def _submodel_headings(text: str) -> list[str]:
    """Backticked names in the headings of MODEL.md's Submodels section."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^## .*Submodels", line))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    names = []
    for line in lines[start + 1 : end]:
        if line.startswith("###"):
            names += re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", line)
    return names


def test_submodels_name_existing_rules():
    every, _ = _rule_functions()
    named = _submodel_headings((DOCS / "MODEL.md").read_text(encoding="utf-8"))
    assert len(named) >= 20
    assert set(named) - every == set(), "MODEL.md describes rules that rules.py and session.py do not have"


def test_every_compiled_rule_is_described():
    _, compiled = _rule_functions()
    text = (DOCS / "MODEL.md").read_text(encoding="utf-8")
    assert compiled, "no @njit functions found in rules.py"
    missing = {name for name in compiled if f"`{name}`" not in text}
    assert missing == set(), "rules.py or session.py functions missing from MODEL.md"


def test_model_md_shows_the_schedule_as_written():
    """MODEL.md quotes ``run_session``'s body verbatim, so the description cannot drift from the code."""
    tree = ast.parse(SESSION.read_text(encoding="utf-8"))
    run_session = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run_session")
    lines = SESSION.read_text(encoding="utf-8").splitlines()
    body = lines[run_session.body[1].lineno - 1 : run_session.end_lineno]  # after the docstring
    schedule = "\n".join(line[4:] for line in body)
    assert schedule in (DOCS / "MODEL.md").read_text(encoding="utf-8")
    assert len(body) <= 80, "run_session should stay a short schedule"


def test_model_md_has_the_odd_sections():
    text = (DOCS / "MODEL.md").read_text(encoding="utf-8")
    for heading in ("Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
                    "Design concepts", "Initialisation", "Input data", "Submodels"):  # fmt: skip
        assert re.search(rf"^## .*{re.escape(heading)}", text, re.MULTILINE), heading
    assert "Resolution complexity" in text
