"""Named patient populations and therapist settings.

A preset is a set of parameter overrides with a one-line description; a
population preset sets the diagnosis mix and profiles, a therapist preset the
therapist parameters. Presets combine: ``Parameters(population | therapists
| overrides)``, later ones winning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulation.model.parameters import ParameterError, check_name, show


@dataclass(frozen=True)
class Preset:
    """A named set of parameter overrides.

    Attributes:
        description: What the preset represents.
        values: Parameter overrides.
    """

    description: str
    values: dict[str, float] = field(default_factory=dict)


_ONLY = {"share_no_pd": 0.0, "share_bpd": 0.0, "share_other_pd": 0.0}

POPULATIONS: dict[str, Preset] = {
    "mixed": Preset("Mixed outpatient caseload: one third each BPD, other PD, no PD."),
    "adult_bpd": Preset("Adults with BPD (outpatient trials, T11, T12).", {**_ONLY, "share_bpd": 1.0}),
    "adolescent_bpd": Preset(
        "Adolescents with BPD: less entrenched severity, more open confrontation, developing mentalizing (T1, T6).",
        {
            **_ONLY,
            "share_bpd": 1.0,
            "bpd_severity_mean": 0.55,
            "bpd_confrontation_style": 0.65,
            "bpd_insight_mean": 0.3,
        },
    ),
    "cluster_c": Preset(
        "Cluster C PD (avoidant, dependent): compliant, keeping most discontent back until trust grows, and "
        "rarely confronting (S7, S8; the values are assumptions).",
        {**_ONLY, "share_other_pd": 1.0, "other_pd_compliance": 0.9, "other_pd_confrontation_style": 0.15},
    ),
    "depression": Preset("Depression or anxiety without PD.", {**_ONLY, "share_no_pd": 1.0}),
    "pd_vs_non_pd": Preset(
        "Half PD (BPD and other PD), half no PD, as in the comparison studies (T3, T4).",
        {"share_no_pd": 0.5, "share_bpd": 0.25, "share_other_pd": 0.25},
    ),
}

THERAPISTS: dict[str, Preset] = {
    "experienced": Preset("Experienced therapists with the full 3RS repertoire (the defaults)."),
    "novice": Preset(
        "Novices: less skilled, notice less, more reactive, immediate strategies only.",
        {"skill_mean": 0.4, "noticing": 0.25, "reactivity": 0.25, "exploratory_repertoire": 0},
    ),
    "immediate_only": Preset("Experienced, but immediate strategies only.", {"exploratory_repertoire": 0}),
    "aft_trained": Preset(
        "Experienced and trained in alliance-focused training from session 1 (T8, T9).", {"aft_start_session": 1}
    ),
}


def preset_values(kind: str, name: str) -> dict[str, float]:
    """Overrides of a population (``kind='population'``) or therapist preset by name.

    Raises:
        ParameterError: If the name is not a known preset.
    """
    table = POPULATIONS if kind == "population" else THERAPISTS
    if name not in table:
        raise ParameterError(f"Unknown {kind} preset {show(name)}; choose one of: {', '.join(table)}.")
    return dict(table[name].values)


def _check_presets() -> None:
    for table in (POPULATIONS, THERAPISTS):
        for preset in table.values():
            for name in preset.values:
                check_name(name)


_check_presets()
