"""Trainee mode: a response chosen at a marker, then the hidden truth and the spread of every alternative.

At a marker the trainee picks one of the ten 3RS strategies or lets it pass.
The feedback shows what the model knows and the trainee could not see (the
marker's true salience against the observer's rating, what the simulated
therapist did) and the consequences of every alternative over many paired
continuations (``teach/futures.py``): ``N_FUTURES`` futures that share the course
up to the marker and differ after it, the same futures for every alternative.
Per alternative: the alliance change over the next sessions (median and
interquartile range), the share of futures in which the episode was resolved,
dropout by the course's end, the symptom change, and in how many futures it did
better than letting the marker pass. The explanation cites the literature ids of
``docs/MODEL.md``; the lines of ``spread_lines`` are the figure's text alternative.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from simulation.model.taxonomy import FIRST_EXPLORATORY, FIRST_OTHER, LET_PASS, RESPONSES, response_label
from simulation.teach.futures import outcomes, simulate_futures

#: What a trainee may choose: the ten strategies and letting the marker pass.
CHOICES = {name: code for name, code in RESPONSES.items() if code <= LET_PASS}
#: The simulated therapist's own response (the rules), shown beside the alternatives for comparison.
RULES = 0
#: Sessions after the marker's session over which the alliance change is followed.
HORIZON = 3
#: Paired continuations every alternative is followed into.
N_FUTURES = 30


@dataclass(frozen=True)
class Feedback:
    """What the trainee learns after choosing.

    Attributes:
        where: ``SESSION.SEGMENT`` of the marker.
        choice: The response chosen (code).
        truth: The hidden truth in words.
        table: One row per alternative (the spread of its consequences), the choice marked.
        explanation: Why the choice worked as it did, with literature ids.
        rank: Rank of the choice by the mean alliance change over the futures (1 = best; ties share a rank).
        spread: One row per alternative and future (``futures.OUTCOME_COLUMNS``), the response by name.
        lines: The spread in words, one line per alternative (the figure's text alternative).
    """

    where: str
    choice: int
    truth: str
    table: pd.DataFrame
    explanation: str
    rank: int
    spread: pd.DataFrame
    lines: tuple[str, ...]

    @property
    def n_futures(self) -> int:
        """Futures each alternative was followed into."""
        return int(self.spread.future.nunique())


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


def spread(player, session: int, segment: int, n_futures: int = N_FUTURES) -> pd.DataFrame:
    """Every choice (and the rules' own response) at the marker, each in the same ``n_futures`` futures.

    Args:
        player: The ``player.SessionPlayer`` (its patient, therapist and seed).
        session: The marker's session.
        segment: The marker's segment.
        n_futures: Continuations 0 .. n_futures-1 (0 is the course the player shows).

    Returns:
        One row per response and future (``futures.OUTCOME_COLUMNS``), the response by name.
    """
    codes = [*CHOICES.values(), RULES]
    futures = simulate_futures(player.params, player.patient_id, player.n_sessions, player.course_seed, session,
                               segment, codes, n_futures, patient=player.patient_at_intake(),
                               therapists=player.therapist_states())  # fmt: skip
    table = outcomes(futures, HORIZON)
    names = {code: name for name, code in CHOICES.items()} | {RULES: "simulated therapist"}
    table["response"] = table.response.map(names)
    return table


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per alternative: alliance change (median, quartiles, mean), resolved, dropout, symptom change, wins.

    A win is a future in which the alternative ends the horizon with a higher alliance than
    letting the marker pass does in the same future (the pairing makes this a fair comparison).
    """
    n = int(table.future.nunique())
    passed = table[table.response == "let-pass"].set_index("future").alliance_change
    rows = []
    for name, own in table.groupby("response", sort=False):
        change = own.alliance_change
        wins = int((own.set_index("future").alliance_change > passed + 1e-12).sum())
        rows.append({"response": name, "label": _label(name), "alliance change": round(change.median(), 3),
                     "IQR": f"{change.quantile(0.25):+.3f} to {change.quantile(0.75):+.3f}",
                     "mean": change.mean(), "resolved": f"{int(own.resolved.sum())}/{n}",
                     "dropout": f"{int(own.dropped_out.sum())}/{n}",
                     "symptom change": round(own.symptom_change.median(), 2),
                     "better than let-pass": "reference" if name == "let-pass" else f"{wins}/{n}"})  # fmt: skip
    return pd.DataFrame(rows)


def _label(name: str) -> str:
    if name == "simulated therapist":
        return "the model's rules: what happened in the course"
    return response_label(CHOICES[name])


def spread_lines(summary: pd.DataFrame) -> tuple[str, ...]:
    """The summary in words, one sentence per alternative (the text alternative of the spread figure)."""
    lines = []
    for _, row in summary.iterrows():
        better = row["better than let-pass"]
        wins = "" if row["response"] == "let-pass" else f"; better than letting it pass in {better} futures"
        lines.append(f"{row['response']} ({row['label']}): alliance change {row['alliance change']:+.3f} (middle half "
                     f"{row['IQR']}); episode resolved in {row['resolved']} futures; dropout in {row['dropout']}; "
                     f"symptom change {row['symptom change']:+.2f}{wins}.")  # fmt: skip
    return tuple(lines)


def feedback(player, where: str, choice: int, n_futures: int = N_FUTURES) -> Feedback:
    """The trainee's feedback for ``choice`` at the marker ``where`` (``SESSION.SEGMENT``)."""
    session, segment = (int(x) for x in where.split("."))
    _, events, _ = player.tables()
    here = events[(events.session == session) & (events.segment == segment)]
    marker = here[here.kind == "marker"].iloc[0]
    truth = (f"Marker {marker.code} '{marker.label}': true salience {marker.salience} of 5, the observer coded "
             f"{marker.observed_salience}. The simulated therapist "
             f"{player.simulated_response(session, segment)}.")  # fmt: skip
    outcomes_ = spread(player, session, segment, n_futures)
    table = summarise(outcomes_)
    means = table["mean"].round(9)[table.response != "simulated therapist"]  # rounded: identical courses tie exactly
    rank = int(means.rank(ascending=False, method="min").iloc[list(CHOICES.values()).index(choice)])
    mine = list(CHOICES).index(next(name for name, code in CHOICES.items() if code == choice))
    table.insert(0, "yours", ["<-" if i == mine else "" for i in range(len(table))])
    table = table.drop(columns="mean")
    return Feedback(where, choice, truth, table, explain(choice), rank, outcomes_, spread_lines(table))


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
    from simulation.api import simulate

    arms = (("your choices", "experienced", choices_as_policy(choices)), ("novice", "novice", None),
            ("aft_trained", "aft_trained", None))  # fmt: skip
    rows = []
    for name, therapists, policy in arms:
        patients = simulate(population, therapists, n_patients=n_patients, n_sessions=n_sessions, seed=seed,
                            events=False, policy=policy).patients  # fmt: skip
        rows.append({"therapist": name, "dropout (95% CI)": _share_with_ci(patients.dropped_out),
                     "recovered (95% CI)": _share_with_ci(patients.recovered)})  # fmt: skip
    return pd.DataFrame(rows)
