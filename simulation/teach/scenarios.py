"""The scenario library for class: each chapter pinned to a seed at which its point shows.

A chapter (``chapters.CHAPTERS``) names a population, a therapist and what a class should see;
whether a given seed's patient shows it is the model's business. ``POINTS`` states each
chapter's point as a check on one course (and, where the point is a what-if, on paired
futures of its fork). ``pin`` searches the seeds for the course that shows the point best and
writes the result to ``pinned.json`` beside this file, which the app and the chapter tests read,
and the table of ``docs/teaching/class-plan.md`` (between its two ``pinned scenarios`` lines).
After a change to the model, re-pin and read the diff::

    python -m simulation.teach.scenarios --pin      # rewrite pinned.json
    python -m simulation.teach.scenarios            # check the pinned seeds, one line per chapter

Every check is a rule written down before the search; the search only picks the seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.api import resolve_parameters
from simulation.model.taxonomy import RESPONSES, STRATEGY_FAMILIES
from simulation.teach.chapters import CHAPTERS, chapter, run_course

#: Where the pinned scenarios are kept (one file, rewritten by ``--pin``).
PINNED_FILE = Path(__file__).with_name("pinned.json")
#: The class plan, whose table of the pinned scenarios ``--pin`` rewrites between these two lines.
CLASS_PLAN = Path(__file__).resolve().parents[2] / "docs" / "teaching" / "class-plan.md"
PLAN_START, PLAN_END = (
    "<!-- pinned scenarios: start (python -m simulation.teach.scenarios --pin) -->",
    ("<!-- pinned scenarios: end -->"),
)
#: Seeds the search looks through.
SEARCH_SEEDS = range(1, 61)
#: Paired futures a what-if point is checked on.
N_FUTURES = 30
#: Sessions after the marker's session over which a fork's alliance change is read (as the trainee mode).
HORIZON = 3


@dataclass(frozen=True)
class Scenario:
    """A chapter pinned for class.

    Attributes:
        chapter: The chapter's name (``chapters.CHAPTERS``).
        seed: The root seed at which the point shows.
        n_sessions: The course length the point is checked on.
        marker: ``SESSION.SEGMENT`` of the moment to open at (the marker the point turns on).
        fork: The response to fork that marker with in class (a name of ``taxonomy.RESPONSES``), or "".
        shows: What the course shows at this seed, in words (computed by the check).
    """

    chapter: str
    seed: int
    n_sessions: int
    marker: str
    fork: str
    shows: str


@dataclass(frozen=True)
class Evidence:
    """What a check found in one course: whether the point shows, how clearly, where, in words."""

    ok: bool
    score: float
    marker: str = ""
    shows: str = ""


def _course(name: str, seed: int, n_sessions: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    original, _ = run_course(name, n_sessions, seed)
    return original.sessions, original.events


def _where(row) -> str:
    return f"{int(row.session)}.{int(row.segment)}"


def _answers(events: pd.DataFrame) -> pd.DataFrame:
    """One row per marker: where, type, salience, and what the therapist did right after it in its segment."""
    rows = []
    for (session, segment), here in events.groupby(["session", "segment"], sort=True):
        kinds = list(here.kind)
        if "marker" not in kinds:
            continue
        at = kinds.index("marker")
        after = here.iloc[at + 1 :]
        marker = here.iloc[at]
        opened = (after.kind == "stage") & (after.stage == 1) & (after.detail == 1)
        rows.append({"session": session, "segment": segment, "type": marker.rupture_type,
                     "salience": int(marker.salience), "observed": int(marker.observed_salience),
                     "missed": bool((after.kind == "missed").any()),
                     "hostile": bool(((after.kind == "negative") & (after.code == "N1")).any()),
                     "opened": bool(opened.any())})  # fmt: skip
    return pd.DataFrame(rows, columns=["session", "segment", "type", "salience", "observed", "missed", "hostile",
                                       "opened"])  # fmt: skip


def quiet_withdrawal(seed: int, n_sessions: int) -> Evidence:
    """The novice misses most withdrawal markers, and the patient stays (the strain is carried, not acted out).

    Rule: at least 6 withdrawal markers, more than half of them missed, no dropout. Score: the share
    missed, then fewer unclear interventions (N2), which the transcript shows between the markers.
    """
    sessions, events = _course("quiet-withdrawal", seed, n_sessions)
    answers = _answers(events)
    withdrawal = answers[answers.type == "withdrawal"]
    n_unclear = int(((events.kind == "negative") & (events.code == "N2")).sum())
    missed = int(withdrawal.missed.sum())
    stays = not bool(sessions.dropped_out.any()) and len(sessions) == n_sessions
    ok = len(withdrawal) >= 6 and 2 * missed > len(withdrawal) and stays
    first_missed = withdrawal[withdrawal.missed]
    marker = _where(first_missed.iloc[0]) if len(first_missed) else ""
    shows = (f"the novice misses {missed} of {len(withdrawal)} withdrawal markers ({len(answers)} markers in all); "
             f"the patient {'stays' if stays else 'leaves'}")  # fmt: skip
    score = missed / max(len(withdrawal), 1) - 0.001 * n_unclear
    return Evidence(ok, score, marker, shows)


def fork_futures(name: str, seed: int, n_sessions: int, where: str, responses: list[int]) -> pd.DataFrame:
    """Per response and future (``N_FUTURES`` paired continuations): alliance change, dropout, sessions attended."""
    from simulation.teach.futures import outcomes, simulate_futures

    ch = chapter(name)
    params = resolve_parameters(ch.population, ch.therapists, ch.params)
    session, segment = (int(x) for x in where.split("."))
    futures = simulate_futures(params, ch.patient_id, n_sessions, seed, session, segment, responses, N_FUTURES)
    table = outcomes(futures, HORIZON)
    table["attended"] = np.bincount(futures.course_of_session, minlength=len(table))
    return table


def hostile_vs_metacommunication(seed: int, n_sessions: int) -> Evidence:
    """A confrontation marker met with hostility; metacommunication there keeps the alliance and the patient.

    Rule: the original course keeps the patient for the whole course (the class can step through
    it); it has a confrontation marker met with hostility (N1) with at least two segments left in
    its session, in session 2 or later; over ``N_FUTURES`` paired futures, inviting discussion (S4)
    at that marker ends the horizon with a higher alliance than the hostile original in at least
    two thirds of the futures, keeps the patient longer in more futures than shorter, and no more
    of its futures end in dropout. Score: the share of
    futures in which the invite keeps the patient longer, then the alliance wins.
    """
    sessions, events = _course("hostile-vs-metacommunication", seed, n_sessions)
    stays = not bool(sessions.dropped_out.any()) and len(sessions) == n_sessions
    answers = _answers(events)
    n_segments = int(resolve_parameters("adult_bpd", "experienced")["n_segments"])
    hostile = answers[(answers.type == "confrontation") & answers.hostile & (answers.segment <= n_segments - 3)
                      & (answers.session >= 2)]  # fmt: skip
    if not stays or hostile.empty:
        return Evidence(False, 0.0, shows="the patient leaves" if not stays else "no hostile response to fork")
    best = Evidence(False, -1.0)
    for row in hostile.head(3).itertuples():
        where = _where(row)
        table = fork_futures("hostile-vs-metacommunication", seed, n_sessions, where, [RESPONSES["invite"], 0])
        invite = table[table.response == RESPONSES["invite"]].set_index("future")
        rules = table[table.response == 0].set_index("future")
        wins = int((invite.alliance_change > rules.alliance_change + 1e-9).sum())
        longer = int((invite.attended > rules.attended).sum())
        shorter = int((invite.attended < rules.attended).sum())
        ok = wins * 3 >= 2 * N_FUTURES and longer > shorter and invite.dropped_out.sum() <= rules.dropped_out.sum()
        shows = (f"at [{where}] the therapist meets a confrontation with hostility; inviting discussion instead "
                 f"keeps a higher alliance in {wins} of {N_FUTURES} paired futures, the patient stays longer in "
                 f"{longer} and shorter in {shorter} (dropout {int(invite.dropped_out.sum())} vs "
                 f"{int(rules.dropped_out.sum())} of {N_FUTURES}); the original course keeps the patient")  # fmt: skip
        score = (longer - shorter) / N_FUTURES + wins / N_FUTURES
        if ok and score > best.score:
            best = Evidence(True, score, where, shows)
    return best if best.ok else Evidence(False, 0.0, shows="the invite fork does not reliably do better here")


def deep_resolution(seed: int, n_sessions: int) -> Evidence:
    """An exploratory episode reaches stage 4 or 5 and resolves; symptoms fall over the course; the patient stays.

    Rule: at least one episode ends resolved at deepest stage 4 or more, the symptom scale at the
    course's end is at least 0.3 below intake, no dropout. Score: deep resolutions, then the fall.
    """
    original, _ = run_course("deep-resolution", n_sessions, seed)
    sessions, events = original.sessions, original.events
    ends = events[(events.kind == "episode_end") & (events.label == "resolved") & (events.stage >= 4)]
    stays = not bool(sessions.dropped_out.any()) and len(sessions) == n_sessions
    fall = float(original.patients.symptom_pre.iloc[0] - sessions.symptom.iloc[-1])
    marker = ""
    if len(ends):
        end = ends.iloc[0]
        markers = events[(events.kind == "marker") & (events.session == end.session) & (events.segment <= end.segment)]
        marker = _where(markers.iloc[-1]) if len(markers) else ""
    ok = len(ends) >= 1 and fall >= 0.3 and stays and bool(marker)
    shows = (f"{len(ends)} episodes resolved at stage 4 or 5; symptoms fall by {fall:.2f} over the course; the "
             f"patient {'stays' if stays else 'leaves'}")  # fmt: skip
    return Evidence(ok, len(ends) + fall, marker, shows)


def aft_mid_course(seed: int, n_sessions: int) -> Evidence:
    """From session 8 (AFT) the therapist notices more markers and metacommunicates more; the patient stays.

    Rule: no dropout; the share of markers noticed from session 8 on is at least 0.15 above the share
    before; more exploratory strategy events per session from session 8 on than before. Score:
    the rise in the share noticed.
    """
    sessions, events = _course("aft-mid-course", seed, n_sessions)
    start = int(chapter("aft-mid-course").params["aft_start_session"])
    stays = not bool(sessions.dropped_out.any()) and len(sessions) == n_sessions
    answers = _answers(events)
    before, after = answers[answers.session < start], answers[answers.session >= start]
    if before.empty or after.empty:
        return Evidence(False, 0.0, shows="too few markers before or after AFT")
    noticed_before, noticed_after = 1 - before.missed.mean(), 1 - after.missed.mean()
    strategies = events[events.kind == "strategy"]
    exploratory = strategies.detail.map(lambda code: STRATEGY_FAMILIES[int(code)] == "exploratory")
    per_session_before = exploratory[strategies.session < start].sum() / (start - 1)
    per_session_after = exploratory[strategies.session >= start].sum() / max(n_sessions - start + 1, 1)
    ok = stays and noticed_after - noticed_before >= 0.15 and per_session_after > per_session_before
    first = after[~after.missed]
    marker = _where(first.iloc[0]) if len(first) else ""
    shows = (
        f"markers noticed {noticed_before:.0%} before session {start}, {noticed_after:.0%} from it; "
        f"exploratory strategies {per_session_before:.1f} per session before, {per_session_after:.1f} from it"
    )
    return Evidence(ok and bool(marker), noticed_after - noticed_before, marker, shows)


#: Each chapter's point (a check on one seed), its course length and the response its fork uses in class.
POINTS: dict[str, tuple[Callable[[int, int], Evidence], int, str]] = {
    "quiet-withdrawal": (quiet_withdrawal, 12, "invite"),
    "hostile-vs-metacommunication": (hostile_vs_metacommunication, 12, "invite"),
    "deep-resolution": (deep_resolution, 16, "clarify"),
    "aft-mid-course": (aft_mid_course, 16, ""),
}


def check(name: str, seed: int, n_sessions: int | None = None) -> Evidence:
    """Whether chapter ``name``'s point shows at ``seed`` (over the chapter's course length by default)."""
    point, length, _ = POINTS[name]
    return point(seed, n_sessions or length)


def search(name: str, seeds=SEARCH_SEEDS) -> Scenario:
    """The seed at which chapter ``name``'s point shows best (the first such seed on a tie).

    Raises:
        RuntimeError: If no seed of ``seeds`` shows it (the chapter or its check needs rethinking).
    """
    point, length, fork = POINTS[name]
    found = [(evidence.score, -seed, seed, evidence) for seed in seeds if (evidence := point(seed, length)).ok]
    if not found:
        raise RuntimeError(f"chapter {name}: no seed in {seeds.start}-{seeds.stop - 1} shows its point")
    _, _, seed, evidence = max(found, key=lambda item: item[:2])
    return Scenario(name, seed, length, evidence.marker, fork, evidence.shows)


def pin(path: Path = PINNED_FILE, plan: Path = CLASS_PLAN) -> dict[str, Scenario]:
    """Search every chapter's seed, write the pinned table to ``path`` and the class plan's table of it."""
    pinned = {name: search(name) for name in CHAPTERS}
    path.write_text(json.dumps({name: asdict(s) for name, s in pinned.items()}, indent=2) + "\n", encoding="utf-8")
    if plan.exists():
        text = plan.read_text(encoding="utf-8")
        start, end = text.index(PLAN_START) + len(PLAN_START), text.index(PLAN_END)
        plan.write_text(f"{text[:start]}\n{plan_table(pinned)}\n{text[end:]}", encoding="utf-8")
    return pinned


def plan_table(table: dict[str, Scenario]) -> str:
    """The pinned scenarios as the class plan's Markdown table: where to open, the link, the terminal command."""
    rows = ["| chapter | seed, sessions | open at | in the app (URL after the address) | in the terminal | "
            "what it shows |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, s in table.items():
        link = f"`?chapter={name}&seed={s.seed}&sessions={s.n_sessions}&at={s.marker}`"
        fork = f" --fork {s.marker}:{s.fork}" if s.fork else ""
        demo = f"`rupture-sim demo --preset {name} --sessions {s.n_sessions} --seed {s.seed}{fork}`"
        rows.append(f"| `{name}` | {s.seed}, {s.n_sessions} | [{s.marker}] | {link} | {demo} | {s.shows} |")
    return "\n".join(rows)


def pinned(path: Path = PINNED_FILE) -> dict[str, Scenario]:
    """The pinned scenarios by chapter (read from ``pinned.json``)."""
    return {name: Scenario(**row) for name, row in json.loads(path.read_text(encoding="utf-8")).items()}


def scenario(name: str) -> Scenario:
    """The pinned scenario of chapter ``name``."""
    chapter(name)  # one sentence for an unknown chapter
    return pinned()[name]


def main(argv: list[str] | None = None) -> int:
    """``--pin`` rewrites the pinned table; without it, check the pinned seeds."""
    parser = argparse.ArgumentParser(prog="python -m simulation.teach.scenarios", description=__doc__.split("\n")[0])
    parser.add_argument("--pin", action="store_true", help=f"search the seeds and rewrite {PINNED_FILE.name}")
    args = parser.parse_args(argv)
    table = pin() if args.pin else pinned()
    failed = 0
    for name, s in table.items():
        evidence = check(name, s.seed, s.n_sessions)
        failed += not evidence.ok
        print(f"{name}: seed {s.seed}, {s.n_sessions} sessions, open at [{s.marker}]"
              f"{f', fork {s.fork}' if s.fork else ''}: {'shows' if evidence.ok else 'NO LONGER SHOWS'} "
              f"its point ({evidence.shows})")  # fmt: skip
    if failed:
        print("re-pin: python -m simulation.teach.scenarios --pin", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
