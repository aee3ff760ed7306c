"""Designs of the virtual studies: one experiment file (TOML) per study, read and checked here.

Every virtual study of ``studies`` reproduces the design of a published study
(targets T1-T17 of literature.md). The design is not written in the code: it is
declared in an experiment file, one per study, shipped inside the package in
``simulation/validation/designs/`` (``design_folder()``), so that
``rupture-sim validate`` finds it from any directory, in an editable and in a
normal install. ``experiments/virtual_studies/README.md`` points there. A file::

    name = "bpd_rct"                    # the virtual study (a key of SCHEMAS)
    targets = ["T12"]                   # the targets whose checks use this study (targets.py)
    channels = ["symptom_scale"]        # the informant channels it reads (run/channels.py)
    source = "Storebø et al. 2020"      # the published study
    description = "60 + 60 adults ..."  # the design in words, as the report shows it

    [design]                            # the design numbers; the keys depend on the study
    n_sessions = 48
    min_patients = 3

    [design.specialised]                # an arm or group: its size and who is in it
    n_patients = 60
    population = "adult_bpd"
    therapists = "aft_trained"

The keys of each study's ``[design]`` table are declared in ``SCHEMAS`` (and
explained by comments in the shipped files). Keys common to many studies:

- ``n_patients`` (``n_therapists``, ``study_sizes``): the published sample size;
  ``min_patients`` (``min_therapists``, ``min_study_size``): the smallest size when
  a validation scales the design down (``size_factor``, see ``cohorts.scaled``);
- ``n_sessions``: the planned course length;
- ``population``: a population preset (``rupture-sim presets``), or the diagnosis
  mix ``pd_share`` (share of patients with a PD) and ``bpd_share_of_pd`` (share of
  those with BPD) on top of the diagnosis profiles of the parameters;
- ``therapists``: a therapist preset; ``experienced`` changes nothing, so the
  therapists are those of the parameters (the defaults or ``--set``);
- ``*_sessions = [first, last]``: the sessions that were coded or rated;
- ``count_good_enough`` (studies that count dropout): whether a good-enough
  ending counts as dropout, as it does where the published study counted any
  premature end of treatment (``true``), or only dissatisfied dropout does.

``channels`` names the informant channels (``run/channels.CHANNELS``) whose
columns the study reads: observer coding, the patient's or therapist's
questionnaires, the symptom scale, the attendance record, or ``latent`` (the
model's truth, which a study that reads it must say in its description).

Model parameters are not part of a design: they are the defaults or ``--set``
overrides. Presets and design values win over them (``cohorts.design_parameters``).

Checks: a file that fails any check raises ``DesignError`` with one sentence that
starts with the file and names the field and what is allowed: every key of the
schema is required, no other key is allowed, every value must have its type and
range (counts are whole numbers, shares lie in 0-1, presets are known, design
values that are model parameters lie in the parameter's range), ``targets`` must
be the targets whose checks use the study, ``channels`` must name known
channels, each once, and the design must be consistent
(coded sessions inside the course, minimum sizes not above the sizes, ...).

Examples:
    >>> design = shipped_designs()["bpd_dropout"]
    >>> design.targets, design.channels, design.values["n_patients"], design.values["n_sessions"]
    (('T11',), ('attendance',), 100, 48)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from simulation import schema
from simulation.model.parameters import SPECS
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.run.channels import CHANNELS
from simulation.schema import InputError, check_keys, origin_of, parse_toml, read_text, show
from simulation.validation.targets import TARGETS

__all__ = [
    "SCHEMAS",
    "Design",
    "DesignError",
    "design_changes",
    "design_folder",
    "design_from_dict",
    "format_value",
    "load_design",
    "parse_design",
    "shipped_designs",
    "study_targets",
]

#: Keys of a design file outside the [design] table, all required.
TOP_LEVEL_KEYS = ("name", "targets", "channels", "source", "description", "design")
#: Largest sample of one group, arm or virtual study, and longest course.
MAX_PATIENTS = 10**6
MAX_SESSIONS = 1000
#: Resolution indices of the resolution-outcome meta-analysis (T7).
RESOLUTION_INDICES = ("patient", "observer")


class DesignError(InputError):
    """A design file that cannot be read or is not valid; one sentence (the ``InputError`` of design files)."""


@dataclass(frozen=True)
class Design:
    """A checked design file of one virtual study.

    Attributes:
        name: The virtual study (a key of ``SCHEMAS`` and ``studies.STUDIES``).
        targets: The targets it serves, in ``targets.TARGETS`` order.
        channels: The informant channels it reads (``run/channels.CHANNELS``), in that order.
        source: The published study.
        description: The design in words (shown in the report).
        values: The [design] table: numbers and preset names by key; sub-tables
            (arms, groups) as dicts; lists as tuples; shares and other real values
            as floats, counts as ints.
        path: Where the file was read from.
    """

    name: str
    targets: tuple[str, ...]
    channels: tuple[str, ...]
    source: str
    description: str
    values: dict[str, Any]
    path: str = ""


# --- field checks ---------------------------------------------------------------------------

#: A field check: ``(where, value) -> normalised value``; raises an InputError without the file name.
Check = Callable[[str, Any], Any]


def _whole(low: int, high: int) -> Check:
    """A whole number from ``low`` to ``high``."""
    return functools.partial(_at, schema.whole, low=low, high=high)


def _at(reader: Callable[..., Any], where: str, value: Any, **limits: Any) -> Any:
    """``reader(where, value, **limits)``: a schema reader with its limits bound (partials keep where first)."""
    return reader(where, value, **limits)


_share: Check = schema.share
_flag: Check = schema.flag


def _choice(choices: tuple[str, ...], what: str) -> Check:
    """One of ``choices``."""
    return functools.partial(_at, schema.one_of, choices=choices, what=what)


def _text(where: str, value: Any) -> str:
    """A non-empty string, its whitespace collapsed."""
    return schema.text(where, value, required=True)


def _parameter(name: str) -> Check:
    """A design value that is a model parameter: a number in the parameter's declared range."""
    return functools.partial(_at, schema.parameter, spec=SPECS[name])


def _real(low: float, high: float) -> Check:
    """A number from ``low`` to ``high`` (returned as a float)."""
    return functools.partial(_at, schema.real, low=low, high=high)


def _list(item: Check, example: str, min_length: int = 1, length: int | None = None) -> Check:
    """A list of values that each pass ``item`` (returned as a tuple)."""
    return functools.partial(_at, schema.list_of, item=item, min_length=min_length, length=length, example=example)


_COUNT = _whole(1, MAX_PATIENTS)
_SESSIONS = _whole(1, MAX_SESSIONS)
_POPULATION = _choice(tuple(POPULATIONS), "a population preset")
_THERAPISTS = _choice(tuple(THERAPISTS), "a therapist preset")
_WINDOW = _list(_SESSIONS, "[1, 6] (first and last session)", length=2)


def _channels(where: str, value: Any) -> tuple[str, ...]:
    """Known informant channels, each once; returned in the order of ``CHANNELS`` (so reports agree)."""
    names = schema.list_of(where, value, _choice(tuple(CHANNELS), "an informant channel"), unique=True,
                           example='["observer", "symptom_scale"]')  # fmt: skip
    return tuple(n for n in CHANNELS if n in names)


def _latent_said(channels: tuple[str, ...], description: str) -> None:
    """A study that reads the model's truth must say so where readers of the report look: the description."""
    if "latent" in channels and "latent" not in description.lower():
        raise DesignError(
            "description must say what the study reads from the latent state (the model's truth, which no "
            "published study could observe), as channels includes latent."
        )


# --- schemas --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    """The [design] table of one study: its keys with their checks, and checks of the whole.

    Attributes:
        fields: Check of each key (a nested ``Mapping`` is a sub-table: an arm or a group).
        rules: Checks of the whole table (cross-field consistency); each raises DesignError.
    """

    fields: Mapping[str, Check | Mapping[str, Check]]
    rules: tuple[Callable[[Mapping[str, Any]], None], ...] = ()


#: An arm or group given by a population preset.
POPULATION_GROUP = {"n_patients": _COUNT, "population": _POPULATION, "therapists": _THERAPISTS}
#: An arm or group given by its diagnosis mix.
MIX_GROUP = {"n_patients": _COUNT, "pd_share": _share, "bpd_share_of_pd": _share, "therapists": _THERAPISTS}


def _fmt(value: Any) -> str:
    return format_value(value)


def _window_inside(key: str) -> Callable[[Mapping[str, Any]], None]:
    """``key = [first, last]`` is an ordered window inside the course."""

    def rule(values: Mapping[str, Any]) -> None:
        first, last = values[key]
        if first > last:
            raise DesignError(f"design.{key} must be [first, last] with first <= last (got {_fmt(values[key])}).")
        if last > values["n_sessions"]:
            raise DesignError(
                f"design.{key} ends at session {last}, after the last session of the course "
                f"(n_sessions = {values['n_sessions']}); keep it within 1 to {values['n_sessions']}."
            )

    return rule


def _minimum_fits(minimum: str, *sizes: str) -> Callable[[Mapping[str, Any]], None]:
    """The minimum size is not above any of the sizes (dotted keys; a tuple counts by its smallest entry)."""

    def rule(values: Mapping[str, Any]) -> None:
        for size in sizes:
            value: Any = values
            for part in size.split("."):
                value = value[part]
            smallest = min(value) if isinstance(value, tuple) else value
            if values[minimum] > smallest:
                raise DesignError(
                    f"design.{minimum} ({values[minimum]}) must not exceed design.{size} ({_fmt(value)}), as it is "
                    f"the smallest size when the design is scaled down; lower design.{minimum} too."
                )

    return rule


def _switch_sessions(values: Mapping[str, Any]) -> None:
    first, second = values["switch_sessions"]
    if not 2 <= first < second <= values["n_sessions"]:
        raise DesignError(
            "design.switch_sessions must be two sessions [early, late] with 2 <= early < late <= n_sessions "
            f"({values['n_sessions']}), so that every phase of the multiple baseline has sessions "
            f"(got {_fmt(values['switch_sessions'])})."
        )


def _aft_inside(values: Mapping[str, Any]) -> None:
    if values["aft_start_session"] > values["n_sessions"]:
        raise DesignError(
            f"design.aft_start_session ({values['aft_start_session']}) must be within the course "
            f"(n_sessions = {values['n_sessions']})."
        )


_FISHER = "as a study's correlation is pooled with weight n - 3"


def _at_least(key: str, low: int, why: str) -> Callable[[Mapping[str, Any]], None]:
    """``key`` is at least ``low`` (a design below it cannot compute its statistic)."""

    def rule(values: Mapping[str, Any]) -> None:
        if values[key] < low:
            raise DesignError(f"design.{key} must be at least {low}, {why} (got {values[key]}).")

    return rule


def _sessions_inside(*keys: str) -> Callable[[Mapping[str, Any]], None]:
    """Each session number ``key`` (a list: each entry) lies inside the course, ascending."""

    def rule(values: Mapping[str, Any]) -> None:
        for key in keys:
            value = values[key]
            sessions = value if isinstance(value, tuple) else (value,)
            if list(sessions) != sorted(set(sessions)) or sessions[-1] > values["n_sessions"]:
                raise DesignError(
                    f"design.{key} must be increasing sessions within the course (1 to n_sessions = "
                    f"{values['n_sessions']}) (got {_fmt(value)})."
                )

    return rule


def _groups_differ(values: Mapping[str, Any]) -> None:
    """A PD vs non-PD comparison needs PD patients in the PD group and others in the non-PD group."""
    if values["pd_group"]["pd_share"] <= 0 or values["non_pd_group"]["pd_share"] >= 1:
        raise DesignError(
            "design.pd_group.pd_share must be above 0 and design.non_pd_group.pd_share below 1, or the groups "
            f"do not differ in PD (got {_fmt(values['pd_group']['pd_share'])} and "
            f"{_fmt(values['non_pd_group']['pd_share'])})."
        )


def _cases_fit(values: Mapping[str, Any]) -> None:
    """The recovered and the unrecovered cases both come from the smallest cohort."""
    if 2 * values["n_cases"] > values["min_patients"]:
        raise DesignError(
            f"design.n_cases ({values['n_cases']}) recovered and as many unrecovered cases must fit in the "
            f"smallest cohort (min_patients = {values['min_patients']}); use n_cases <= min_patients / 2."
        )


def _years_inside(values: Mapping[str, Any]) -> None:
    last = round(values["mean_years"] * values["sessions_per_year"])
    if not 1 <= last <= values["n_sessions"]:
        raise DesignError(
            f"design.mean_years x design.sessions_per_year ({_fmt(values['mean_years'])} x "
            f"{values['sessions_per_year']} = {last} sessions) must lie within the course "
            f"(n_sessions = {values['n_sessions']})."
        )


def _parts_fit(values: Mapping[str, Any]) -> None:
    if values["n_parts"] > values["n_sessions"] - 1:
        raise DesignError(
            f"design.n_parts ({values['n_parts']}) must leave at least one session after which a patient can "
            f"leave in each part: at most n_sessions - 1 = {values['n_sessions'] - 1}."
        )


#: PD and non-PD groups with some sessions coded (the CIS-R and SASB comparisons, T4 and T5).
_CODED_PD_VS_NON_PD = Schema(
    {
        "n_sessions": _SESSIONS,
        "coded_sessions": _WINDOW,
        "min_patients": _COUNT,
        "pd_group": MIX_GROUP,
        "non_pd_group": MIX_GROUP,
    },
    (
        _window_inside("coded_sessions"),
        _minimum_fits("min_patients", "pd_group.n_patients", "non_pd_group.n_patients"),
        _groups_differ,
    ),
)


#: The [design] table of every virtual study, by study name (in the order of the targets).
SCHEMAS: dict[str, Schema] = {
    "adolescent_bpd_3rs": Schema(
        {**POPULATION_GROUP, "min_patients": _COUNT, "n_sessions": _SESSIONS},
        (_minimum_fits("min_patients", "n_patients"),),
    ),
    "intensity_pd_vs_non_pd": Schema(
        {"n_sessions": _SESSIONS, "min_patients": _COUNT, "pd_group": MIX_GROUP, "non_pd_group": MIX_GROUP},
        (_minimum_fits("min_patients", "pd_group.n_patients", "non_pd_group.n_patients"), _groups_differ),
    ),
    "cisr_pd_vs_non_pd": _CODED_PD_VS_NON_PD,
    "sasb_pd_vs_non_pd": _CODED_PD_VS_NON_PD,
    "youth_bpd_two_arms": Schema(
        {"n_sessions": _SESSIONS, "min_patients": _COUNT, "cat": POPULATION_GROUP, "befriending": POPULATION_GROUP},
        (_minimum_fits("min_patients", "cat.n_patients", "befriending.n_patients"),),
    ),
    "bpd_recovered_vs_unrecovered": Schema(
        {**POPULATION_GROUP, "min_patients": _COUNT, "n_sessions": _SESSIONS, "n_cases": _COUNT},
        (_minimum_fits("min_patients", "n_patients"), _cases_fit),
    ),
    "resolution_outcome_meta": Schema(
        {
            "study_sizes": _list(_COUNT, "[25, 40, 52]", min_length=2),
            "min_study_size": _COUNT,
            "pd_share_choices": _list(_share, "[0.0, 0.5, 1.0]"),
            "bpd_share_of_pd": _share,
            "n_sessions_choices": _list(_SESSIONS, "[16, 20, 30]"),
            "resolution_index": _list(_choice(RESOLUTION_INDICES, "a resolution index"), '["patient", "observer"]'),
            "therapists": _THERAPISTS,
        },
        (_minimum_fits("min_study_size", "study_sizes"), _at_least("min_study_size", 4, _FISHER)),
    ),
    "training_meta": Schema(
        {
            "study_sizes": _list(_COUNT, "[24, 32, 40]", min_length=2),
            "min_study_size": _COUNT,
            "caseload": _parameter("caseload"),
            "n_sessions": _SESSIONS,
            "pd_share": _share,
            "bpd_share_of_pd": _share,
            "therapists": _THERAPISTS,
            "aft_start_session": _whole(1, MAX_SESSIONS),
        },
        (_minimum_fits("min_study_size", "study_sizes"), _at_least("min_study_size", 4, _FISHER), _aft_inside),
    ),
    "aft_multiple_baseline": Schema(
        {
            "n_therapists": _COUNT,
            "min_therapists": _COUNT,
            "caseload": _parameter("caseload"),
            "n_sessions": _SESSIONS,
            "pd_share": _share,
            "bpd_share_of_pd": _share,
            "therapists": _THERAPISTS,
            "switch_sessions": _list(_SESSIONS, "[8, 16]", length=2),
        },
        (
            _minimum_fits("min_therapists", "n_therapists"),
            _at_least("min_therapists", 2, "as one therapist switches early and one late"),
            _switch_sessions,
        ),
    ),
    "alliance_outcome": Schema(
        {**MIX_GROUP, "min_patients": _COUNT, "n_sessions": _SESSIONS, "alliance_sessions": _WINDOW},
        (_minimum_fits("min_patients", "n_patients"), _window_inside("alliance_sessions")),
    ),
    "bpd_dropout": Schema(
        {**POPULATION_GROUP, "min_patients": _COUNT, "n_sessions": _SESSIONS, "count_good_enough": _flag},
        (_minimum_fits("min_patients", "n_patients"),),
    ),
    "bpd_rct": Schema(
        {
            "n_sessions": _SESSIONS,
            "min_patients": _COUNT,
            "specialised": POPULATION_GROUP,
            "usual_care": POPULATION_GROUP,
        },
        (_minimum_fits("min_patients", "specialised.n_patients", "usual_care.n_patients"),),
    ),
    "psq_early_sessions": Schema(
        {
            **MIX_GROUP,
            "min_patients": _COUNT,
            "n_sessions": _SESSIONS,
            "questionnaire_sessions": _WINDOW,
            "count_good_enough": _flag,
        },
        (_minimum_fits("min_patients", "n_patients"), _window_inside("questionnaire_sessions")),
    ),
    "severe_bpd_case": Schema(
        {
            **POPULATION_GROUP,
            "min_patients": _COUNT,
            "n_sessions": _SESSIONS,
            "bpd_severity_mean": _parameter("bpd_severity_mean"),
            "severity_sd": _parameter("severity_sd"),
        },
        (_minimum_fits("min_patients", "n_patients"),),
    ),
    "dose_response_non_pd": Schema(
        {
            **POPULATION_GROUP,
            "min_patients": _COUNT,
            "n_sessions": _SESSIONS,
            "dose_sessions": _list(_SESSIONS, "[8, 26] (early and late dose)", length=2),
        },
        (_minimum_fits("min_patients", "n_patients"), _sessions_inside("dose_sessions")),
    ),
    "pd_long_course": Schema(
        {
            "n_sessions": _SESSIONS,
            "min_patients": _COUNT,
            "sessions_per_year": _SESSIONS,
            "mean_years": _real(0.1, 20.0),
            "comparison_session": _SESSIONS,
            "pd_group": MIX_GROUP,
            "non_pd_group": MIX_GROUP,
        },
        (
            _minimum_fits("min_patients", "pd_group.n_patients", "non_pd_group.n_patients"),
            _sessions_inside("sessions_per_year", "comparison_session"),
            _years_inside,
        ),
    ),
    "bpd_dropout_by_quarter": Schema(
        {
            **POPULATION_GROUP,
            "min_patients": _COUNT,
            "n_sessions": _SESSIONS,
            "n_parts": _whole(2, MAX_SESSIONS),
            "count_good_enough": _flag,
        },
        (_minimum_fits("min_patients", "n_patients"), _parts_fit),
    ),
    "cluster_profiles": Schema(
        {
            "n_sessions": _whole(3, MAX_SESSIONS),
            "min_patients": _COUNT,
            "no_pd": POPULATION_GROUP,
            "cluster_b": POPULATION_GROUP,
            "cluster_c": POPULATION_GROUP,
        },
        (_minimum_fits("min_patients", "no_pd.n_patients", "cluster_b.n_patients", "cluster_c.n_patients"),),
    ),
    "alliance_before_dropout": Schema(
        {
            **POPULATION_GROUP,
            "min_patients": _COUNT,
            "n_sessions": _whole(2, MAX_SESSIONS),
            "rci_alpha": _real(0.0, 0.999),
            "last_sessions": _whole(2, MAX_SESSIONS),
            "count_good_enough": _flag,
        },
        (_minimum_fits("min_patients", "n_patients"), _sessions_inside("last_sessions")),
    ),
    "sudden_gains": Schema(
        {
            **POPULATION_GROUP,
            "min_patients": _COUNT,
            "n_sessions": _whole(4, MAX_SESSIONS),
            "gain_points": _real(0.0, 4.0),
            "gain_share": _real(0.0, 1.0),
            "t_critical": _real(0.0, 100.0),
        },
        (_minimum_fits("min_patients", "n_patients"),),
    ),
    "two_kinds_of_dropout": Schema(
        {
            "n_pool": _COUNT,
            "n_early_leavers": _COUNT,
            "n_completers": _COUNT,
            "min_pool": _COUNT,
            "n_sessions": _whole(2, MAX_SESSIONS),
            "population": _POPULATION,
            "therapists": _THERAPISTS,
        },
        (_minimum_fits("min_pool", "n_pool"),),
    ),
}


# --- reading --------------------------------------------------------------------------------


def study_targets(name: str) -> tuple[str, ...]:
    """The targets whose checks use study ``name``, in ``targets.TARGETS`` order."""
    return tuple(t.id for t in TARGETS if any(c.study == name for c in t.checks))


def _table(where: str, data: Any, fields: Mapping[str, Check | Mapping[str, Check]]) -> dict[str, Any]:
    """Check a [design] table or sub-table against its fields; return the normalised values in field order."""
    label = f"[{where}]"
    if not isinstance(data, dict):
        raise DesignError(
            f"{where} must be a table {label} with the keys {', '.join(fields)} (got {show(data, table='a table')})."
        )
    check_keys(label, data, tuple(fields), DesignError, required=True)
    out: dict[str, Any] = {}
    for key, check in fields.items():
        if isinstance(check, Mapping):
            out[key] = _table(f"{where}.{key}", data[key], check)
        else:
            out[key] = check(f"{where}.{key}", data[key])
    return out


def _from_data(data: Any, path: str) -> Design:
    if not isinstance(data, Mapping):
        raise DesignError(f"a design must be a table of keys (got {show(data, table='a table')}).")
    check_keys("The design file", data, TOP_LEVEL_KEYS, DesignError, required=True)
    name = _choice(tuple(SCHEMAS), "a virtual study")("name", data["name"])
    expected = study_targets(name)
    targets = data["targets"]
    if not isinstance(targets, list) or tuple(targets) != expected:
        shown = "[" + ", ".join(f'"{t}"' for t in expected) + "]"
        raise DesignError(
            f"targets must be {shown}, the targets whose checks use study {name} "
            f"(got {show(targets, table='a table')}); "
            "which checks a study serves is declared in simulation/validation/targets.py."
        )
    channels = _channels("channels", data["channels"])
    description = _text("description", data["description"])
    _latent_said(channels, description)
    schema = SCHEMAS[name]
    values = _table("design", data["design"], schema.fields)
    for rule in schema.rules:
        rule(values)
    return Design(
        name=name,
        targets=expected,
        channels=channels,
        source=_text("source", data["source"]),
        description=description,
        values=values,
        path=path,
    )


def parse_design(text: str, origin: str = "design") -> Design:
    """Check a design file given as TOML text.

    Args:
        text: The TOML document.
        origin: Where the text comes from (a path); starts every error message and becomes ``Design.path``.

    Raises:
        DesignError: If the text is not TOML or the design is not valid.
    """
    with origin_of(origin, DesignError):
        return _from_data(parse_toml(text, DesignError), origin)


def design_from_dict(data: Mapping[str, Any], origin: str = "design") -> Design:
    """Check a design given as the dict a design file parses to (``tomllib.loads``).

    Args:
        data: The parsed document.
        origin: Where it comes from; starts every error message and becomes ``Design.path``.

    Raises:
        DesignError: If the design is not valid.
    """
    with origin_of(origin, DesignError):
        return _from_data(data, origin)


def load_design(path: str | Path) -> Design:
    """Read and check the design file at ``path`` (e.g. an edited copy of a shipped one).

    Raises:
        DesignError: If the file cannot be read or is not valid; the message starts with the path.
    """
    path = Path(path)
    text = read_text(path, "design", DesignError)
    return parse_design(text, origin=str(path))


def design_folder() -> Traversable:
    """The folder of the shipped design files (inside the installed package)."""
    return resources.files("simulation.validation").joinpath("designs")


@functools.cache
def shipped_designs() -> dict[str, Design]:
    """The shipped design of every virtual study, by study name in ``SCHEMAS`` order (read once per process).

    Raises:
        DesignError: If a shipped file is invalid, a study has no file or two files.
    """
    folder = design_folder()
    found: dict[str, Design] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        design = parse_design(entry.read_text(encoding="utf-8"), origin=str(entry))
        if design.name in found:
            raise DesignError(
                f"{folder}: study {design.name} has two design files, {found[design.name].path} and {entry}."
            )
        found[design.name] = design
    missing = [name for name in SCHEMAS if name not in found]
    if missing:
        raise DesignError(
            f"{folder}: no design file for the stud{'ies' if len(missing) > 1 else 'y'} {', '.join(missing)}."
        )
    return {name: found[name] for name in SCHEMAS}


# --- comparing ------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A design value as the report shows it: numbers with ``:g``, lists in brackets, strings as they are."""
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_overridden(design: Design, names: Iterable[str]) -> list[str]:
    """Which of the ``--set`` parameter ``names`` a preset of the design sets (the design wins), one phrase each.

    E.g. ``["other_pd_compliance (group cluster_c, population preset cluster_c)"]``.
    """
    wanted = set(names)
    found = []
    for key, value in _flat(design.values).items():
        group, _, kind = key.rpartition(".")
        table = {"population": POPULATIONS, "therapists": THERAPISTS}.get(kind, {})
        if value in table:
            for name in sorted(wanted & set(table[value].values)):
                found.append(f"{name} ({f'group {group}, ' if group else ''}{kind} preset {value})")
    return found


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def design_changes(design: Design, reference: Design) -> list[str]:
    """How the design values differ from a reference design of the same study, e.g. ``["n_patients 100 -> 400"]``."""
    new, old = _flat(design.values), _flat(reference.values)
    return [f"{key} {format_value(old[key])} -> {format_value(new[key])}" for key in old if new[key] != old[key]]
