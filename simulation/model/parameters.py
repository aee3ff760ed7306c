"""Every model parameter, declared once: meaning, scale, default, range, source and calibration status.

``PARAMETERS`` is the single table of the model's parameters (the Starsim idea
of declared parameters). ``Parameters`` is a validated set of values: unknown
names and out-of-range values are rejected with one clear sentence. The
compiled rules receive the values as one record (``records.kernel_params``) and the
per-diagnosis profiles as a small array (``Parameters.profiles``).

Sources are target ids of ``literature.md`` (T1-T17, or a section such as
S5) or the word "assumption" where no finding fixes the value. Each
declaration also says how the calibration treats it: ``Free`` (fitted to the
targets, within a search range) or ``Fixed`` (and why); the defaults are the
calibrated values (``rupture-sim calibrate``, ``docs/PARAMETERS.md``).
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections import namedtuple
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.model.taxonomy import DIAGNOSES


class ParameterError(ValueError):
    """A parameter name or value that the model does not accept."""


@dataclass(frozen=True, kw_only=True)
class Param:
    """Declaration of one model parameter, by keyword.

    Attributes:
        name: Identifier used in code, specs and tables.
        default: Default value.
        range: Smallest and largest allowed value, ``(low, high)`` (also readable as ``low`` and ``high``).
        scale: Unit or scale of the value.
        meaning: What the parameter means in therapy terms.
        source: Target id(s) from literature.md, or "assumption".
        group: Which part of the model it belongs to.
        calibration: Fitted by the calibration (``Free``) or not (``Fixed``, with the reason).
        integer: Whether only whole numbers are allowed.

    Examples:
        >>> Param(name="noticing", default=0.35, range=(0, 1), scale="probability per salience point",
        ...       meaning="chance to notice a marker", source="T2", group="therapist",
        ...       calibration=Fixed("held")).high
        1
    """

    name: str
    default: float
    range: tuple[float, float]
    scale: str
    meaning: str
    source: str
    group: str
    calibration: Free | Fixed
    integer: bool = False

    @property
    def low(self) -> float:
        """Smallest allowed value."""
        return self.range[0]

    @property
    def high(self) -> float:
        """Largest allowed value."""
        return self.range[1]


@dataclass(frozen=True)
class Free:
    """A parameter the calibration fits (``simulation.validation.calibrate``).

    Attributes:
        low: Lower end of the search range (inside the declared range).
        high: Upper end of the search range (inside the declared range).
        log: Search on a log scale (for rates spanning an order of magnitude).
        targets: The targets that constrain it (from the levers of ``validation/targets.py``).
    """

    low: float
    high: float
    log: bool = False
    targets: str = ""


@dataclass(frozen=True)
class Fixed:
    """A parameter the calibration does not search.

    Attributes:
        reason: Why: set by the study designs, fixed by the literature or a scale's definition, its targets
            already pass, or a secondary lever held to keep the search small.
    """

    reason: str


@dataclass(frozen=True)
class Held(Fixed):
    """Fixed by the last calibration, yet a lever with a search range.

    A history matching or a robustness run may vary it (``--params``, ``--only``), within ``search``.

    Attributes:
        search: The range an earlier calibration searched it in.
    """

    search: Free


def held_since_t17(free: Free) -> Held:
    """Fixed at the value of the calibration of T1-T17: a lever the calibration of issue 18 did not search.

    That calibration (T1-T20, ``docs/calibration/t1_t20``) searched only the levers of the targets the
    new mechanisms move (T10, T11, T16, T18-T20), so that a few dozen trials could search them.
    """
    return Held(
        f"held: fitted by the calibration of T1-T17 (docs/calibration/all) in {free.low:g}-{free.high:g} for "
        f"{free.targets}; the calibration of T1-T20 searched only the levers of the new mechanisms",
        free,
    )


def design(detail: str = "") -> Fixed:
    """Fixed: a quantity of the study designs, not of the model."""
    return Fixed("design: set by each virtual study (diagnosis mix, presets, schedule), not a model quantity" + detail)


def scale_definition(detail: str) -> Fixed:
    """Fixed: part of the definition of a coding or rating scale."""
    return Fixed("measurement: definition of the coding or rating scale" + detail)


def literature(detail: str) -> Fixed:
    """Fixed by a published value."""
    return Fixed("literature: " + detail)


def passing(targets: str, note: str = "") -> Fixed:
    """Fixed: the targets it moves already pass with the default."""
    return Fixed(f"held: its targets already pass with the default ({targets})" + note)


def secondary(of: str) -> Fixed:
    """Fixed: a secondary lever of some targets, held at its default to keep the search small."""
    return Fixed(f"held: secondary lever of {of}, kept at the default to keep the search small")


# fmt: off
_PROFILE_FIELDS = (
    # field, scale, meaning, source, defaults (no_pd, bpd, other_pd), range, calibration (no_pd, bpd, other_pd)
    ("severity_mean", "0-1", "mean PD severity at intake", "S1, S7; bpd fitted to T3, T7, T10-T12",
     (0.10, 0.64, 0.45), (0.0, 1.0),
     (literature("low PD severity without a PD diagnosis (S1, S7); anchors the severity scale"),
      held_since_t17(Free(0.5, 0.85, targets="T7, T10, T11, T12 (adult BPD samples)")),
      literature("severity of other PDs below BPD (S1, S7)"))),
    ("withdrawal_style", "relative rate", "proneness to withdrawal markers", "T2, S7", (0.8, 1.0, 1.0), (0.0, 5.0),
     (passing("T2a, T14b"),) * 3),
    ("confrontation_style", "relative rate", "proneness to confrontation markers", "T2, S7",
     (0.3, 0.55, 0.25), (0.0, 5.0), (passing("T2a, T14b"),) * 3),
    ("symptom_mean", "0-4 (BSL-23-like mean)", "mean symptom severity at intake", "S6, assumption",
     (2.0, 2.3, 2.0), (0.0, 4.0),
     (literature("intake symptom level (S6)"), literature("intake symptom level of BPD samples (S6)"),
      literature("intake symptom level (S6)"))),
    ("insight_mean", "0-1", "mean insight / mentalizing at intake", "T4, S5", (0.70, 0.35, 0.50), (0.0, 1.0),
     (passing("T4b"),) * 3),
    ("compliance", "0-1, share at openness 0",
     "share of discontent kept back entirely (not shown in the session) while the patient is not yet open "
     "(0 = off)",
     "S7, S8 (Rennie 1994; Blanchard & Farber 2016), assumption (avoidance of disagreement defines cluster C)",
     (0.0, 0.0, 0.0), (0.0, 1.0),
     (Fixed("off: general deference is deference_voicing; compliance is set where the PD cluster is known "
            "(preset cluster_c)"),) * 3),
)
# fmt: on
PROFILE_FIELDS = tuple(f[0] for f in _PROFILE_FIELDS)


def _profile_params() -> list[Param]:
    out = []
    for field, scale, meaning, source, defaults, (low, high), calibrations in _PROFILE_FIELDS:
        for diag, default, calibration in zip(DIAGNOSES, defaults, calibrations, strict=True):
            name, text = f"{diag}_{field}", f"{diag}: {meaning}"
            out.append(
                Param(
                    name=name,
                    default=default,
                    range=(low, high),
                    scale=scale,
                    meaning=text,
                    source=source,
                    group="population",
                    calibration=calibration,
                )
            )
    return out


# fmt: off
PARAMETERS: tuple[Param, ...] = (
    # --- population mix and individual variation -------------------------------------------
    Param(name="share_no_pd", default=1 / 3, range=(0, 1), scale="proportion",
          meaning="share of patients without PD",
          source="assumption (study design)", group="population",
          calibration=design()),
    Param(name="share_bpd", default=1 / 3, range=(0, 1), scale="proportion",
          meaning="share of patients with BPD",
          source="assumption (study design)", group="population",
          calibration=design()),
    Param(name="share_other_pd", default=1 / 3, range=(0, 1), scale="proportion",
          meaning="share of patients with another PD",
          source="assumption (study design)", group="population",
          calibration=design()),
    *_profile_params(),
    Param(name="severity_sd", default=0.15, range=(0, 0.5), scale="0-1",
          meaning="between-patient SD of PD severity",
          source="assumption; fitted to T3, T7, T10", group="population",
          calibration=held_since_t17(Free(0.05, 0.3, targets="T3 (PD vs non-PD contrast), T7, T10"))),
    Param(name="tendency_sd", default=0.3, range=(0, 2), scale="log scale",
          meaning="between-patient SD of rupture proneness",
          source="assumption", group="population",
          calibration=secondary("T3 (severity_sd and patient_intensity_severity_gain are fitted)")),
    Param(name="symptom_sd", default=0.53, range=(0, 2), scale="0-4 scale",
          meaning="between-patient SD of intake symptoms",
          source="assumption; fitted to T12", group="population",
          calibration=held_since_t17(Free(0.3, 1.0, targets="T12b (pre-post d is scaled by the intake SD), T12a"))),
    Param(name="insight_sd", default=0.15, range=(0, 0.5), scale="0-1",
          meaning="between-patient SD of insight",
          source="assumption", group="population",
          calibration=secondary("T4b")),
    # --- therapists ---------------------------------------------------------------------------
    Param(name="caseload", default=6, range=(1, 100), scale="patients",
          meaning="patients per therapist",
          source="assumption (study design)", group="therapist",
          calibration=design(), integer=True),
    Param(name="skill_mean", default=0.6, range=(0, 1), scale="0-1",
          meaning="mean general therapist skill",
          source="assumption", group="therapist",
          calibration=passing("T6b", "; anchors experienced vs novice therapists (preset 0.4)")),
    Param(name="skill_sd", default=0.1, range=(0, 0.5), scale="0-1",
          meaning="between-therapist SD of skill",
          source="assumption", group="therapist",
          calibration=secondary("T8")),
    Param(name="noticing", default=0.35, range=(0, 1), scale="probability per salience point",
          meaning="chance to notice a marker, per point of salience (p = 1-(1-x)^salience)",
          source="T2, assumption", group="therapist",
          calibration=passing("T13a, T9d", "; anchors experienced vs novice therapists")),
    Param(name="reactivity", default=0.15, range=(0, 1), scale="probability",
          meaning="chance of a hostile/blaming response to a confrontation marker of a patient with severity 0",
          source="T5", group="therapist",
          calibration=passing("T5a, T9c")),
    Param(name="reactivity_severity_gain", default=1.0, range=(0, 5), scale="multiplier per unit severity",
          meaning="how much more reactive therapists are with more severe PD",
          source="T5", group="therapist",
          calibration=passing("T5a")),
    Param(name="withdrawal_reactivity_ratio", default=0.3, range=(0, 1), scale="ratio",
          meaning="reactivity to withdrawal relative to confrontation markers",
          source="assumption", group="therapist",
          calibration=passing("T5a")),
    Param(name="exploratory_repertoire", default=1, range=(0, 1), scale="0/1",
          meaning="1 if the therapist can use exploratory (metacommunication) strategies",
          source="S4", group="therapist",
          calibration=design(" (the arms of T6, the novice preset)"), integer=True),
    Param(name="exploratory_preference", default=0.5, range=(0, 1), scale="probability",
          meaning="chance to choose an exploratory strategy when the repertoire has it",
          source="assumption", group="therapist",
          calibration=passing("T6b")),
    Param(name="other_strategy_share", default=0.15, range=(0, 1), scale="probability",
          meaning="chance of an 'other' strategy (validate, redirect) instead of an immediate one",
          source="assumption", group="therapist",
          calibration=passing("T6b")),
    Param(name="aft_start_session", default=0, range=(0, 1000), scale="session",
          meaning="session from which the therapist works with alliance-focused training (0 = never)",
          source="T8, T9", group="therapist",
          calibration=design(" (the AFT schedule of T8, T9, T12)"), integer=True),
    Param(name="aft_noticing_gain", default=0.047, range=(0, 1), scale="probability per salience point",
          meaning="AFT: added noticing (attunement)",
          source="T9; fitted to T8, T9", group="therapist",
          calibration=held_since_t17(Free(0.0, 0.3, targets="T9a, T9d, T8b"))),
    Param(name="aft_reactivity_reduction", default=0.5, range=(0, 1), scale="proportion",
          meaning="AFT: reduction of reactivity (less blaming)",
          source="T9 (soft)", group="therapist",
          calibration=passing("T9c")),
    Param(name="aft_exploratory_gain", default=0.2, range=(0, 1), scale="probability",
          meaning="AFT: added exploratory preference",
          source="T9; fitted to T8, T9", group="therapist",
          calibration=held_since_t17(Free(0.0, 0.4, targets="T9b, T8"))),
    Param(name="aft_skill_gain", default=0.096, range=(0, 1), scale="0-1",
          meaning="AFT: added skill (resolution steps, clarity)",
          source="T8, T9; fitted to T8, T9", group="therapist",
          calibration=secondary("T8, T9a (aft_noticing_gain is fitted)")),
    Param(name="aft_supportive_gain", default=0.25, range=(0, 1), scale="probability",
          meaning="AFT: added affirmation per segment",
          source="T9; fitted to T9", group="therapist",
          calibration=secondary("T9b (aft_exploratory_gain is fitted)")),
    # --- session and ruptures -----------------------------------------------------------------
    Param(name="n_segments", default=10, range=(1, 30), scale="segments",
          meaning="5-minute coding segments per session (3RS)",
          source="S3", group="rupture",
          calibration=design(" (3RS codes 5-minute segments of a 50-minute session, S3)"), integer=True),
    Param(name="rupture_base_rate", default=0.016, range=(0, 2), scale="markers per segment",
          meaning="marker rate of a patient with style 1 and severity 0 at reference alliance",
          source="T1, T14, assumption; fitted to T1, T14", group="rupture",
          calibration=held_since_t17(Free(0.01, 0.09, log=True, targets="T1, T14a (marker counts)"))),
    Param(name="severity_rupture_gain", default=3.8, range=(0, 10), scale="log-rate per unit severity",
          meaning="how steeply PD severity raises rupture proneness",
          source="S1, S7; fitted to T1, T4, T14", group="rupture",
          calibration=held_since_t17(Free(1.0, 4.0, targets="T1, T4a, T7, T10, T11, T14a"))),
    Param(name="alliance_reference", default=0.6, range=(0, 1), scale="0-1",
          meaning="alliance at which rupture and dropout hazards are neutral",
          source="assumption", group="rupture",
          calibration=secondary("T1, T11, T13b (confounded with rupture_base_rate, dropout_base_logit)")),
    Param(name="alliance_rupture_gain", default=1.5, range=(0, 10), scale="log-rate per alliance unit",
          meaning="how much a weak alliance raises rupture proneness",
          source="assumption", group="rupture",
          calibration=secondary("T14a")),
    Param(name="strain_rupture_gain", default=1.0, range=(0, 10), scale="log-rate per strain unit",
          meaning="how much unresolved strain raises rupture proneness",
          source="S7", group="rupture",
          calibration=secondary("T14a")),
    Param(name="provocation_rate", default=0.5, range=(0, 5), scale="markers per segment",
          meaning="added marker rate after a negative intervention (unclear: same segment; hostile: next segment)",
          source="T4, T5", group="rupture",
          calibration=passing("T4a, T4c")),
    Param(name="expressive_provocation", default=0.4, range=(0, 5), scale="markers per segment",
          meaning="added marker rate after an expressive intervention the patient cannot take up (chance 1 - "
                  "insight)",
          source="S5", group="rupture",
          calibration=passing("T4a, T5d")),
    Param(name="withdrawal_salience_mean", default=2.0, range=(1, 5), scale="3RS salience 1-5",
          meaning="mean salience of withdrawal markers",
          source="T2", group="rupture",
          calibration=literature("3RS salience of withdrawal markers (T2, Schenk et al. 2019)")),
    Param(name="confrontation_salience_mean", default=3.0, range=(1, 5), scale="3RS salience 1-5",
          meaning="mean salience of confrontation markers",
          source="T2", group="rupture",
          calibration=literature("3RS salience of confrontation markers (T2, Schenk et al. 2019)")),
    Param(name="severity_salience_gain", default=1.0, range=(0, 4), scale="salience points per unit severity",
          meaning="how much more salient markers of severe patients are",
          source="T2, T14", group="rupture",
          calibration=literature("more salient markers with severe PD (T2, T14)")),
    Param(name="salience_sd", default=0.8, range=(0, 3), scale="salience points",
          meaning="SD of marker salience",
          source="assumption", group="rupture",
          calibration=passing("T2b")),
    # --- therapist work between ruptures ------------------------------------------------------
    Param(name="expressive_base", default=0.25, range=(0, 1), scale="probability per segment",
          meaning="chance of an expressive intervention",
          source="S5", group="intervention",
          calibration=passing("T5d")),
    Param(name="expressive_severity_gain", default=0.39, range=(0, 1), scale="probability per unit severity",
          meaning="more expressive work with PD patients",
          source="T5; fitted to T5", group="intervention",
          calibration=passing("T5d", "; fitted in the calibration of T1-T14")),
    Param(name="supportive_base", default=0.3, range=(0, 1), scale="probability per segment",
          meaning="chance of a supportive intervention",
          source="T5", group="intervention",
          calibration=passing("T5c")),
    Param(name="supportive_severity_gain", default=0.2, range=(0, 1), scale="probability per unit severity",
          meaning="more supportive work with PD patients",
          source="T5", group="intervention",
          calibration=passing("T5c")),
    Param(name="unclear_base", default=0.15, range=(0, 1), scale="probability per segment",
          meaning="chance of an unclear/premature intervention by a therapist of skill 0 with a patient of "
                  "severity 0",
          source="T4, T5", group="intervention",
          calibration=passing("T4c, T5b")),
    Param(name="unclear_severity_gain", default=2.5, range=(0, 5), scale="multiplier per unit severity",
          meaning="less clear communication with more severe PD",
          source="T5", group="intervention",
          calibration=passing("T5b")),
    Param(name="collaborative_base", default=0.5, range=(0, 1), scale="probability per segment",
          meaning="chance of a collaborative process at alliance 1 and insight 1",
          source="T4, S5", group="intervention",
          calibration=passing("T4b")),
    # --- resolution process ---------------------------------------------------------------------
    Param(name="stage_advance_base", default=1.0, range=(0, 1), scale="probability per segment",
          meaning="chance to move one stage deeper for a therapist of skill 1, a patient of severity 0 and "
                  "insight 1",
          source="S4, assumption", group="resolution",
          calibration=passing("T6b")),
    Param(name="severity_repair_penalty", default=0.5, range=(0, 1), scale="proportion per unit severity",
          meaning="how much PD severity weakens repair",
          source="S7 (King-Casas 2008)", group="resolution",
          calibration=literature("severity weakens repair (S7, King-Casas 2008)")),
    Param(name="insight_depth_weight", default=0.6, range=(0, 1), scale="proportion",
          meaning="how much low insight blocks the deep exploratory stages (4-5)",
          source="T4, S5", group="resolution",
          calibration=passing("T6b")),
    Param(name="regress_base", default=0.3, range=(0, 1), scale="probability per segment",
          meaning="chance to fall back one stage, times severity and (1 - skill)",
          source="S4", group="resolution",
          calibration=passing("T6b")),
    Param(name="flareup_regress", default=0.5, range=(0, 1), scale="probability",
          meaning="chance that a new marker inside an open episode sets it back one stage",
          source="S4", group="resolution",
          calibration=passing("T6b")),
    Param(name="max_stall_segments", default=3, range=(1, 30), scale="segments",
          meaning="segments without progress before the dyad leaves the episode",
          source="assumption", group="resolution",
          calibration=passing("T6b"), integer=True),
    Param(name="stage_skip", default=0.1, range=(0, 1), scale="proportion of advances",
          meaning="share of the advances that skip the next stage (where the repertoire reaches two stages "
                  "deeper)",
          source="S4, assumption", group="resolution",
          calibration=literature("S4 (stages can be skipped; the share is an assumption)")),
    Param(name="resolved_stage", default=3, range=(2, 5), scale="stage",
          meaning="stage a rupture must reach to count as resolved",
          source="S4, assumption", group="resolution",
          calibration=scale_definition(" (resolution stages of the 3RS model, S4)"), integer=True),
    Param(name="immediate_stage_cap", default=3, range=(2, 5), scale="stage",
          meaning="deepest stage reachable with immediate strategies",
          source="S4", group="resolution",
          calibration=scale_definition(" (immediate strategies do not reach the exploratory stages, S4)"),
          integer=True),
    # --- alliance -------------------------------------------------------------------------------
    Param(name="alliance_initial", default=0.62, range=(0, 1), scale="0-1",
          meaning="alliance at intake of a patient with severity 0",
          source="assumption", group="alliance",
          calibration=secondary("T10")),
    Param(name="alliance_initial_sd", default=0.1, range=(0, 0.5), scale="0-1",
          meaning="between-patient SD of intake alliance",
          source="assumption", group="alliance",
          calibration=secondary("T10")),
    Param(name="alliance_ceiling", default=0.9, range=(0, 1), scale="0-1",
          meaning="alliance a patient with severity 0 grows toward",
          source="assumption", group="alliance",
          calibration=secondary("T11")),
    Param(name="alliance_severity_penalty", default=0.2, range=(0, 1), scale="0-1 per unit severity",
          meaning="lower intake alliance and ceiling with more severe PD",
          source="S1", group="alliance",
          calibration=secondary("T10, T11")),
    Param(name="alliance_growth", default=0.12, range=(0, 1), scale="proportion per session",
          meaning="share of the gap to the ceiling closed each session",
          source="T10, assumption", group="alliance",
          calibration=secondary("T12a")),
    Param(name="collaborative_alliance_gain", default=0.02, range=(0, 0.2),
          scale="growth rate per collaborative segment",
          meaning="added share of the gap to the ceiling closed per collaborative segment",
          source="T4", group="alliance",
          calibration=passing("T4b")),
    Param(name="rupture_dip", default=0.025, range=(0, 1), scale="alliance per marker",
          meaning="alliance lost by a confrontation marker of salience 5",
          source="T2", group="alliance",
          calibration=secondary("T12a")),
    Param(name="withdrawal_dip_ratio", default=0.5, range=(0, 1), scale="ratio",
          meaning="dip of withdrawal relative to confrontation markers",
          source="T2", group="alliance",
          calibration=passing("T2")),
    Param(name="negative_intervention_dip", default=0.01, range=(0, 1), scale="alliance per intervention",
          meaning="alliance lost by a hostile or unclear intervention",
          source="T4, T5", group="alliance",
          calibration=passing("T4c")),
    Param(name="partial_repair", default=0.5, range=(0, 1), scale="proportion",
          meaning="share of the dip repaired by a partly resolved rupture",
          source="assumption", group="alliance",
          calibration=secondary("T7")),
    Param(name="repair_overshoot", default=0.5, range=(0, 3), scale="proportion of the dip",
          meaning="alliance gained above the pre-rupture level by a resolution that reaches stage 5 (the 'V')",
          source="T7, S4", group="alliance",
          calibration=secondary("T6c")),
    Param(name="strain_decay", default=0.42, range=(0, 1), scale="proportion per session",
          meaning="share of unresolved strain carried over",
          source="S7, assumption; fitted to T7, T8, T11, T12", group="alliance",
          calibration=held_since_t17(Free(0.4, 0.95, targets="T7, T8c, T11, T12a (carried-over strain)"))),
    Param(name="corrective_learning", default=0.34, range=(0, 1), scale="proportion per experience",
          meaning="share of the distance to pattern_floor removed per unit of corrective experience",
          source="S4, S7, assumption; fitted to T6, T7, T12 (raised by hand from 0.28 to 0.34 after the "
                 "calibration: T7)", group="alliance",
          calibration=held_since_t17(Free(0.05, 0.8, targets="T7, T6, T12 (how fast repaired ruptures loosen it)"))),
    Param(name="pattern_confirmation", default=0.59, range=(0, 1), scale="proportion per rupture",
          meaning="share of the loosening undone by each rupture left unresolved or unrepaired",
          source="S4, assumption; fitted to T7, T8, T12", group="alliance",
          calibration=held_since_t17(Free(0.0, 0.6, targets="T7, T12c, T8 (unresolved ruptures confirm it)"))),
    Param(name="pattern_floor", default=0.52, range=(0, 1), scale="multiplier",
          meaning="lowest relational rigidity reachable",
          source="assumption; fitted to T6, T7, T12", group="alliance",
          calibration=held_since_t17(Free(0.05, 0.6, targets="T7, T6a, T12 (how far the pattern can loosen)"))),
    # --- dynamics over a course: trust and deference, two ways to leave early ------------------
    # Fitted together with T15-T17 where a target constrains them; the others are off (strength 0)
    # with the reason in their declaration.
    Param(name="trust_growth", default=0.1, range=(0, 1), scale="proportion of the gap per session",
          meaning="growth of the patient's trust in the therapist with each session attended",
          source="S8 (Rennie 1994: deference early in a course), assumption", group="dynamics",
          calibration=Fixed("held: assumption; deference_voicing and dropout_disengagement_effect, which read "
                            "trust, are fitted")),
    Param(name="trust_repair_gain", default=0.3, range=(0, 2),
          scale="proportion of the gap per corrective experience",
          meaning="extra trust from a repaired rupture (discontent was voiced and survived)",
          source="S4 (the withdrawal path ends in self-assertion), S8, assumption", group="dynamics",
          calibration=Fixed("held: assumption; deference_voicing and dropout_disengagement_effect, which read "
                            "trust, are fitted")),
    Param(name="deference_voicing", default=0.31, range=(0, 1), scale="proportion at trust 0",
          meaning="share of confrontation proneness that comes out as withdrawal while trust is low (0 = off)",
          source="S8 (Rennie 1994; Blanchard & Farber 2016), T6, T17, assumption", group="dynamics",
          calibration=held_since_t17(Free(0.0, 0.9, targets="T17 (withdrawal early, confrontation later), T6, T1"))),
    Param(name="deference_unvoiced", default=0.0, range=(0, 4), scale="PSQ intensity points at trust 0",
          meaning="how much lower a patient with low trust rates a rupture on the post-session questionnaire (0 "
                  "= off)",
          source="S8 (Blanchard & Farber 2016: negative reactions hidden 'to be polite'), assumption",
          group="dynamics",
          calibration=Fixed("off: no target constrains the patient's questionnaire by trust (T13 passes without "
                            "it)")),
    Param(name="deference_leniency", default=0.0, range=(0, 0.5), scale="0-1 alliance at trust 0",
          meaning="extra leniency of the patient's WAI-SR rating while trust is low (0 = off)",
          source="S8 (patient ratings near the top of the scale, more so early), assumption", group="dynamics",
          calibration=Fixed("off: no target constrains the leniency of the patient's WAI-SR by trust")),
    Param(name="disengagement_strain", default=1.3, range=(0, 20), scale="per strain unit",
          meaning="how much carried-over strain closes the patient off: openness = trust / (1 + this * strain) "
                  "(0 = off)",
          source="S8 (Gulum, Soygut & Safran 2018: fewer voiced ruptures before dropout), assumption",
          group="dynamics",
          calibration=held_since_t17(Free(0.0, 10.0, targets="T16, T13 (silent disengagement before dropout)"))),
    Param(name="working_through_gain", default=0.11, range=(0, 5),
          scale="relative severity effect per alliance unit",
          meaning="how much more the therapist challenges core patterns as the alliance can bear it: the PD part "
                  "of the rupture hazard is scaled by 1 + this * (alliance - alliance_reference) (0 = off)",
          source="S8 (Safran & Muran 2000: ruptures open a window onto core schemas), T17, assumption",
          group="dynamics",
          calibration=held_since_t17(Free(0.0, 2.0, targets="T17 (ruptures rise over a course), T1, T14"))),
    Param(name="ending_phase_sessions", default=0, range=(0, 20), scale="sessions",
          meaning="last planned sessions in which the approaching end reactivates abandonment themes (0 = off)",
          source="S8 (Mann's time-limited therapy; weak support, Joyce & Piper 1990: small and switchable)",
          group="dynamics",
          calibration=Fixed("off: no target needs it yet"), integer=True),
    Param(name="ending_reactivation", default=0.5, range=(0, 5), scale="relative hazard at severity 1",
          meaning="extra rupture hazard in the ending phase, in proportion to PD severity",
          source="S8 (Mann), assumption", group="dynamics",
          calibration=Fixed("off with ending_phase_sessions = 0")),
    Param(name="demoralization_share", default=0.22, range=(0, 1), scale="share of intake symptoms at severity 0",
          meaning="part of the intake symptoms that is demoralization, lifted by hope without rupture work; "
                  "smaller with more severe PD (0 = off)",
          source="S8 (Howard et al. 1993 phase model), T15, assumption; fitted (lowered by hand from 0.25 to "
                 "0.22: T15b)", group="dynamics",
          calibration=held_since_t17(Free(0.0, 0.6, targets="T15 (early change), T12, T10"))),
    Param(name="remoralization_rate", default=0.21, range=(0, 1), scale="share per session at alliance 1",
          meaning="how fast demoralization lifts with a working alliance",
          source="S8 (Howard et al. 1993), T15, assumption", group="dynamics",
          calibration=held_since_t17(Free(0.02, 0.5, log=True, targets="T15a-c (how early change comes)"))),
    Param(name="characterological_share", default=0.72, range=(0, 1),
          scale="share of intake symptoms at severity 1",
          meaning="part of the intake symptoms held up by the relational pattern: no relief reaches below it "
                  "until the pattern changes; in proportion to PD severity (0 = off)",
          source="S8 (Howard et al. 1993 phase model: characterological problems change last), T15, assumption",
          group="dynamics",
          calibration=held_since_t17(Free(0.0, 1.0, targets="T15d-e (PD changes slowly), T12"))),
    Param(name="gain_alliance_effect", default=0.083, range=(0, 2), scale="alliance per symptom point",
          meaning="how much a symptom gain in a session lifts the alliance the patient brings to the next session "
                  "(0 = off)",
          source="S8, S9 (Tang & DeRubeis 1999; Fluckiger et al. 2020), T19; fitted to T19",
          group="dynamics",
          calibration=Free(0.0, 0.5, targets="T19c (the alliance rises after a sudden gain), T10, T15")),
    Param(name="therapist_withdrawal_blindness", default=1.0, range=(0, 4), scale="salience points",
          meaning="how much less salient a noticed withdrawal marker is to the therapist's post-session report "
                  "(0 = off)",
          source="S8 (Eubanks-Carter, Muran & Safran 2015: therapists miss withdrawal), T13, assumption (one "
                 "point)", group="dynamics",
          calibration=Fixed("set: one salience point puts the therapist's reports below observer coding in every "
                            "population, as S8 says (without it therapists reported more); T13 passes either way")),
    Param(name="aft_awareness_gain", default=0.5, range=(0, 1), scale="proportion",
          meaning="share of the therapist's blindness to withdrawal that AFT removes",
          source="S8 (AFT trains awareness of withdrawal and of one's own part), T9, assumption", group="dynamics",
          calibration=Fixed("held: assumption (AFT removes half the blindness); no target separates the "
                            "therapist's report under AFT")),
    Param(name="therapist_perception", default=1.0, range=(0, 1), scale="weight",
          meaning="how far the therapist's WAI-SR rests on their own view of the alliance (their impression of "
                  "the patient, the ruptures they noticed and the repairs they saw) rather than on the latent "
                  "alliance (0 = latent)",
          source="S8 (therapists' ratings are their own perception; they miss withdrawal and their own part), S6",
          group="dynamics",
          calibration=Fixed("set: the therapist's rating is their own perception (S8); no study of T1-T17 reads "
                            "it")),
    Param(name="therapist_impression_sd", default=0.3, range=(0, 0.5), scale="0-1 alliance",
          meaning="between-dyad SD of the therapist's own impression of the alliance around the patient's: where "
                  "their view starts and the ceiling it grows toward (0 = the patient's)",
          source="S8 (therapists' ratings are their own perception); fitted to Tryon, Blackwell & Hammel 2007 "
                 "(patient and therapist WAI ratings correlate .36; not in literature.md)", group="dynamics",
          calibration=Fixed("set by a scan: r(patient, therapist WAI-SR) across dyads, mixed caseload, mean of "
                            "sessions 1-12: .81 at 0, .55 at 0.1, .42 at 0.15, .35 at 0.18; rescanned when the "
                            "therapist came to register the dents and repairs they take part in (issue 18): .50 at "
                            "0.18, .42 at 0.24, .355 at 0.3")),
    Param(name="good_enough_ending", default=0.001, range=(0, 1), scale="probability per session",
          meaning="chance to end therapy after a session once the symptom reading shows reliable improvement (0 "
                  "= off)",
          source="S8, S9 (Barkham et al. 2006: good-enough endings), T20 (O'Keeffe et al. 2020: a third of early "
                 "leavers got what they needed); fitted to T20",
          group="dynamics",
          calibration=Free(0.0005, 0.05, log=True,
                           targets="T20a (share of early leavers who got what they needed), T11, T16")),
    # --- the alliance as the patient lives it, session by session (S9) ---------------------------
    Param(name="felt_rupture_dent", default=0.024, range=(0, 0.5),
          scale="0-1 alliance per point of felt intensity",
          meaning="how much a rupture lowers the patient's own rating of that session's alliance, per point of "
                  "felt intensity above 'none' (PSQ 1-5); a repair gives it back in proportion (0 = off)",
          source="S9 (Stiles et al. 2004: rupture-repair sequences are V-shaped deflections of session alliance), "
                 "T18; fitted to T18 (raised by hand from 0.018 to 0.024 after the calibration of T1-T20: the "
                 "quick validation put T18e at 8.9 [5.7, 10.2], short of its band, and T18d at -0.42)",
          group="dynamics",
          calibration=Free(0.0, 0.1, targets="T18e (reliable session-to-session decreases), T18a-b, T10")),
    Param(name="felt_dent_carry", default=0.47, range=(0, 1), scale="proportion per session",
          meaning="share of the patient's unrepaired felt dent carried into the next session's rating (0 = gone "
                  "by then)",
          source="S9 (unrepaired dents add up before dropout), T18, assumption; fitted to T18",
          group="dynamics",
          calibration=Free(0.1, 0.9, targets="T18a-c (dropouts slide), T18e")),
    Param(name="dropout_decline_effect", default=14.0, range=(0, 50), scale="logit per alliance unit of decline",
          meaning="how much a decline of the alliance as the patient lives it (the last rating below its recent "
                  "course) raises dropout (0 = off)",
          source="S9 (Gulum, Soygut & Safran 2018; T18: deterioration before dropout); fitted to T18",
          group="dynamics",
          calibration=Free(0.0, 30.0, targets="T18a-c (dropouts deteriorate first), T11, T16")),
    Param(name="decline_memory", default=0.6, range=(0, 0.99), scale="proportion per session",
          meaning="weight of the past in the recent course of the patient's felt alliance (exponential average) "
                  "against which a decline is measured",
          source="S9, T18 (decline over the last sessions), assumption",
          group="dynamics",
          calibration=Fixed("held: assumption (about the last three sessions); dropout_decline_effect is fitted")),
    Param(name="therapist_repair_registration", default=1.0, range=(0, 1), scale="weight",
          meaning="how far the therapist's rating registers the felt dent and the repair of the ruptures they take "
                  "part in (noticed markers and the episodes they work through; 0 = not at all)",
          source="S6, S8, S9 (therapists who take part in a repair register it; responsive therapists rate closer "
                 "to their patients)",
          group="dynamics",
          calibration=Fixed("set: the therapist registers what they take part in, fully (S9); no study of T1-T20 "
                            "reads it")),
    Param(name="strategy_fit_strength", default=1.0, range=(0, 1), scale="weight",
          meaning="how far each 3RS strategy's fit to the marker type and stage (rules.STRATEGY_FIT, MODEL.md 7.3) "
                  "scales its chance to move the episode deeper (0 = every strategy of a family alike)",
          source="S4, S9 (Safran & Muran 2000; Eubanks, Muran & Safran 2015), assumption (no study gives the sizes)",
          group="dynamics",
          calibration=Fixed("set: the fit table holds each family's average under the therapist's own choice where "
                            "the targets put it; its cells are assumptions")),
    # --- symptoms and dropout -------------------------------------------------------------------
    Param(name="alliance_symptom_effect", default=0.0036, range=(0, 0.5), scale="proportion per session",
          meaning="symptom improvement per session at alliance 1",
          source="T10, T12; fitted to T12, T10 (the calibration of T1-T20 put it at 0.0047; set back by hand to "
                 "0.0036, its T1-T17 value, when felt_rupture_dent was raised: it keeps T10 off its edge)",
          group="outcome",
          calibration=Free(0.003, 0.06, log=True, targets="T12 (effect size, pre-post d, responders), T10")),
    Param(name="corrective_symptom_effect", default=0.036, range=(0, 0.5), scale="proportion per experience",
          meaning="symptom improvement per unit of corrective experience (a resolved rupture that reached stage "
                  "5)",
          source="T6, T7; fitted to T12, T6, T7, T8", group="outcome",
          calibration=held_since_t17(Free(0.003, 0.08, log=True, targets="T12, T6c, T7, T8"))),
    Param(name="pattern_symptom_effect", default=0.03, range=(0, 0.5), scale="proportion per session",
          meaning="symptom improvement per session once the relational pattern has fully changed (learning "
                  "generalises)",
          source="S4, assumption; fitted to T7, T12 (raised by hand from 0.017 to 0.03 after the calibration: T7)",
          group="outcome",
          calibration=held_since_t17(Free(0.003, 0.08, log=True, targets="T7, T12 (relief from a changed pattern)"))),
    Param(name="strain_symptom_effect", default=0.24, range=(0, 1), scale="symptom points per strain unit",
          meaning="symptom worsening from unresolved strain",
          source="S7 (McLaughlin 2014); fitted to T7, T10, T12", group="outcome",
          calibration=held_since_t17(Free(0.0, 0.25, targets="T7, T10, T12 (unresolved strain worsens symptoms)"))),
    Param(name="symptom_noise_sd", default=0.093, range=(0, 1), scale="symptom points per session",
          meaning="session-to-session symptom noise",
          source="assumption; fitted to T7, T10, T12", group="outcome",
          calibration=Fixed("held at the value of the calibration of T1-T14: noise spreads outcomes without a "
                            "process behind it, so it is no lever for the dynamics")),
    Param(name="dropout_base_logit", default=-7.7, range=(-15, 5), scale="logit per session",
          meaning="dropout hazard at reference alliance",
          source="T11; fitted to T11, T13, T20 (set by hand after the calibration of T1-T20, whose best -8.44 put "
                 "T11's median dropout at 18%, below 22-30: -8.0; then -7.7 with dropout_alliance_effect halved, "
                 "which put T11 at 27%)", group="outcome",
          calibration=Free(-10.0, -6.0, targets="T11 (dropout), T13b, T12, T20a")),
    Param(name="dropout_alliance_effect", default=2.0, range=(0, 20), scale="logit per alliance unit",
          meaning="how much a weak alliance raises dropout",
          source="T11, T13, T18 (halved by hand from its T1-T17 value 4.0 once dropout follows the alliance's "
                 "decline, S9: dropouts start like everyone else, and at 4.0 their first-session alliance was "
                 "-0.42 SD below completers', T18d)", group="outcome",
          calibration=passing("T13b", "; dropout_base_logit is fitted instead")),
    Param(name="dropout_strain_effect", default=2.0, range=(0, 20), scale="logit per strain unit",
          meaning="how much unresolved strain raises dropout",
          source="T13", group="outcome",
          calibration=passing("T13b")),
    Param(name="dropout_disengagement_effect", default=2.4, range=(0, 10), scale="logit at openness 0",
          meaning="how much a patient who is closed off (1 - openness: no trust yet, or closed off again by "
                  "strain) is likelier to leave (0 = off)",
          source="S8 (Gulum, Soygut & Safran 2018: silent disengagement before dropout; most dropout early), "
                 "T16, assumption", group="outcome",
          calibration=Free(0.0, 4.0, targets="T16 (dropout front-loaded), T11, T13b")),
    Param(name="dropout_unresolved_effect", default=0.7, range=(0, 10), scale="logit",
          meaning="dropout after a session with an unresolved episode or an unrepaired (missed or met with "
                  "hostility) marker",
          source="T13", group="outcome",
          calibration=passing("T13b")),
    # --- measurement ----------------------------------------------------------------------------
    Param(name="observer_salience_sd", default=0.4, range=(0, 2), scale="salience points",
          meaning="observer rating error (3RS ICC .85-.98)",
          source="S3", group="measurement",
          calibration=literature("observer reliability (3RS ICC .85-.98, S3)")),
    Param(name="observer_salient_threshold", default=3, range=(1, 5), scale="3RS salience 1-5",
          meaning="observer salience from which a session counts as having a rupture",
          source="T1", group="measurement",
          calibration=scale_definition(" (3RS: a session counts as a rupture session from salience 3, T1)"),
          integer=True),
    Param(name="patient_intensity_bias", default=-1.0, range=(-4, 4), scale="intensity points",
          meaning="patients' rating of a rupture relative to its salience",
          source="T13", group="measurement",
          calibration=passing("T13a")),
    Param(name="patient_withdrawal_blindness", default=1.0, range=(0, 4), scale="intensity points",
          meaning="how much less patients register their own withdrawal",
          source="T13, assumption", group="measurement",
          calibration=passing("T13a")),
    Param(name="patient_intensity_severity_gain", default=0.5, range=(0, 4),
          scale="intensity points per unit severity",
          meaning="heightened felt intensity with more severe PD",
          source="T3; fitted to T3 (by hand after the calibration)", group="measurement",
          calibration=passing("T3", "; set by hand after the calibration of T1-T14")),
    Param(name="patient_intensity_sd", default=0.7, range=(0, 3), scale="intensity points",
          meaning="noise of the patient rating",
          source="assumption", group="measurement",
          calibration=passing("T13a")),
    Param(name="patient_report_threshold", default=2, range=(1, 5), scale="PSQ intensity 1-5",
          meaning="felt intensity from which a patient reports a rupture",
          source="T13, assumption", group="measurement",
          calibration=scale_definition(" (PSQ: rupture reported from intensity 2, T13)"), integer=True),
    Param(name="therapist_report_threshold", default=2, range=(1, 5), scale="3RS salience 1-5",
          meaning="salience of a noticed marker from which a therapist reports a rupture",
          source="T13, assumption", group="measurement",
          calibration=scale_definition(" (PSQ: rupture reported from salience 2, T13)"), integer=True),
    Param(name="wai_patient_bias", default=0.05, range=(-0.5, 0.5), scale="0-1 alliance",
          meaning="patients' WAI-SR rating above the latent alliance",
          source="S6 (d = .46)", group="measurement",
          calibration=literature("patients rate the alliance higher than therapists (d = .46, S6)")),
    Param(name="wai_therapist_bias", default=-0.12, range=(-0.5, 0.5), scale="0-1 alliance",
          meaning="therapists' WAI-SR rating relative to what it rests on (their own view, therapist_perception)",
          source="S6 (patients rate the alliance higher than therapists in severe disorders, d = .46); fitted",
          group="measurement",
          calibration=Fixed("set by a scan: d (patient minus therapist WAI-SR), adult BPD, mean of sessions "
                            "1-12: .19 at -0.03, .31 at -0.05, .44 at -0.07; rescanned with the felt dents of "
                            "issue 18 (impression SD 0.3): .24 at -0.07, .37 at -0.1, .50 at -0.13; -0.12 for .46")),
    Param(name="wai_noise_sd", default=0.03, range=(0, 0.5), scale="0-1 alliance",
          meaning="session-to-session noise of a WAI-SR rating (patient and therapist)",
          source="S6, S8 (WAI-SR internal consistency about .90; reliable drops the exception): against the "
                 "between-patient SD of the alliance at session 1 (about 0.10) this noise gives a reliability "
                 "near .90 (0.06 gave .72 and a reliable drop in 12% of session pairs)", group="measurement",
          calibration=literature("reliability of the WAI-SR about .90 (S6, S8)")),
    Param(name="wai_leniency_sd", default=0.05, range=(0, 0.5), scale="0-1 alliance",
          meaning="between-patient SD of a stable leniency in the patient's WAI-SR (a response style: some "
                  "patients rate every relationship high), drawn at intake (0 = off)",
          source="S8 (patient ratings lenient, near the top of the scale); fitted to T10", group="measurement",
          calibration=Fixed("set by a one-dimensional scan on T10 after wai_noise_sd was set from the scale's "
                            "reliability (r .322 at 0, .286 at 0.05, .254 at 0.08, quick); not searched by the "
                            "joint calibration")),
    Param(name="wai_item_sd", default=0.0, range=(0, 1), scale="0-1 alliance per item",
          meaning="noise of each of the 12 WAI-SR items (rated 1-5 and summed); 0 = one rating with noise and a "
                  "ceiling, as calibrated. About 0.17 gives an internal consistency near .90 for a "
                  "between-patient alliance SD of .15",
          source="S6, S8 (WAI-SR: 12 items rated 1-5, high internal consistency, patient ratings near the "
                 "ceiling)", group="measurement",
          calibration=Fixed("off: the WAI-SR stays one rating with the calibrated noise and ceiling; no target "
                            "constrains the items")),
    Param(name="symptom_reliability", default=0.82, range=(0.1, 0.99), scale="reliability",
          meaning="test-retest reliability of the symptom scale (the one Jacobson-Truax uses)",
          source="S6, assumption (about the one-week retest r reported for the BSL-23)", group="measurement",
          calibration=literature("reliability of the symptom scale (S6)")),
    Param(name="symptom_scale_sd", default=0.6, range=(0.01, 2), scale="0-4 scale",
          meaning="SD of the symptom scale in the clinical norm group (RCI)",
          source="S6, assumption", group="measurement",
          calibration=literature("SD of the symptom scale in the norm group (S6)")),
    Param(name="recovery_cutoff", default=1.07, range=(0, 4), scale="0-4 scale (BSL-23 mean)",
          meaning="clinical cut-off of the symptom scale: a reading below it is out of the clinical range "
                  "(recovery)",
          source="S6; Kleindienst, Jungkunz & Bohus 2020 (BSL-23 severity grades: none/low < 0.28, mild "
                 "0.28-1.07, moderate 1.07-1.87; 1.50 separated BPD from clinical controls)", group="measurement",
          calibration=literature("upper bound of the 'mild' BSL-23 severity grade (Kleindienst et al. 2020)")),
)
# fmt: on

SPECS: dict[str, Param] = {p.name: p for p in PARAMETERS}
ModelParams = namedtuple("ModelParams", [p.name for p in PARAMETERS])
ModelParams.__doc__ = "Parameter values as a flat named tuple of floats (``records.kernel_params`` for the kernels)."
SHARE_NAMES = tuple(f"share_{d}" for d in DIAGNOSES)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40
_REPR.maxlong = 30


def show(value: Any) -> str:
    """A short, single-line rendering of a user's value for a message (the model layer imports nothing above it)."""
    try:
        return _REPR.repr(value)
    except Exception:  # e.g. an int too long to print
        return f"a {type(value).__name__}"


def _check_value(spec: Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(
            f"Parameter '{spec.name}' must be a number between {spec.low:g} and {spec.high:g} (got {show(value)})."
        )
    if isinstance(value, int) and not spec.low <= value <= spec.high:  # compared before float() can overflow
        raise ParameterError(
            f"Parameter '{spec.name}' must be between {spec.low:g} and {spec.high:g} (got {show(value)})."
        )
    value = float(value)
    if not math.isfinite(value) or not spec.low <= value <= spec.high:
        raise ParameterError(f"Parameter '{spec.name}' must be between {spec.low:g} and {spec.high:g} (got {value:g}).")
    if spec.integer and value != round(value):
        raise ParameterError(
            f"Parameter '{spec.name}' must be a whole number between {spec.low:g} and {spec.high:g} (got {value:g})."
        )
    return value


def check_name(name: str) -> None:
    """Raise ParameterError naming the closest known parameter if ``name`` is unknown."""
    if not isinstance(name, str):
        raise ParameterError(f"Parameter names must be strings (got {show(name)}); `rupture-sim params` lists them.")
    if name in SPECS:
        return
    close = difflib.get_close_matches(name, SPECS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "; `rupture-sim params` lists them."
    raise ParameterError(f"Unknown parameter '{name}'{hint}")


class Parameters(Mapping[str, float]):
    """A complete, validated set of parameter values.

    Args:
        overrides: Values that replace the defaults, by parameter name.

    Raises:
        ParameterError: For an unknown name, a value out of range, or
            diagnosis shares that do not sum to 1.

    Examples:
        >>> Parameters({"noticing": 0.6})["noticing"]
        0.6
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        if overrides is not None and not isinstance(overrides, Mapping):
            raise ParameterError(f"Parameter overrides must be a mapping of names to numbers (got {show(overrides)}).")
        values = {p.name: float(p.default) for p in PARAMETERS}
        for name, value in (overrides or {}).items():
            check_name(name)
            values[name] = _check_value(SPECS[name], value)
        total = sum(values[n] for n in SHARE_NAMES)
        if abs(total - 1.0) > 1e-6:
            raise ParameterError(f"Parameters {', '.join(SHARE_NAMES)} must sum to 1 (got {total:g}).")
        self._values = values

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != SPECS[k].default}
        return f"Parameters({changed})"

    def replace(self, **overrides: Any) -> Parameters:
        """Return a copy with some values replaced (validated again)."""
        return Parameters({**self._values, **overrides})

    def as_dict(self) -> dict[str, float]:
        """Plain dict of all values (ints for integer parameters)."""
        return {k: int(v) if SPECS[k].integer else v for k, v in self._values.items()}

    def model_params(self) -> ModelParams:
        """Values as a named tuple (``records.kernel_params`` makes it the record the compiled rules read)."""
        return ModelParams(**self._values)

    def profiles(self) -> np.ndarray:
        """Per-diagnosis profile matrix, rows in ``DIAGNOSES`` order, columns ``PROFILE_FIELDS``."""
        return np.array([[self._values[f"{d}_{f}"] for f in PROFILE_FIELDS] for d in DIAGNOSES], dtype=np.float64)

    def shares(self) -> np.ndarray:
        """Diagnosis shares in ``DIAGNOSES`` order."""
        return np.array([self._values[n] for n in SHARE_NAMES], dtype=np.float64)


def parameter_table() -> list[dict[str, Any]]:
    """All declarations as records (for docs, ``rupture-sim params`` and manifests)."""
    return [
        {
            "name": p.name,
            "group": p.group,
            "default": p.default,
            "low": p.low,
            "high": p.high,
            "scale": p.scale,
            "meaning": p.meaning,
            "source": p.source,
        }
        for p in PARAMETERS
    ]
