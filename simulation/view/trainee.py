"""Trainee mode: choose a response at a marker, then see the hidden truth and every alternative's consequences.

At a marker the trainee picks one of the ten 3RS strategies or lets it pass.
The feedback shows what the model knows and the trainee could not see (the
marker's true salience against the observer's rating, whether the simulated
therapist noticed it, the stage the episode reached) and the consequences of
every alternative on the same random numbers: the alliance at the session's
end and a few sessions later, the deepest stage, dropout. The explanation
cites the literature ids of ``docs/MODEL.md``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from simulation.model.taxonomy import FIRST_EXPLORATORY, FIRST_OTHER, LET_PASS, RESPONSES, response_label

#: What a trainee may choose: the ten strategies and letting the marker pass.
CHOICES = {name: code for name, code in RESPONSES.items() if code <= LET_PASS}
#: Sessions after the marker's session over which consequences are followed.
HORIZON = 3


@dataclass(frozen=True)
class Feedback:
    """What the trainee learns after choosing.

    Attributes:
        where: ``SESSION.SEGMENT`` of the marker.
        choice: The response chosen (code).
        truth: The hidden truth in words.
        table: One row per alternative (consequences), the choice marked.
        explanation: Why the choice worked as it did, with literature ids.
        rank: Rank of the choice by alliance at the horizon (1 = best of the alternatives).
    """

    where: str
    choice: int
    truth: str
    table: pd.DataFrame
    explanation: str
    rank: int


def explain(choice: int) -> str:
    """A short explanation of a response's mechanism in the model, citing the literature ids."""
    if choice == LET_PASS:
        return ("A marker nobody attends to is never repaired: its strain is carried into the next sessions, and "
                "unresolved ruptures raise the risk of dropout (T13, T11).")  # fmt: skip
    if choice >= FIRST_OTHER:
        return ("Validating or redirecting contains the rupture without exploring it: the episode rarely goes past "
                "the early stages (Safran & Muran; T6).")  # fmt: skip
    if choice >= FIRST_EXPLORATORY:
        return ("Metacommunication (exploratory strategies) can take the episode through the deeper Safran-Muran "
                "stages; deep resolution is a corrective experience that goes with more symptom change (T6, T7) "
                "and is what alliance-focused training adds (T8, T9).")  # fmt: skip
    return ("Immediate strategies (clarify, change the task, give a rationale) repair on the surface: the alliance "
            "recovers, but the episode stays shallow (Safran & Muran; T6).")  # fmt: skip


def consequences(player, session: int, segment: int) -> pd.DataFrame:
    """Every choice imposed at the marker, on the same random numbers: alliance, stage, dropout.

    Args:
        player: The ``player.SessionPlayer`` (its patient, therapist and seed).
        session: The marker's session.
        segment: The marker's segment.
    """
    rows = []
    horizon = min(player.n_sessions, session + HORIZON)
    for name, code in CHOICES.items():
        course = player.replay(session, segment, code, horizon)
        sessions = pd.DataFrame([dict(zip(r.dtype.names, r.tolist(), strict=True)) for r in course])
        this = sessions[sessions.session == session].iloc[0]
        last = sessions.iloc[-1]
        rows.append({"response": name, "label": response_label(code),
                     "alliance_session_end": round(this.alliance, 3), "deepest_stage": int(this.resolution_stage),
                     f"alliance_after_{HORIZON}_more": round(last.alliance, 3),
                     "dropped_out": bool(sessions.dropped_out.any())})  # fmt: skip
    return pd.DataFrame(rows)


def feedback(player, where: str, choice: int) -> Feedback:
    """The trainee's feedback for ``choice`` at the marker ``where`` (``SESSION.SEGMENT``)."""
    session, segment = (int(x) for x in where.split("."))
    _, events, _ = player.tables()
    here = events[(events.session == session) & (events.segment == segment)]
    marker = here[here.kind == "marker"].iloc[0]
    response = here[here.kind.isin(["missed", "negative", "stage"])]
    did = {"missed": "missed it", "negative": "reacted with hostility", "stage": "noticed it and opened an episode"}
    simulated = did[str(response.kind.iloc[0])] if len(response) else "was already working on an open episode"
    truth = (f"Marker {marker.code} '{marker.label}': true salience {marker.salience} of 5, the observer coded "
             f"{marker.observed_salience}. The simulated therapist {simulated}.")  # fmt: skip
    table = consequences(player, session, segment)
    key = f"alliance_after_{HORIZON}_more"
    order = table[key].rank(ascending=False, method="min")
    mine = list(CHOICES.values()).index(choice)
    table.insert(0, "yours", ["<-" if i == mine else "" for i in range(len(table))])
    return Feedback(where, choice, truth, table, explain(choice), int(order.iloc[mine]))


def choices_by_marker(player, choices: Mapping[str, int]) -> dict[tuple[str, int], int]:
    """The trainee's choices by what they saw: the marker's rupture type and salience.

    Args:
        player: The ``player.SessionPlayer`` whose markers were answered.
        choices: The response chosen at each marker, by ``SESSION.SEGMENT``.
    """
    _, events, _ = player.tables()
    markers = events[events.kind == "marker"]
    by_marker = {}
    for where, code in choices.items():
        session, segment = (int(x) for x in where.split("."))
        marker = markers[(markers.session == session) & (markers.segment == segment)].iloc[0]
        by_marker[(str(marker.rupture_type), int(marker.salience))] = code
    return by_marker


def choices_as_policy(choices: Mapping[tuple[str, int], int]) -> dict[str | tuple[str, int], int]:
    """The trainee's choices as a therapist policy (``simulate(policy=...)``): a response to what a therapist sees.

    Each kind of marker the trainee answered (rupture type and salience) gets the trainee's
    response; the other saliences of a type the trainee answered get their most frequent
    response to that type; a type never answered is left to the rules.

    Raises:
        ValueError: Without any choice.
    """
    if not choices:
        raise ValueError("make at least one choice before running your choices as a policy")
    policy: dict[str | tuple[str, int], int] = {}
    for kind in sorted({kind for kind, _ in choices}):
        answers = [code for (k, _), code in choices.items() if k == kind]
        policy[kind] = Counter(answers).most_common(1)[0][0]
    policy.update(choices)
    return policy


def _share_with_ci(hits: pd.Series) -> str:
    """A share with its 95% Wilson interval, as text."""
    n, share, z = len(hits), float(hits.mean()), 1.96
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{share:.0%} ({max(0.0, centre - half):.0%}-{min(1.0, centre + half):.0%})"


def policy_on_caseload(choices: Mapping[tuple[str, int], int], population: str, n_patients: int = 300,
                       n_sessions: int = 24, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Dropout and recovery of the trainee's policy vs the novice and AFT-trained presets, on the same patients.

    The trainee's policy (``choices_as_policy``) answers the markers; everything else about the
    therapist (skill, noticing of the markers the policy leaves to the rules) is the experienced preset.
    """
    from simulation.run.api import simulate

    arms = (("your choices", "experienced", choices_as_policy(choices)), ("novice", "novice", None),
            ("aft_trained", "aft_trained", None))  # fmt: skip
    rows = []
    for name, therapists, policy in arms:
        patients = simulate(population, therapists, n_patients=n_patients, n_sessions=n_sessions, seed=seed,
                            events=False, policy=policy).patients  # fmt: skip
        rows.append({"therapist": name, "dropout (95% CI)": _share_with_ci(patients.dropped_out),
                     "recovered (95% CI)": _share_with_ci(patients.recovered)})  # fmt: skip
    return pd.DataFrame(rows)
