"""The clinical vocabulary: diagnoses, 3RS markers and strategies, resolution stages.

The integer codes here are what the compiled rules emit; the labels are what
tables, figures and the teaching narration show. Sources: the 3RS manual
(Eubanks, Muran & Safran 2015) and the stage models of Safran & Muran (1996,
2000), sections 3 and 4 of ``literature.md``.
"""

from __future__ import annotations

# Diagnosis groups (patient.diagnosis).
NO_PD, BPD, OTHER_PD = 0, 1, 2
DIAGNOSES = ("no_pd", "bpd", "other_pd")
DIAGNOSIS_LABELS = {
    "no_pd": "No PD (depression/anxiety)",
    "bpd": "Borderline PD",
    "other_pd": "Other PD (e.g. cluster C)",
}

# Rupture types.
NONE, WITHDRAWAL, CONFRONTATION = 0, 1, 2
RUPTURE_TYPES = ("none", "withdrawal", "confrontation")

# 3RS markers: codes 1-7 withdrawal, 8-14 confrontation.
WITHDRAWAL_MARKERS = (
    "denial",
    "minimal response",
    "abstract communication",
    "avoidant storytelling / shifting topic",
    "deferential and appeasing",
    "content/affect split",
    "self-criticism / hopelessness",
)
CONFRONTATION_MARKERS = (
    "complaints about the therapist",
    "rejects therapist intervention",
    "complaints about the activities of therapy",
    "complaints about the parameters of therapy",
    "complaints about progress in therapy",
    "defends self against therapist",
    "efforts to control / pressure the therapist",
)
N_MARKERS_PER_TYPE = 7

# 3RS resolution strategies: 1-3 immediate, 4-8 exploratory, 9-10 other.
IMMEDIATE, EXPLORATORY, OTHER = 1, 2, 3
STRATEGY_FAMILIES = ("none", "immediate", "exploratory", "other")
STRATEGIES = (
    "clarifies a misunderstanding",
    "changes tasks or goals",
    "illustrates tasks / provides a rationale",
    "invites discussion of thoughts or feelings about therapy",
    "acknowledges own contribution to the rupture",
    "discloses own internal experience",
    "links rupture to patient-therapist patterns",
    "links rupture to patterns in other relationships",
    "validates the defensive posture",
    "redirects / refocuses the patient",
)
FIRST_IMMEDIATE, FIRST_EXPLORATORY, FIRST_OTHER = 1, 4, 9

# Negative therapist interventions (CIS-R; SASB hostile / unclear; T4, T5).
HOSTILE, UNCLEAR = 1, 2
NEGATIVE_INTERVENTIONS = ("hostile, blaming or defensive response", "unclear or premature interpretation")

# Resolution stages (Safran & Muran): index = stage number, 0 = no episode.
WITHDRAWAL_STAGES = (
    "none",
    "withdrawal marker acknowledged",
    "therapist disembeds",
    "qualified articulation of discontent",
    "exploration of what blocks self-assertion",
    "self-assertion expressed and validated",
)
CONFRONTATION_STAGES = (
    "none",
    "confrontation marker acknowledged",
    "therapist disembeds (tolerates hostility, metacommunicates)",
    "exploration of the anger and its construals",
    "disappointment and hurt at having been failed",
    "vulnerability and the wish to be cared for",
)
DEEPEST_STAGE = 5

# Episode outcomes.
RESOLVED, PARTLY_RESOLVED, UNRESOLVED = 1, 2, 3
OUTCOMES = ("none", "resolved", "partly resolved", "unresolved")

# How a course ends (patients table, ``exit_reason``).
EXIT_REASONS = ("completed", "dropout", "good_enough")

# Event kinds (rows of the events table).
EV_MARKER, EV_MISSED, EV_STRATEGY, EV_NEGATIVE, EV_STAGE, EV_EPISODE_END = 1, 2, 3, 4, 5, 6
EVENT_KINDS = ("", "marker", "missed", "strategy", "negative", "stage", "episode_end")


def marker_code(code: int) -> str:
    """3RS code of a marker, e.g. ``W2`` or ``C1``."""
    return f"W{code}" if code <= N_MARKERS_PER_TYPE else f"C{code - N_MARKERS_PER_TYPE}"


def marker_label(code: int) -> str:
    """Manual label of a marker code (1-14)."""
    if code <= N_MARKERS_PER_TYPE:
        return WITHDRAWAL_MARKERS[code - 1]
    return CONFRONTATION_MARKERS[code - 1 - N_MARKERS_PER_TYPE]


def strategy_family(code: int) -> int:
    """IMMEDIATE, EXPLORATORY or OTHER for a strategy code (1-10)."""
    if code >= FIRST_OTHER:
        return OTHER
    return EXPLORATORY if code >= FIRST_EXPLORATORY else IMMEDIATE


def stage_label(rupture_type: int, stage: int) -> str:
    """Name of a resolution stage on the withdrawal or confrontation path."""
    names = WITHDRAWAL_STAGES if rupture_type == WITHDRAWAL else CONFRONTATION_STAGES
    return names[stage]


# Responses a teacher or trainee can impose on the therapist at one segment (a what-if fork):
# one of the 3RS strategies (codes 1-10), or one of these three.
LET_PASS, NOTICE_CALMLY, REACT_WITH_HOSTILITY = 11, 12, 13
#: Short names of the responses (``--fork SEGMENT:NAME``), by code.
RESPONSES = {
    "clarify": 1,
    "change-task": 2,
    "rationale": 3,
    "invite": 4,
    "acknowledge": 5,
    "disclose": 6,
    "link-therapy": 7,
    "link-outside": 8,
    "validate": 9,
    "redirect": 10,
    "let-pass": LET_PASS,
    "notice": NOTICE_CALMLY,
    "hostile": REACT_WITH_HOSTILITY,
}
#: Other names teachers use for a response.
RESPONSE_ALIASES = {"metacommunicate": 4, "miss": LET_PASS, "calm": NOTICE_CALMLY}


def response_label(code: int) -> str:
    """Plain words for an imposed response code."""
    if 1 <= code <= len(STRATEGIES):
        return STRATEGIES[code - 1]
    return {LET_PASS: "lets the marker pass", NOTICE_CALMLY: "notices it and stays calm",
            REACT_WITH_HOSTILITY: "reacts with hostility"}[code]  # fmt: skip


def response_code(name: str) -> int:
    """The code of a response by its short name or alias.

    Raises:
        KeyError: For an unknown name.
    """
    key = name.strip().lower()
    return RESPONSES[key] if key in RESPONSES else RESPONSE_ALIASES[key]
