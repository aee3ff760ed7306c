"""Teaching chapters: a patient, a therapist and a course that show one thing, and its what-if.

A chapter is a preset for a seminar ("a quiet withdrawal that goes
unnoticed"): the population and therapist presets, parameter overrides, the
patient to follow, with "things to notice" and "things to try". ``run_course``
simulates the one patient's course (and, with a fork, the same course with one
response changed, on the same random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulation.api import Results, simulate
from simulation.model.parameters import ParameterError
from simulation.run.forks import Fork


@dataclass(frozen=True)
class Chapter:
    """A teaching preset.

    Attributes:
        title: What the chapter shows.
        population: Population preset.
        therapists: Therapist preset.
        params: Further parameter overrides.
        patient_id: The patient to follow (key of the patient's random numbers).
        notice: Things to notice.
        try_: Things to try (forks or settings).
    """

    title: str
    population: str
    therapists: str
    params: dict[str, float] = field(default_factory=dict)
    patient_id: int = 0
    notice: tuple[str, ...] = ()
    try_: tuple[str, ...] = ()


CHAPTERS: dict[str, Chapter] = {
    "quiet-withdrawal": Chapter(
        "A quiet withdrawal that goes unnoticed",
        "cluster_c",
        "novice",
        notice=(
            "Withdrawal markers (W1-W7) are low in salience: the therapist misses most of them.",
            "A missed marker is never repaired: its strain is carried into the next session.",
            "The patient's questionnaire may report a rupture the therapist never saw.",
            "A compliant (cluster C) patient shows little in the first sessions: discontent surfaces as trust grows.",
        ),
        try_=("Fork a missed marker with `notice` or `invite` and compare the alliance afterwards.",),
    ),
    "hostile-vs-metacommunication": Chapter(
        "Confrontation met with hostility vs metacommunication",
        "adult_bpd",
        "experienced",
        params={"reactivity": 0.5, "noticing": 0.3},
        notice=(
            "Confrontation markers (C1-C7) are salient: the therapist notices them, but may push back.",
            "A hostile response (N1) costs alliance and provokes the next segment: ruptures come in chains.",
        ),
        try_=("Fork a hostile response with `invite` (metacommunication) and watch the episode open and deepen.",),
    ),
    "deep-resolution": Chapter(
        "Deep resolution as a corrective experience over a course",
        "adult_bpd",
        "aft_trained",
        notice=(
            "Exploratory strategies (S4-S8) take an episode through the Safran-Muran stages.",
            "An episode resolved past the resolution stage is a corrective experience: the relational "
            "pattern loosens and symptoms fall.",
        ),
        try_=("Fork an exploratory strategy with `clarify` (immediate only): the episode stops shallow.",),
    ),
    "aft-mid-course": Chapter(
        "Alliance-focused training switched on mid-course",
        "adult_bpd",
        "experienced",
        params={"aft_start_session": 8},
        notice=(
            "From session 8 the therapist notices more, reacts less and metacommunicates more often (T8, T9).",
            "Process changes at once; symptom change follows slowly, if at all within the course.",
        ),
        try_=("Compare sessions before and after session 8: noticed markers, strategies used, stages reached.",),
    ),
}


def chapter(name: str) -> Chapter:
    """The chapter named ``name``.

    Raises:
        ParameterError: For an unknown name (the message lists the chapters).
    """
    if name not in CHAPTERS:
        raise ParameterError(f"preset must be one of {', '.join(CHAPTERS)} (got {name!r}).")
    return CHAPTERS[name]


def run_course(
    name: str, n_sessions: int, seed: int, fork: Fork | None = None, engine: str = "cohort"
) -> tuple[Results, Results | None]:
    """The chapter's patient's course, and the forked course if ``fork`` is given (same random numbers).

    The fork's patient id is replaced by the chapter's patient.
    """
    ch = chapter(name)
    run = {"n_sessions": n_sessions, "seed": seed, "params": ch.params, "engine": engine,
           "patient_ids": [ch.patient_id]}  # fmt: skip
    original = simulate(ch.population, ch.therapists, **run)
    if fork is None:
        return original, None
    imposed = Fork(ch.patient_id, fork.session, fork.segment, fork.response)
    return original, simulate(ch.population, ch.therapists, overrides=[imposed], **run)


def demo_text(name: str, n_sessions: int, seed: int, fork: Fork | None = None) -> str:
    """The chapter's course as a terminal transcript, with the what-if and a side-by-side table if forked."""
    from simulation.model.taxonomy import response_label
    from simulation.teach.narration import format_fork, format_lines, narrate_course, side_by_side

    ch = chapter(name)
    original, forked = run_course(name, n_sessions, seed, fork)
    lines = narrate_course(original.sessions, original.events)
    head = [f"{ch.title} (preset {name}: {ch.population} patient {ch.patient_id}, {ch.therapists} therapist, "
            f"seed {seed}, {n_sessions} sessions)", *(f"Notice: {n}" for n in ch.notice),
            *(f"Try: {t}" for t in ch.try_), ""]  # fmt: skip
    text = "\n".join(head) + format_lines(lines)
    if forked is None:
        return text
    label = f"at [{fork.session}.{fork.segment}] the therapist {response_label(fork.response)}"
    fork_lines = narrate_course(forked.sessions, forked.events)
    table = side_by_side(original.sessions, forked.sessions).round(2).to_string()
    return f"{text}\n\n{format_fork(lines, fork_lines, label)}\n\nOriginal vs what-if, by session:\n{table}"
