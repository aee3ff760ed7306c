"""Informant channels: every output column has one, and every virtual study reads only the channels it names.

What a study reads is found by running it: each study runs once at its smallest
size on a ``Cohort`` that records the accessors and session columns the study
uses (``cohorts.ACCESSOR_COLUMNS`` says which output column each accessor stands
for). Reading the source for column names would miss the names a study builds
(``f"n_{kind}"``) and the columns its helpers read; running it sees them all.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulation.api import simulate
from simulation.model.parameters import SPECS
from simulation.run import channels as channels_module
from simulation.run.channels import CHANNELS, NOT_MEASURED, channel_columns, column_channel
from simulation.run.tables import DATA_DICTIONARY
from simulation.tools.cli import main
from simulation.validation import cohorts, studies
from simulation.validation.cohorts import ACCESSOR_COLUMNS, Cohort
from simulation.validation.designs import DesignError, load_design, shipped_designs
from simulation.validation.studies import STUDIES

ROOT = Path(__file__).resolve().parents[1]

#: Members of ``Cohort`` that are no data column: the run's parameters and the ways to read columns.
NOT_DATA = {"params", "s", "per_patient_mean"}
#: Members a study must not use: they bypass the accessors, so the test could not tell what is read.
BYPASS = {"raw", "course"}


# --- the vocabulary --------------------------------------------------------------------------------------------


def test_every_output_column_belongs_to_exactly_one_channel():
    owners = channel_columns()  # raises if a column is declared twice
    declared = {(table, column) for table, columns in DATA_DICTIONARY.items() for column in columns}
    assert set(owners) == declared
    tables = simulate(n_patients=4, n_sessions=2, seed=0).tables()
    for name, frame in tables.items():
        for column in frame.columns:
            assert column_channel(name, column) in {*CHANNELS, *NOT_MEASURED}, (name, column)


def test_a_column_declared_twice_is_refused(monkeypatch):
    twice = {**NOT_MEASURED, "design": {**NOT_MEASURED["design"], "sessions": ("aft_active", "symptom")}}
    monkeypatch.setattr(channels_module, "NOT_MEASURED", twice)
    with pytest.raises(ValueError, match=r"sessions.symptom belongs to symptom_scale and to design"):
        channels_module.channel_columns.__wrapped__()


def test_every_channel_is_described_and_names_declared_parameters():
    assert list(CHANNELS) == [
        "observer",
        "patient_psq",
        "therapist_psq",
        "patient_wai",
        "therapist_wai",
        "symptom_scale",
        "attendance",
        "latent",
    ]
    for name, channel in CHANNELS.items():
        assert channel.name == name and channel.title and channel.sees and channel.columns
        assert set(channel.parameters) <= set(SPECS), name
    measured = [c for c in CHANNELS.values() if c.name not in ("attendance", "latent")]
    assert all(c.threshold or c.noise for c in measured)  # an informant has a cut-off or an error, or both


# --- what the studies read ---------------------------------------------------------------------------------------


def _tracing_cohort(reads: set[tuple[str, str]]) -> type[Cohort]:
    """A ``Cohort`` that adds to ``reads`` every column a study reads through it (not the accessors' own reads)."""

    @dataclasses.dataclass
    class Traced(Cohort):
        _depth: int = 0

        def _inside(self, read: Callable[[], Any]) -> Any:
            """Run ``read`` one level down, so that what the accessor itself reads is not recorded."""
            object.__setattr__(self, "_depth", self._depth + 1)
            try:
                return read()
            finally:
                object.__setattr__(self, "_depth", self._depth - 1)

        def __getattribute__(self, name: str) -> Any:
            if name.startswith("_"):
                return object.__getattribute__(self, name)
            outer = self._depth == 0
            if outer and name in ACCESSOR_COLUMNS:
                reads.add(ACCESSOR_COLUMNS[name])
            elif outer and name in BYPASS:
                reads.add(("cohort", name))  # no output column: fails the test with the member's name
            value = self._inside(lambda: object.__getattribute__(self, name))
            if not (outer and inspect.ismethod(value)):
                return value

            def call(*args: Any, **kwargs: Any) -> Any:
                if name == "s":
                    reads.add(("sessions", args[0]))
                return self._inside(lambda: value(*args, **kwargs))

            return call

    return Traced


def columns_read(name: str, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """The output columns study ``name`` reads in one replication of its shipped design at its smallest size."""
    reads: set[tuple[str, str]] = set()
    with monkeypatch.context() as patch:
        patch.setattr(cohorts, "Cohort", _tracing_cohort(reads))
        STUDIES[name].run(seed=1, size_factor=0.0)
    return reads


def test_every_cohort_member_says_which_column_it_reads():
    members = {n for n, _ in inspect.getmembers(Cohort) if not n.startswith("_")}
    members |= {f.name for f in dataclasses.fields(Cohort)}
    assert members == set(ACCESSOR_COLUMNS) | NOT_DATA | BYPASS
    owners = channel_columns()
    assert all(column in owners for column in ACCESSOR_COLUMNS.values())


def test_studies_read_columns_only_through_the_accessors():
    tree = ast.parse(inspect.getsource(studies))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not used & BYPASS, "a study reads the engine's arrays directly; add an accessor to Cohort"


@pytest.mark.parametrize("name", list(STUDIES))
def test_a_study_reads_exactly_the_channels_its_design_file_names(name, monkeypatch):
    reads = columns_read(name, monkeypatch)
    owners = channel_columns()
    unknown = sorted(r for r in reads if r not in owners)
    assert not unknown, f"{name} reads columns that belong to no channel: {unknown}"
    read = {owners[r] for r in reads} - set(NOT_MEASURED)
    declared = set(STUDIES[name].design.channels)
    by_channel = {c: sorted(col for (t, col) in reads if owners[t, col] == c) for c in read}
    assert read <= declared, f"{name} reads {by_channel} but its design file names only {sorted(declared)}"
    assert declared <= read, f"{name} names {sorted(declared - read)} in its design file but reads none of it"


# --- design files: channels and early leavers ----------------------------------------------------------------------


def test_designs_that_read_outcomes_or_exits_say_how_they_count_early_leavers():
    for name, design in shipped_designs().items():
        if {"symptom_scale", "attendance"} & set(design.channels):
            assert "Early leavers:" in design.description, name
        if "count_good_enough" in design.values:
            counts_all = design.values["count_good_enough"]
            assert ("so a good-enough ending counts as a dropout" in design.description) == counts_all, name


def _copy_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = Path(shipped_designs()[name].path).read_text()
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            'channels = ["attendance"]',
            'channels = ["atendance"]',
            [
                "channels[0] must be an informant channel",
                "observer, patient_psq",
                "latent",
                "did you mean 'attendance'",
            ],
        ),
        ('channels = ["attendance"]', "channels = []", ["channels must be a list of at least 1"]),
        ('channels = ["attendance"]', 'channels = "attendance"', ["channels must be a list"]),
        ('channels = ["attendance"]', 'channels = ["attendance", "attendance"]', ["more than once", "attendance"]),
        ('channels = ["attendance"]', 'channels = ["attendance", "latent"]', ["description must say", "latent"]),
        ('channels = ["attendance"]\n', "", ["missing the key channels"]),
    ],
)
def test_a_bad_channels_key_is_one_sentence_naming_the_field(tmp_path: Path, old, new, words):
    path = _copy_with(tmp_path, "bpd_dropout", old, new)
    with pytest.raises(DesignError) as info:
        load_design(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, (word, message)


def test_channels_are_kept_in_vocabulary_order(tmp_path: Path):
    path = _copy_with(tmp_path, "bpd_dropout", 'channels = ["attendance"]', 'channels = ["attendance", "observer"]')
    assert load_design(path).channels == ("observer", "attendance")


def test_validate_with_an_unknown_channel_is_exit_code_2_and_one_sentence(tmp_path: Path, capsys):
    path = _copy_with(tmp_path, "bpd_dropout", 'channels = ["attendance"]', 'channels = ["exit_record"]')
    out = tmp_path / "out"
    assert main(["validate", "--design", str(path), "--quick", "--workers", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("rupture-sim: error: ") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{path}: channels[0] must be an informant channel: one of {', '.join(CHANNELS)}" in err
    assert not out.exists() and not captured.out


# --- where users see the channels ----------------------------------------------------------------------------------


def test_validate_list_shows_the_channels_of_every_study(capsys):
    assert main(["validate", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], lines[1:]
    assert header.split() == ["targets", "study", "channels", "design", "file"]
    for line, study in zip(rows, STUDIES.values(), strict=True):
        assert f"  {', '.join(study.design.channels)}  " in line, line


def test_model_md_tables_every_channel_with_its_parameters_and_columns():
    text = (ROOT / "docs" / "MODEL.md").read_text()
    section = text[text.index("#### Informant channels") : text.index("### 7.7")]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", section, flags=re.M)}
    assert list(rows) == list(CHANNELS)
    for name, channel in CHANNELS.items():
        for parameter in channel.parameters:
            assert f"`{parameter}`" in rows[name], (name, parameter)


def test_data_dictionary_names_the_channel_of_every_column():
    text = (ROOT / "docs" / "DATA_DICTIONARY.md").read_text()
    for (table, column), owner in channel_columns().items():
        section = text[text.index(f'<a id="{table}"></a>') :]
        row = next(line for line in section.splitlines() if line.startswith(f"| `{column}` |"))
        assert f"| {owner} |" in row, (table, column, row)


def test_the_report_names_the_channels_of_each_target_and_study(tmp_path: Path):
    out = tmp_path / "validation"
    argv = ["validate", "--only", "T10,T13", "--replications", "2", "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    report = (out / "report.md").read_text()
    section = report[report.index("## Targets") : report.index("## Checks")]
    targets = {m.group(1): m.group(0) for m in re.finditer(r"^\| (T\d+) \| .*$", section, flags=re.M)}
    assert "| patient_wai, symptom_scale, latent |" in targets["T10"]
    assert "| patient_psq, therapist_psq, attendance |" in targets["T13"]
    assert "Channels: patient_wai, symptom_scale, latent. Design file" in report
    assert "Channels: patient_psq, therapist_psq, attendance. Design file" in report
