"""Every model parameter, declared once: meaning, scale, default, range, source and calibration status.

``PARAMETERS`` is the single table of the model's parameters (the Starsim idea
of declared parameters). ``Parameters`` is a validated set of values: unknown
names and out-of-range values are rejected with one clear sentence. The
compiled rules receive the values as the named tuple ``ModelParams`` and the
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


@dataclass(frozen=True)
class Param:
    """Declaration of one model parameter.

    Attributes:
        name: Identifier used in code, specs and tables.
        default: Default value.
        low: Smallest allowed value.
        high: Largest allowed value.
        scale: Unit or scale of the value.
        meaning: What the parameter means in therapy terms.
        source: Target id(s) from literature.md, or "assumption".
        group: Which part of the model it belongs to.
        calibration: Fitted by the calibration (``Free``) or not (``Fixed``, with the reason).
        integer: Whether only whole numbers are allowed.
    """

    name: str
    default: float
    low: float
    high: float
    scale: str
    meaning: str
    source: str
    group: str
    calibration: Free | Fixed
    integer: bool = False


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


def held_since_t17(free: Free) -> Fixed:
    """Fixed at the value of the calibration of T1-T17: a lever the calibration of issue 18 did not search.

    That calibration (T1-T20, ``docs/calibration/t1_t20``) searched only the levers of the targets the
    new mechanisms move (T10, T11, T16, T18-T20), so that a few dozen trials could search them.
    """
    return Fixed(
        f"held: fitted by the calibration of T1-T17 (docs/calibration/all) in {free.low:g}-{free.high:g} for "
        f"{free.targets}; the calibration of T1-T20 searched only the levers of the new mechanisms"
    )


def _p(
    group: str,
    name: str,
    default: float,
    low: float,
    high: float,
    scale: str,
    meaning: str,
    source: str,
    calibration: Free | Fixed,
    integer: bool = False,
) -> Param:
    return Param(name, default, low, high, scale, meaning, source, group, calibration, integer)


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
            out.append(_p("population", name, default, low, high, scale, text, source, calibration))
    return out


# fmt: off
PARAMETERS: tuple[Param, ...] = (
    # --- population mix and individual variation -------------------------------------------
    _p("population", "share_no_pd", 1 / 3, 0, 1, "proportion",
       "share of patients without PD", "assumption (study design)",
       design()),
    _p("population", "share_bpd", 1 / 3, 0, 1, "proportion", "share of patients with BPD", "assumption (study design)",
       design()),
    _p("population", "share_other_pd", 1 / 3, 0, 1, "proportion",
       "share of patients with another PD", "assumption (study design)",
       design()),
    *_profile_params(),
    _p("population", "severity_sd", 0.15, 0, 0.5, "0-1",
       "between-patient SD of PD severity", "assumption; fitted to T3, T7, T10",
       held_since_t17(Free(0.05, 0.3, targets="T3 (PD vs non-PD contrast), T7, T10"))),
    _p("population", "tendency_sd", 0.3, 0, 2, "log scale", "between-patient SD of rupture proneness", "assumption",
       secondary("T3 (severity_sd and patient_intensity_severity_gain are fitted)")),
    _p("population", "symptom_sd", 0.53, 0, 2, "0-4 scale",
       "between-patient SD of intake symptoms", "assumption; fitted to T12",
       held_since_t17(Free(0.3, 1.0, targets="T12b (pre-post d is scaled by the intake SD), T12a"))),
    _p("population", "insight_sd", 0.15, 0, 0.5, "0-1", "between-patient SD of insight", "assumption",
       secondary("T4b")),
    # --- therapists ---------------------------------------------------------------------------
    _p("therapist", "caseload", 6, 1, 100, "patients",
       "patients per therapist", "assumption (study design)",
       design(), integer=True),
    _p("therapist", "skill_mean", 0.6, 0, 1, "0-1", "mean general therapist skill", "assumption",
       passing("T6b", "; anchors experienced vs novice therapists (preset 0.4)")),
    _p("therapist", "skill_sd", 0.1, 0, 0.5, "0-1", "between-therapist SD of skill", "assumption",
       secondary("T8")),
    _p("therapist", "noticing", 0.35, 0, 1, "probability per salience point",
       "chance to notice a marker, per point of salience (p = 1-(1-x)^salience)", "T2, assumption",
       passing("T13a, T9d", "; anchors experienced vs novice therapists")),
    _p("therapist", "reactivity", 0.15, 0, 1, "probability",
       "chance of a hostile/blaming response to a confrontation marker of a patient with severity 0", "T5",
       passing("T5a, T9c")),
    _p("therapist", "reactivity_severity_gain", 1.0, 0, 5, "multiplier per unit severity",
       "how much more reactive therapists are with more severe PD", "T5",
       passing("T5a")),
    _p("therapist", "withdrawal_reactivity_ratio", 0.3, 0, 1, "ratio",
       "reactivity to withdrawal relative to confrontation markers", "assumption",
       passing("T5a")),
    _p("therapist", "exploratory_repertoire", 1, 0, 1, "0/1",
       "1 if the therapist can use exploratory (metacommunication) strategies", "S4",
       design(" (the arms of T6, the novice preset)"), integer=True),
    _p("therapist", "exploratory_preference", 0.5, 0, 1, "probability",
       "chance to choose an exploratory strategy when the repertoire has it", "assumption",
       passing("T6b")),
    _p("therapist", "other_strategy_share", 0.15, 0, 1, "probability",
       "chance of an 'other' strategy (validate, redirect) instead of an immediate one", "assumption",
       passing("T6b")),
    _p("therapist", "aft_start_session", 0, 0, 1000, "session",
       "session from which the therapist works with alliance-focused training (0 = never)", "T8, T9",
       design(" (the AFT schedule of T8, T9, T12)"), integer=True),
    _p("therapist", "aft_noticing_gain", 0.047, 0, 1, "probability per salience point",
       "AFT: added noticing (attunement)", "T9; fitted to T8, T9",
       held_since_t17(Free(0.0, 0.3, targets="T9a, T9d, T8b"))),
    _p("therapist", "aft_reactivity_reduction", 0.5, 0, 1, "proportion",
       "AFT: reduction of reactivity (less blaming)", "T9 (soft)",
       passing("T9c")),
    _p("therapist", "aft_exploratory_gain", 0.2, 0, 1, "probability",
       "AFT: added exploratory preference", "T9; fitted to T8, T9",
       held_since_t17(Free(0.0, 0.4, targets="T9b, T8"))),
    _p("therapist", "aft_skill_gain", 0.096, 0, 1, "0-1",
       "AFT: added skill (resolution steps, clarity)", "T8, T9; fitted to T8, T9",
       secondary("T8, T9a (aft_noticing_gain is fitted)")),
    _p("therapist", "aft_supportive_gain", 0.25, 0, 1, "probability",
       "AFT: added affirmation per segment", "T9; fitted to T9",
       secondary("T9b (aft_exploratory_gain is fitted)")),
    # --- session and ruptures -----------------------------------------------------------------
    _p("rupture", "n_segments", 10, 1, 30, "segments",
       "5-minute coding segments per session (3RS)", "S3",
       design(" (3RS codes 5-minute segments of a 50-minute session, S3)"), integer=True),
    _p("rupture", "rupture_base_rate", 0.016, 0, 2, "markers per segment",
       "marker rate of a patient with style 1 and severity 0 at reference alliance",
       "T1, T14, assumption; fitted to T1, T14",
       held_since_t17(Free(0.01, 0.09, log=True, targets="T1, T14a (marker counts)"))),
    _p("rupture", "severity_rupture_gain", 3.8, 0, 10, "log-rate per unit severity",
       "how steeply PD severity raises rupture proneness", "S1, S7; fitted to T1, T4, T14",
       held_since_t17(Free(1.0, 4.0, targets="T1, T4a, T7, T10, T11, T14a"))),
    _p("rupture", "alliance_reference", 0.6, 0, 1, "0-1",
       "alliance at which rupture and dropout hazards are neutral", "assumption",
       secondary("T1, T11, T13b (confounded with rupture_base_rate, dropout_base_logit)")),
    _p("rupture", "alliance_rupture_gain", 1.5, 0, 10, "log-rate per alliance unit",
       "how much a weak alliance raises rupture proneness", "assumption",
       secondary("T14a")),
    _p("rupture", "strain_rupture_gain", 1.0, 0, 10, "log-rate per strain unit",
       "how much unresolved strain raises rupture proneness", "S7",
       secondary("T14a")),
    _p("rupture", "provocation_rate", 0.5, 0, 5, "markers per segment",
       "added marker rate after a negative intervention (unclear: same segment; hostile: next segment)", "T4, T5",
       passing("T4a, T4c")),
    _p("rupture", "expressive_provocation", 0.4, 0, 5, "markers per segment",
       "added marker rate after an expressive intervention the patient cannot take up (chance 1 - insight)", "S5",
       passing("T4a, T5d")),
    _p("rupture", "withdrawal_salience_mean", 2.0, 1, 5, "3RS salience 1-5",
       "mean salience of withdrawal markers", "T2",
       literature("3RS salience of withdrawal markers (T2, Schenk et al. 2019)")),
    _p("rupture", "confrontation_salience_mean", 3.0, 1, 5, "3RS salience 1-5",
       "mean salience of confrontation markers", "T2",
       literature("3RS salience of confrontation markers (T2, Schenk et al. 2019)")),
    _p("rupture", "severity_salience_gain", 1.0, 0, 4, "salience points per unit severity",
       "how much more salient markers of severe patients are", "T2, T14",
       literature("more salient markers with severe PD (T2, T14)")),
    _p("rupture", "salience_sd", 0.8, 0, 3, "salience points", "SD of marker salience", "assumption",
       passing("T2b")),
    # --- therapist work between ruptures ------------------------------------------------------
    _p("intervention", "expressive_base", 0.25, 0, 1, "probability per segment",
       "chance of an expressive intervention", "S5",
       passing("T5d")),
    _p("intervention", "expressive_severity_gain", 0.39, 0, 1, "probability per unit severity",
       "more expressive work with PD patients", "T5; fitted to T5",
       passing("T5d", "; fitted in the calibration of T1-T14")),
    _p("intervention", "supportive_base", 0.3, 0, 1, "probability per segment",
       "chance of a supportive intervention", "T5",
       passing("T5c")),
    _p("intervention", "supportive_severity_gain", 0.2, 0, 1, "probability per unit severity",
       "more supportive work with PD patients", "T5",
       passing("T5c")),
    _p("intervention", "unclear_base", 0.15, 0, 1, "probability per segment",
       "chance of an unclear/premature intervention by a therapist of skill 0 with a patient of severity 0", "T4, T5",
       passing("T4c, T5b")),
    _p("intervention", "unclear_severity_gain", 2.5, 0, 5, "multiplier per unit severity",
       "less clear communication with more severe PD", "T5",
       passing("T5b")),
    _p("intervention", "collaborative_base", 0.5, 0, 1, "probability per segment",
       "chance of a collaborative process at alliance 1 and insight 1", "T4, S5",
       passing("T4b")),
    # --- resolution process ---------------------------------------------------------------------
    _p("resolution", "stage_advance_base", 1.0, 0, 1, "probability per segment",
       "chance to move one stage deeper for a therapist of skill 1, a patient of severity 0 and insight 1",
       "S4, assumption",
       passing("T6b")),
    _p("resolution", "severity_repair_penalty", 0.5, 0, 1, "proportion per unit severity",
       "how much PD severity weakens repair", "S7 (King-Casas 2008)",
       literature("severity weakens repair (S7, King-Casas 2008)")),
    _p("resolution", "insight_depth_weight", 0.6, 0, 1, "proportion",
       "how much low insight blocks the deep exploratory stages (4-5)", "T4, S5",
       passing("T6b")),
    _p("resolution", "regress_base", 0.3, 0, 1, "probability per segment",
       "chance to fall back one stage, times severity and (1 - skill)", "S4",
       passing("T6b")),
    _p("resolution", "flareup_regress", 0.5, 0, 1, "probability",
       "chance that a new marker inside an open episode sets it back one stage", "S4",
       passing("T6b")),
    _p("resolution", "max_stall_segments", 3, 1, 30, "segments",
       "segments without progress before the dyad leaves the episode", "assumption",
       passing("T6b"), integer=True),
    _p("resolution", "stage_skip", 0.1, 0, 1, "proportion of advances",
       "share of the advances that skip the next stage (where the repertoire reaches two stages deeper)",
       "S4, assumption",
       literature("S4 (stages can be skipped; the share is an assumption)")),
    _p("resolution", "resolved_stage", 3, 2, 5, "stage",
       "stage a rupture must reach to count as resolved", "S4, assumption",
       scale_definition(" (resolution stages of the 3RS model, S4)"), integer=True),
    _p("resolution", "immediate_stage_cap", 3, 2, 5, "stage",
       "deepest stage reachable with immediate strategies", "S4",
       scale_definition(" (immediate strategies do not reach the exploratory stages, S4)"), integer=True),
    # --- alliance -------------------------------------------------------------------------------
    _p("alliance", "alliance_initial", 0.62, 0, 1, "0-1",
       "alliance at intake of a patient with severity 0", "assumption",
       secondary("T10")),
    _p("alliance", "alliance_initial_sd", 0.1, 0, 0.5, "0-1", "between-patient SD of intake alliance", "assumption",
       secondary("T10")),
    _p("alliance", "alliance_ceiling", 0.9, 0, 1, "0-1",
       "alliance a patient with severity 0 grows toward", "assumption",
       secondary("T11")),
    _p("alliance", "alliance_severity_penalty", 0.2, 0, 1, "0-1 per unit severity",
       "lower intake alliance and ceiling with more severe PD", "S1",
       secondary("T10, T11")),
    _p("alliance", "alliance_growth", 0.12, 0, 1, "proportion per session",
       "share of the gap to the ceiling closed each session", "T10, assumption",
       secondary("T12a")),
    _p("alliance", "collaborative_alliance_gain", 0.02, 0, 0.2, "growth rate per collaborative segment",
       "added share of the gap to the ceiling closed per collaborative segment", "T4",
       passing("T4b")),
    _p("alliance", "rupture_dip", 0.025, 0, 1, "alliance per marker",
       "alliance lost by a confrontation marker of salience 5", "T2",
       secondary("T12a")),
    _p("alliance", "withdrawal_dip_ratio", 0.5, 0, 1, "ratio",
       "dip of withdrawal relative to confrontation markers", "T2",
       passing("T2")),
    _p("alliance", "negative_intervention_dip", 0.01, 0, 1, "alliance per intervention",
       "alliance lost by a hostile or unclear intervention", "T4, T5",
       passing("T4c")),
    _p("alliance", "partial_repair", 0.5, 0, 1, "proportion",
       "share of the dip repaired by a partly resolved rupture", "assumption",
       secondary("T7")),
    _p("alliance", "repair_overshoot", 0.5, 0, 3, "proportion of the dip",
       "alliance gained above the pre-rupture level by a resolution that reaches stage 5 (the 'V')", "T7, S4",
       secondary("T6c")),
    _p("alliance", "strain_decay", 0.42, 0, 1, "proportion per session",
       "share of unresolved strain carried over", "S7, assumption; fitted to T7, T8, T11, T12",
       held_since_t17(Free(0.4, 0.95, targets="T7, T8c, T11, T12a (carried-over strain)"))),
    _p("alliance", "corrective_learning", 0.34, 0, 1, "proportion per experience",
       "share of the distance to pattern_floor removed per unit of corrective experience",
       "S4, S7, assumption; fitted to T6, T7, T12 (raised by hand from 0.28 to 0.34 after the calibration: T7)",
       held_since_t17(Free(0.05, 0.8, targets="T7, T6, T12 (how fast repaired ruptures loosen it)"))),
    _p("alliance", "pattern_confirmation", 0.59, 0, 1, "proportion per rupture",
       "share of the loosening undone by each rupture left unresolved or unrepaired",
       "S4, assumption; fitted to T7, T8, T12",
       held_since_t17(Free(0.0, 0.6, targets="T7, T12c, T8 (unresolved ruptures confirm it)"))),
    _p("alliance", "pattern_floor", 0.52, 0, 1, "multiplier", "lowest relational rigidity reachable",
       "assumption; fitted to T6, T7, T12",
       held_since_t17(Free(0.05, 0.6, targets="T7, T6a, T12 (how far the pattern can loosen)"))),
    # --- dynamics over a course: trust and deference, two ways to leave early ------------------
    # Fitted together with T15-T17 where a target constrains them; the others are off (strength 0)
    # with the reason in their declaration.
    _p("dynamics", "trust_growth", 0.1, 0, 1, "proportion of the gap per session",
       "growth of the patient's trust in the therapist with each session attended",
       "S8 (Rennie 1994: deference early in a course), assumption",
       Fixed("held: assumption; deference_voicing and dropout_disengagement_effect, which read trust, are fitted")),
    _p("dynamics", "trust_repair_gain", 0.3, 0, 2, "proportion of the gap per corrective experience",
       "extra trust from a repaired rupture (discontent was voiced and survived)",
       "S4 (the withdrawal path ends in self-assertion), S8, assumption",
       Fixed("held: assumption; deference_voicing and dropout_disengagement_effect, which read trust, are fitted")),
    _p("dynamics", "deference_voicing", 0.31, 0, 1, "proportion at trust 0",
       "share of confrontation proneness that comes out as withdrawal while trust is low (0 = off)",
       "S8 (Rennie 1994; Blanchard & Farber 2016), T6, T17, assumption",
       held_since_t17(Free(0.0, 0.9, targets="T17 (withdrawal early, confrontation later), T6, T1"))),
    _p("dynamics", "deference_unvoiced", 0.0, 0, 4, "PSQ intensity points at trust 0",
       "how much lower a patient with low trust rates a rupture on the post-session questionnaire (0 = off)",
       "S8 (Blanchard & Farber 2016: negative reactions hidden 'to be polite'), assumption",
       Fixed("off: no target constrains the patient's questionnaire by trust (T13 passes without it)")),
    _p("dynamics", "deference_leniency", 0.0, 0, 0.5, "0-1 alliance at trust 0",
       "extra leniency of the patient's WAI-SR rating while trust is low (0 = off)",
       "S8 (patient ratings near the top of the scale, more so early), assumption",
       Fixed("off: no target constrains the leniency of the patient's WAI-SR by trust")),
    _p("dynamics", "disengagement_strain", 1.3, 0, 20, "per strain unit",
       "how much carried-over strain closes the patient off: openness = trust / (1 + this * strain) (0 = off)",
       "S8 (Gulum, Soygut & Safran 2018: fewer voiced ruptures before dropout), assumption",
       held_since_t17(Free(0.0, 10.0, targets="T16, T13 (silent disengagement before dropout)"))),
    _p("dynamics", "working_through_gain", 0.11, 0, 5, "relative severity effect per alliance unit",
       "how much more the therapist challenges core patterns as the alliance can bear it: the PD part of the "
       "rupture hazard is scaled by 1 + this * (alliance - alliance_reference) (0 = off)",
       "S8 (Safran & Muran 2000: ruptures open a window onto core schemas), T17, assumption",
       held_since_t17(Free(0.0, 2.0, targets="T17 (ruptures rise over a course), T1, T14"))),
    _p("dynamics", "ending_phase_sessions", 0, 0, 20, "sessions",
       "last planned sessions in which the approaching end reactivates abandonment themes (0 = off)",
       "S8 (Mann's time-limited therapy; weak support, Joyce & Piper 1990: small and switchable)",
       Fixed("off: no target needs it yet"), integer=True),
    _p("dynamics", "ending_reactivation", 0.5, 0, 5, "relative hazard at severity 1",
       "extra rupture hazard in the ending phase, in proportion to PD severity",
       "S8 (Mann), assumption",
       Fixed("off with ending_phase_sessions = 0")),
    _p("dynamics", "demoralization_share", 0.22, 0, 1, "share of intake symptoms at severity 0",
       "part of the intake symptoms that is demoralization, lifted by hope without rupture work; "
       "smaller with more severe PD (0 = off)",
       "S8 (Howard et al. 1993 phase model), T15, assumption; fitted (lowered by hand from 0.25 to 0.22: T15b)",
       held_since_t17(Free(0.0, 0.6, targets="T15 (early change), T12, T10"))),
    _p("dynamics", "remoralization_rate", 0.21, 0, 1, "share per session at alliance 1",
       "how fast demoralization lifts with a working alliance",
       "S8 (Howard et al. 1993), T15, assumption",
       held_since_t17(Free(0.02, 0.5, log=True, targets="T15a-c (how early change comes)"))),
    _p("dynamics", "characterological_share", 0.72, 0, 1, "share of intake symptoms at severity 1",
       "part of the intake symptoms held up by the relational pattern: no relief reaches below it until the "
       "pattern changes; in proportion to PD severity (0 = off)",
       "S8 (Howard et al. 1993 phase model: characterological problems change last), T15, assumption",
       held_since_t17(Free(0.0, 1.0, targets="T15d-e (PD changes slowly), T12"))),
    _p("dynamics", "gain_alliance_effect", 0.1, 0, 2, "alliance per symptom point",
       "how much a symptom gain in a session lifts the alliance the patient brings to the next session (0 = off)",
       "S8, S9 (Tang & DeRubeis 1999; Fluckiger et al. 2020), T19; fitted to T19",
       Free(0.0, 0.5, targets="T19c (the alliance rises after a sudden gain), T10, T15")),
    _p("dynamics", "therapist_withdrawal_blindness", 1.0, 0, 4, "salience points",
       "how much less salient a noticed withdrawal marker is to the therapist's post-session report (0 = off)",
       "S8 (Eubanks-Carter, Muran & Safran 2015: therapists miss withdrawal), T13, assumption (one point)",
       Fixed("set: one salience point puts the therapist's reports below observer coding in every population, "
             "as S8 says (without it therapists reported more); T13 passes either way")),
    _p("dynamics", "aft_awareness_gain", 0.5, 0, 1, "proportion",
       "share of the therapist's blindness to withdrawal that AFT removes",
       "S8 (AFT trains awareness of withdrawal and of one's own part), T9, assumption",
       Fixed("held: assumption (AFT removes half the blindness); no target separates the therapist's report "
             "under AFT")),
    _p("dynamics", "therapist_perception", 1.0, 0, 1, "weight",
       "how far the therapist's WAI-SR rests on their own view of the alliance (their impression of the patient, "
       "the ruptures they noticed and the repairs they saw) rather than on the latent alliance (0 = latent)",
       "S8 (therapists' ratings are their own perception; they miss withdrawal and their own part), S6",
       Fixed("set: the therapist's rating is their own perception (S8); no study of T1-T17 reads it")),
    _p("dynamics", "therapist_impression_sd", 0.18, 0, 0.5, "0-1 alliance",
       "between-dyad SD of the therapist's own impression of the alliance around the patient's: where their "
       "view starts and the ceiling it grows toward (0 = the patient's)",
       "S8 (therapists' ratings are their own perception); fitted to Tryon, Blackwell & Hammel 2007 (patient and "
       "therapist WAI ratings correlate .36; not in literature.md)",
       Fixed("set by a scan: r(patient, therapist WAI-SR) across dyads, mixed caseload, mean of sessions 1-12: "
             ".81 at 0, .55 at 0.1, .42 at 0.15, .35 at 0.18")),
    _p("dynamics", "good_enough_ending", 0.002, 0, 1, "probability per session",
       "chance to end therapy after a session once the symptom reading shows reliable improvement (0 = off)",
       "S8, S9 (Barkham et al. 2006: good-enough endings), T20 (O'Keeffe et al. 2020: a third of early leavers got "
       "what they needed); fitted to T20",
       Free(0.0005, 0.05, log=True, targets="T20a (share of early leavers who got what they needed), T11, T16")),
    # --- the alliance as the patient lives it, session by session (S9) ---------------------------
    _p("dynamics", "felt_rupture_dent", 0.03, 0, 0.5, "0-1 alliance per point of felt intensity",
       "how much a rupture lowers the patient's own rating of that session's alliance, per point of felt "
       "intensity above 'none' (PSQ 1-5); a repair gives it back in proportion (0 = off)",
       "S9 (Stiles et al. 2004: rupture-repair sequences are V-shaped deflections of session alliance), T18; "
       "fitted to T18",
       Free(0.0, 0.1, targets="T18e (reliable session-to-session decreases), T18a-b, T10")),
    _p("dynamics", "felt_dent_carry", 0.5, 0, 1, "proportion per session",
       "share of the patient's unrepaired felt dent carried into the next session's rating (0 = gone by then)",
       "S9 (unrepaired dents add up before dropout), T18, assumption",
       Free(0.1, 0.9, targets="T18a-c (dropouts slide), T18e")),
    _p("dynamics", "dropout_decline_effect", 14.0, 0, 50, "logit per alliance unit of decline",
       "how much a decline of the alliance as the patient lives it (the last rating below its recent course) "
       "raises dropout (0 = off)",
       "S9 (Gulum, Soygut & Safran 2018; T18: deterioration before dropout)",
       Free(0.0, 30.0, targets="T18a-c (dropouts deteriorate first), T11, T16")),
    _p("dynamics", "decline_memory", 0.6, 0, 0.99, "proportion per session",
       "weight of the past in the recent course of the patient's felt alliance (exponential average) against "
       "which a decline is measured",
       "S9, T18 (decline over the last sessions), assumption",
       Fixed("held: assumption (about the last three sessions); dropout_decline_effect is fitted")),
    _p("dynamics", "therapist_repair_registration", 1.0, 0, 1, "weight",
       "how far the therapist's rating registers the felt dent and the repair of the ruptures they take part in "
       "(noticed markers and the episodes they work through; 0 = not at all)",
       "S6, S8, S9 (therapists who take part in a repair register it; responsive therapists rate closer to "
       "their patients)",
       Fixed("set: the therapist registers what they take part in, fully (S9); no study of T1-T20 reads it")),
    _p("dynamics", "strategy_fit_strength", 1.0, 0, 1, "weight",
       "how far each 3RS strategy's fit to the marker type and stage (taxonomy.STRATEGY_FIT, MODEL.md 7.3) "
       "scales its chance to move the episode deeper (0 = every strategy of a family alike)",
       "S4, S9 (Safran & Muran 2000; Eubanks, Muran & Safran 2015), assumption (no study gives the sizes)",
       Fixed("set: the fit table holds each family's average under the therapist's own choice where the "
             "targets put it; its cells are assumptions")),
    # --- symptoms and dropout -------------------------------------------------------------------
    _p("outcome", "alliance_symptom_effect", 0.0036, 0, 0.5, "proportion per session",
       "symptom improvement per session at alliance 1", "T10, T12; fitted to T12, T10",
       Free(0.003, 0.06, log=True, targets="T12 (effect size, pre-post d, responders), T10")),
    _p("outcome", "corrective_symptom_effect", 0.036, 0, 0.5, "proportion per experience",
       "symptom improvement per unit of corrective experience (a resolved rupture that reached stage 5)",
       "T6, T7; fitted to T12, T6, T7, T8",
       held_since_t17(Free(0.003, 0.08, log=True, targets="T12, T6c, T7, T8"))),
    _p("outcome", "pattern_symptom_effect", 0.03, 0, 0.5, "proportion per session",
       "symptom improvement per session once the relational pattern has fully changed (learning generalises)",
       "S4, assumption; fitted to T7, T12 (raised by hand from 0.017 to 0.03 after the calibration: T7)",
       held_since_t17(Free(0.003, 0.08, log=True, targets="T7, T12 (relief from a changed pattern)"))),
    _p("outcome", "strain_symptom_effect", 0.24, 0, 1, "symptom points per strain unit",
       "symptom worsening from unresolved strain", "S7 (McLaughlin 2014); fitted to T7, T10, T12",
       held_since_t17(Free(0.0, 0.25, targets="T7, T10, T12 (unresolved strain worsens symptoms)"))),
    _p("outcome", "symptom_noise_sd", 0.093, 0, 1, "symptom points per session",
       "session-to-session symptom noise", "assumption; fitted to T7, T10, T12",
       Fixed("held at the value of the calibration of T1-T14: noise spreads outcomes without a process behind it, "
             "so it is no lever for the dynamics")),
    _p("outcome", "dropout_base_logit", -8.4, -15, 5, "logit per session",
       "dropout hazard at reference alliance", "T11; fitted to T11, T13",
       Free(-10.0, -6.0, targets="T11 (dropout), T13b, T12, T20a")),
    _p("outcome", "dropout_alliance_effect", 4.0, 0, 20, "logit per alliance unit",
       "how much a weak alliance raises dropout", "T11, T13",
       passing("T13b", "; dropout_base_logit is fitted instead")),
    _p("outcome", "dropout_strain_effect", 2.0, 0, 20, "logit per strain unit",
       "how much unresolved strain raises dropout", "T13",
       passing("T13b")),
    _p("outcome", "dropout_disengagement_effect", 1.5, 0, 10, "logit at openness 0",
       "how much a patient who is closed off (1 - openness: no trust yet, or closed off again by strain) is "
       "likelier to leave (0 = off)",
       "S8 (Gulum, Soygut & Safran 2018: silent disengagement before dropout; most dropout early), T16, assumption",
       Free(0.0, 4.0, targets="T16 (dropout front-loaded), T11, T13b")),
    _p("outcome", "dropout_unresolved_effect", 0.7, 0, 10, "logit",
       "dropout after a session with an unresolved episode or an unrepaired (missed or met with hostility) marker",
       "T13",
       passing("T13b")),
    # --- measurement ----------------------------------------------------------------------------
    _p("measurement", "observer_salience_sd", 0.4, 0, 2, "salience points",
       "observer rating error (3RS ICC .85-.98)", "S3",
       literature("observer reliability (3RS ICC .85-.98, S3)")),
    _p("measurement", "observer_salient_threshold", 3, 1, 5, "3RS salience 1-5",
       "observer salience from which a session counts as having a rupture", "T1",
       scale_definition(" (3RS: a session counts as a rupture session from salience 3, T1)"), integer=True),
    _p("measurement", "patient_intensity_bias", -1.0, -4, 4, "intensity points",
       "patients' rating of a rupture relative to its salience", "T13",
       passing("T13a")),
    _p("measurement", "patient_withdrawal_blindness", 1.0, 0, 4, "intensity points",
       "how much less patients register their own withdrawal", "T13, assumption",
       passing("T13a")),
    _p("measurement", "patient_intensity_severity_gain", 0.5, 0, 4, "intensity points per unit severity",
       "heightened felt intensity with more severe PD", "T3; fitted to T3 (by hand after the calibration)",
       passing("T3", "; set by hand after the calibration of T1-T14")),
    _p("measurement", "patient_intensity_sd", 0.7, 0, 3, "intensity points",
       "noise of the patient rating", "assumption",
       passing("T13a")),
    _p("measurement", "patient_report_threshold", 2, 1, 5, "PSQ intensity 1-5",
       "felt intensity from which a patient reports a rupture", "T13, assumption",
       scale_definition(" (PSQ: rupture reported from intensity 2, T13)"), integer=True),
    _p("measurement", "therapist_report_threshold", 2, 1, 5, "3RS salience 1-5",
       "salience of a noticed marker from which a therapist reports a rupture", "T13, assumption",
       scale_definition(" (PSQ: rupture reported from salience 2, T13)"), integer=True),
    _p("measurement", "wai_patient_bias", 0.05, -0.5, 0.5, "0-1 alliance",
       "patients' WAI-SR rating above the latent alliance", "S6 (d = .46)",
       literature("patients rate the alliance higher than therapists (d = .46, S6)")),
    _p("measurement", "wai_therapist_bias", -0.07, -0.5, 0.5, "0-1 alliance",
       "therapists' WAI-SR rating relative to what it rests on (their own view, therapist_perception)",
       "S6 (patients rate the alliance higher than therapists in severe disorders, d = .46); fitted",
       Fixed("set by a scan: d (patient minus therapist WAI-SR), adult BPD, mean of sessions 1-12: .19 at -0.03, "
             ".31 at -0.05, .44 at -0.07")),
    _p("measurement", "wai_noise_sd", 0.03, 0, 0.5, "0-1 alliance",
       "session-to-session noise of a WAI-SR rating (patient and therapist)",
       "S6, S8 (WAI-SR internal consistency about .90; reliable drops the exception): against the between-patient "
       "SD of the alliance at session 1 (about 0.10) this noise gives a reliability near .90 (0.06 gave .72 and a "
       "reliable drop in 12% of session pairs)",
       literature("reliability of the WAI-SR about .90 (S6, S8)")),
    _p("measurement", "wai_leniency_sd", 0.05, 0, 0.5, "0-1 alliance",
       "between-patient SD of a stable leniency in the patient's WAI-SR (a response style: some patients rate "
       "every relationship high), drawn at intake (0 = off)",
       "S8 (patient ratings lenient, near the top of the scale); fitted to T10",
       Fixed("set by a one-dimensional scan on T10 after wai_noise_sd was set from the scale's reliability "
             "(r .322 at 0, .286 at 0.05, .254 at 0.08, quick); not searched by the joint calibration")),
    _p("measurement", "wai_item_sd", 0.0, 0, 1, "0-1 alliance per item",
       "noise of each of the 12 WAI-SR items (rated 1-5 and summed); 0 = one rating with noise and a ceiling, "
       "as calibrated. About 0.17 gives an internal consistency near .90 for a between-patient alliance SD of .15",
       "S6, S8 (WAI-SR: 12 items rated 1-5, high internal consistency, patient ratings near the ceiling)",
       Fixed("off: the WAI-SR stays one rating with the calibrated noise and ceiling; no target constrains the items")),
    _p("measurement", "symptom_reliability", 0.82, 0.1, 0.99, "reliability",
       "test-retest reliability of the symptom scale (the one Jacobson-Truax uses)",
       "S6, assumption (about the one-week retest r reported for the BSL-23)",
       literature("reliability of the symptom scale (S6)")),
    _p("measurement", "symptom_scale_sd", 0.6, 0.01, 2, "0-4 scale",
       "SD of the symptom scale in the clinical norm group (RCI)", "S6, assumption",
       literature("SD of the symptom scale in the norm group (S6)")),
    _p("measurement", "recovery_cutoff", 1.07, 0, 4, "0-4 scale (BSL-23 mean)",
       "clinical cut-off of the symptom scale: a reading below it is out of the clinical range (recovery)",
       "S6; Kleindienst, Jungkunz & Bohus 2020 (BSL-23 severity grades: none/low < 0.28, mild 0.28-1.07, "
       "moderate 1.07-1.87; 1.50 separated BPD from clinical controls)",
       literature("upper bound of the 'mild' BSL-23 severity grade (Kleindienst et al. 2020)")),
)
# fmt: on

SPECS: dict[str, Param] = {p.name: p for p in PARAMETERS}
ModelParams = namedtuple("ModelParams", [p.name for p in PARAMETERS])
ModelParams.__doc__ = "Parameter values as a flat named tuple of floats, the form the compiled rules read."
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
        """Values as the named tuple the compiled rules read."""
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
