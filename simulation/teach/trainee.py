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

import numpy as np
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


#: An alliance difference smaller than this (on the 0-1 latent scale) counts as equal in a future.
EQUAL_WITHIN = 0.005
#: Two-sided level of the sign test behind a verdict.
ALPHA = 0.05
#: The verdict rule, stated to the trainee before any answer (the app shows it with every verdict).
VERDICT_RULE = (
    f"Your answer and letting the marker pass are followed into the same {N_FUTURES} futures. In each future your "
    f"answer counts as better if the alliance {HORIZON} sessions later is higher by more than {EQUAL_WITHIN}, worse "
    f"if it is lower by more than that, otherwise equal. The verdict is 'better' or 'worse' when the better (or "
    f"worse) futures outnumber the others among those that differ so clearly that a fair coin would do so less "
    f"than {ALPHA:.0%} of the time (two-sided sign test); otherwise 'no reliable difference'."
)


@dataclass(frozen=True)
class Verdict:
    """An answer against letting the marker pass, future by future (``VERDICT_RULE``).

    Attributes:
        word: ``better``, ``worse``, ``no reliable difference``, or ``reference`` (the answer is to let it pass).
        better: Futures in which the answer ends the horizon with a higher alliance.
        worse: Futures in which it ends lower.
        equal: Futures within ``EQUAL_WITHIN``.
        p_value: Two-sided sign test over the futures that differ (1.0 when none differ).
        median_difference: Median over the futures of the answer's alliance change minus letting it pass.
    """

    word: str
    better: int
    worse: int
    equal: int
    p_value: float
    median_difference: float

    @property
    def sentence(self) -> str:
        """The verdict with its counts, in words."""
        if self.word == "reference":
            return "Letting the marker pass is the reference every other answer is compared with."
        n = self.better + self.worse + self.equal
        head = f"{self.word.capitalize()} than"
        if self.word == "no reliable difference":
            head = "No reliable difference from"
        p_value = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        return (f"{head} letting it pass: better in {self.better} of {n} paired futures, worse in {self.worse}, "
                f"equal in {self.equal} (sign test {p_value}; median difference in alliance "
                f"{self.median_difference:+.3f}).")  # fmt: skip


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this uneven from a fair coin (1.0 for none)."""
    n = better + worse
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(better, worse) + 1)) / 2**n
    return min(1.0, 2 * tail)


def verdict(answer: pd.Series, passed: pd.Series) -> Verdict:
    """The verdict of an answer's alliance changes against letting it pass's, both indexed by future."""
    difference = (answer - passed.reindex(answer.index)).to_numpy()
    better, worse = int((difference > EQUAL_WITHIN).sum()), int((difference < -EQUAL_WITHIN).sum())
    equal = len(difference) - better - worse
    p_value = sign_test(better, worse)
    word = "no reliable difference"
    if p_value < ALPHA:
        word = "better" if better > worse else "worse"
    return Verdict(word, better, worse, equal, p_value, float(np.median(difference)))


@dataclass(frozen=True)
class Feedback:
    """What the trainee learns after choosing.

    Attributes:
        where: ``SESSION.SEGMENT`` of the marker.
        choice: The response chosen (code).
        truth: The hidden truth in words.
        table: One row per alternative (the spread of its consequences and its verdict), the choice marked.
        explanation: How a response of the choice's kind works in the model, with literature ids.
        verdict: The choice against letting the marker pass (``VERDICT_RULE``).
        simulated: What the simulated therapist did, in words.
        spread: One row per alternative and future (``futures.OUTCOME_COLUMNS``), the response by name.
        lines: The spread in words, one line per alternative (the figure's text alternative).
    """

    where: str
    choice: int
    truth: str
    table: pd.DataFrame
    explanation: str
    verdict: Verdict
    simulated: str
    spread: pd.DataFrame
    lines: tuple[str, ...]

    @property
    def n_futures(self) -> int:
        """Futures each alternative was followed into."""
        return int(self.spread.future.nunique())

    @property
    def choice_name(self) -> str:
        """The choice by its name (``CHOICES``)."""
        return next(name for name, code in CHOICES.items() if code == self.choice)


def explain(choice: int) -> str:
    """How a response of this kind works in the model (not what it did here: the verdict says that)."""
    if choice == LET_PASS:
        return ("In the model a marker nobody attends to is never repaired: its strain is carried into the next "
                "sessions, and unresolved ruptures raise the risk of dropout (T13, T11).")  # fmt: skip
    if choice >= FIRST_OTHER:
        return ("Validating or redirecting contains the rupture without exploring it: in the model the episode rarely "
                "goes past the early stages (Safran & Muran; T6).")  # fmt: skip
    if choice >= FIRST_EXPLORATORY:
        return ("Metacommunication (an exploratory strategy) can take the episode through the deeper Safran-Muran "
                "stages; only an episode that gets deep is a corrective experience, which the model links with more "
                "symptom change (T6, T7). Whether this one got deep shows in the futures: an exploratory strategy "
                "that stalls early can do no better, or worse, than an immediate one.")  # fmt: skip
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


def spread_at(player, where: str, n_futures: int = N_FUTURES) -> pd.DataFrame:
    """``spread`` at the marker ``where`` (``SESSION.SEGMENT``), computed once per course and kept on the player.

    The spread does not depend on the trainee's answer: a second answer at the same marker only
    judges the answer.
    """
    key = (where, n_futures)
    with player.spread_lock:
        if key not in player.spreads:
            session, segment = (int(x) for x in where.split("."))
            player.spreads[key] = spread(player, session, segment, n_futures)
        return player.spreads[key]


#: Columns of ``summarise``, for the table the trainee reads.
SUMMARY_COLUMNS = {
    "alliance change": f"alliance change to {HORIZON} sessions later (median)",
    "IQR": "middle half of the futures",
    "resolved": "episode resolved",
    "dropout": "dropped out by the course's end",
    "symptom change": "symptom change by the end (median; negative = fewer symptoms)",
    "vs let-pass": "against letting it pass (better / worse / equal futures)",
    "verdict": "verdict",
}


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per alternative: alliance change (median, quartiles), resolved, dropout, symptom change, verdict.

    The verdict compares each alternative with letting the marker pass, future by future
    (``VERDICT_RULE``): the pairing makes this a fair comparison.
    """
    n = int(table.future.nunique())
    passed = table[table.response == "let-pass"].set_index("future").alliance_change
    rows = []
    for name, own in table.groupby("response", sort=False):
        q1, median, q3 = np.quantile(own.alliance_change.to_numpy(), [0.25, 0.5, 0.75])
        judged = verdict(own.set_index("future").alliance_change, passed)
        reference = name == "let-pass"
        rows.append({"response": name, "label": _label(name), "alliance change": round(float(median), 3),
                     "IQR": f"{q1:+.3f} to {q3:+.3f}",
                     "resolved": f"{int(own.resolved.sum())}/{n}", "dropout": f"{int(own.dropped_out.sum())}/{n}",
                     "symptom change": round(float(np.median(own.symptom_change.to_numpy())), 2),
                     "vs let-pass": "reference" if reference else f"{judged.better} / {judged.worse} / {judged.equal}",
                     "verdict": "reference" if reference else judged.word})  # fmt: skip
    return pd.DataFrame(rows)


def _label(name: str) -> str:
    if name == "simulated therapist":
        return "the model's rules: what happened in the course"
    return response_label(CHOICES[name])


def spread_lines(summary: pd.DataFrame) -> tuple[str, ...]:
    """The summary in words, one sentence per alternative (the text alternative of the spread figure)."""
    lines = []
    for _, row in summary.iterrows():
        judged = (
            ""
            if row["response"] == "let-pass"
            else (f"; against letting it pass better / worse / equal in {row['vs let-pass']} futures: {row['verdict']}")
        )
        lines.append(f"{row['response']} ({row['label']}): alliance change {row['alliance change']:+.3f} (middle half "
                     f"{row['IQR']}); episode resolved in {row['resolved']} futures; dropout in {row['dropout']}; "
                     f"symptom change {row['symptom change']:+.2f} (negative = fewer symptoms){judged}.")  # fmt: skip
    return tuple(lines)


def marker_at(player, where: str) -> pd.Series:
    """The marker event at ``where`` (``SESSION.SEGMENT``) of the player's original course."""
    session, segment = (int(x) for x in where.split("."))
    _, events, _ = player.tables()
    here = events[(events.session == session) & (events.segment == segment)]
    return here[here.kind == "marker"].iloc[0]


def question(player, where: str) -> str:
    """The marker as a trainee sees it: its kind, code and label and the observer's rating, not its true salience."""
    marker = marker_at(player, where)
    kind = "withdrawal" if marker.rupture_type == "withdrawal" else "confrontation"
    return (f"The patient shows a {kind} marker, {marker.code} '{marker.label}' (an observer would rate its "
            f"salience {marker.observed_salience} of 5).")  # fmt: skip


def feedback(player, where: str, choice: int, n_futures: int = N_FUTURES) -> Feedback:
    """The trainee's feedback for ``choice`` at the marker ``where`` (``SESSION.SEGMENT``)."""
    session, segment = (int(x) for x in where.split("."))
    marker = marker_at(player, where)
    simulated = player.simulated_response(session, segment)
    truth = (f"Marker {marker.code} '{marker.label}': true salience {marker.salience} of 5, the observer coded "
             f"{marker.observed_salience}. The simulated therapist {simulated}.")  # fmt: skip
    outcomes_ = spread_at(player, where, n_futures)
    table = summarise(outcomes_)
    name = next(name for name, code in CHOICES.items() if code == choice)
    own = outcomes_[outcomes_.response == name].set_index("future").alliance_change
    passed = outcomes_[outcomes_.response == "let-pass"].set_index("future").alliance_change
    judged = verdict(own, passed) if choice != LET_PASS else Verdict("reference", 0, 0, len(own), 1.0, 0.0)
    table.insert(0, "yours", ["<-" if row == name else "" for row in table.response])
    lines = spread_lines(table)
    table = table.rename(columns=SUMMARY_COLUMNS)
    return Feedback(where, choice, truth, table, explain(choice), judged, simulated, outcomes_, lines)


@dataclass
class Answer:
    """One answer of a trainee round: the marker, the answer and its rationale, what the model knew, the verdict.

    Attributes:
        where: ``SESSION.SEGMENT`` of the marker.
        marker: The marker as the trainee saw it (``question``).
        answer: The response chosen, by name (``CHOICES``).
        rationale: The trainee's one-line rationale ("" if none was typed).
        truth: What the model knew and the trainee could not see.
        consequences: The answer's consequences over the futures, in words.
        verdict: The answer against letting the marker pass (``Verdict``).
    """

    where: str
    marker: str
    answer: str
    rationale: str
    truth: str
    consequences: str
    verdict: Verdict


def answer_of(player, shown: Feedback, rationale: str = "") -> Answer:
    """The round's record of a decided marker."""
    line = next(line for line in shown.lines if line.startswith(f"{shown.choice_name} ("))
    return Answer(shown.where, question(player, shown.where), shown.choice_name, rationale.strip()[:300],
                  shown.truth, line, shown.verdict)  # fmt: skip


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


def _paired_difference(mine: pd.Series, base: pd.Series) -> str:
    """The difference of two shares on the same patients, in points, with its 95% interval (paired, normal)."""
    difference = mine.astype(float).to_numpy() - base.astype(float).to_numpy()
    mean, half = difference.mean(), 1.96 * difference.std(ddof=1) / math.sqrt(len(difference))
    return f"{100 * mean:+.0f} points ({100 * (mean - half):+.0f} to {100 * (mean + half):+.0f})"


def policy_on_caseload(choices: Mapping[tuple[str, int], int], chapter_name: str, n_patients: int = 300,
                       n_sessions: int = 24, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Dropout and recovery of the trainee's answers as a policy vs the chapter's therapist, on the same patients.

    A fair comparison: the trainee's policy (``choices_as_policy``) replaces only the chapter's
    therapist's choice of response to a marker they notice. Noticing, hostility and everything
    else stay that therapist's (``simulate(policy=...)``), so the baseline row, the same therapist on
    their own rules, differs from the trainee's row by the answers alone; the differences are
    paired on the same patients. Novice and AFT-trained therapists are shown for scale.
    """
    from simulation.api import simulate
    from simulation.teach.chapters import chapter

    ch = chapter(chapter_name)
    run = {"n_patients": n_patients, "n_sessions": n_sessions, "seed": seed, "events": False}
    arms = ((f"your answers ({ch.therapists} therapist)", ch.therapists, ch.params, choices_as_policy(choices)),
            (f"baseline: the {ch.therapists} therapist's own answers", ch.therapists, ch.params, None),
            ("novice therapist", "novice", {}, None), ("AFT-trained therapist", "aft_trained", {}, None))  # fmt: skip
    patients = [simulate(ch.population, therapists, params=params, policy=policy, **run).patients
                for _, therapists, params, policy in arms]  # fmt: skip
    rows = []
    for (name, *_), mine in zip(arms, patients, strict=True):
        base = patients[1]
        rows.append({"therapist": name, "dropout (95% CI)": _share_with_ci(mine.dropped_out),
                     "recovered (95% CI)": _share_with_ci(mine.recovered),
                     "dropout vs baseline (paired, 95% CI)": "" if mine is base
                     else _paired_difference(mine.dropped_out, base.dropped_out),
                     "recovered vs baseline (paired, 95% CI)": "" if mine is base
                     else _paired_difference(mine.recovered, base.recovered)})  # fmt: skip
    return pd.DataFrame(rows)
