"""The session player of the teaching app: one patient's course on the Mesa view, revealed segment by segment.

``SessionPlayer`` is a Mesa model whose ``step`` reveals one segment of a
session. Underneath, the course runs on the agent view (``RuptureModel``):
when the player reaches a session not held yet, the patient's therapist holds
it (one week of ``RuptureModel``). Going back only moves the cursor: every
draw is keyed, so the course is the same however it is replayed. A fork
replays the course with one response imposed (``forks.Fork``) in a second
``RuptureModel`` that keeps pace with the first.
"""

from __future__ import annotations

import threading

import mesa
import numpy as np
import pandas as pd

from simulation.api import resolve_parameters
from simulation.model.parameters import Parameters
from simulation.model.records import EVENT, SESSION
from simulation.model.taxonomy import DIAGNOSES, RESPONSES, response_label
from simulation.run.engine import intake_patients, intake_therapists
from simulation.run.forks import Fork, override_table
from simulation.run.tables import events_table, sessions_table
from simulation.teach.chapters import CHAPTERS, chapter
from simulation.teach.narration import SUMMARY, Line, narrate_course
from simulation.teach.scenarios import scenario
from simulation.view.model import RuptureModel

#: Therapist errors the player can inject, by name: missing a marker, or meeting it with hostility (N1).
ERRORS = {"auto": 0, "miss": RESPONSES["let-pass"], "hostile": RESPONSES["hostile"]}
#: Patient fields the sliders set, and therapist fields.
PATIENT_SLIDERS = ("pd_severity", "withdrawal_tendency", "confrontation_tendency", "insight")
THERAPIST_SLIDERS = ("skill", "noticing", "reactivity")
#: The trainee's difficulty levels: the true salience (1-5) of the markers each level asks about.
LEVELS = {"all markers": (1, 5), "1 salient (4-5)": (4, 5), "2 clear (3)": (3, 3), "3 subtle (1-2)": (1, 2)}


class SessionPlayer(mesa.Model):
    """One patient's course, revealed one segment per step, with an optional what-if fork.

    Args:
        chapter_name: Teaching chapter (``chapters.CHAPTERS``): population, therapist, patient.
        seed: Root seed, or "pinned": the seed at which the chapter's point shows (``scenarios``).
        n_sessions: Planned course length, or "pinned": the chapter's pinned length.
        custom: Use the sliders below instead of the chapter's drawn patient and therapist.
        diagnosis: Diagnosis group (``no_pd``, ``bpd``, ``other_pd``) when ``custom``.
        pd_severity: PD severity (0-1) when ``custom``.
        withdrawal_tendency: Proneness to withdrawal markers when ``custom``.
        confrontation_tendency: Proneness to confrontation markers when ``custom``.
        insight: Insight (0-1) when ``custom``.
        skill: Therapist skill (0-1) when ``custom``.
        noticing: Therapist noticing when ``custom``.
        reactivity: Therapist reactivity when ``custom``.
        exploratory: Therapist has the exploratory repertoire (metacommunication) when ``custom``.
        aft_from: Session from which the therapist works with AFT (0 = never) when ``custom``.

    Attributes:
        session: Session of the cursor (1-based).
        segment: Segment of the cursor (0 .. n_segments; n_segments = the session's end).
        fork: The imposed response, if any.
    """

    def __init__(
        self,
        chapter_name: str = "hostile-vs-metacommunication",
        seed: int | str = "pinned",
        n_sessions: int | str = "pinned",
        custom: bool = False,
        diagnosis: str = "bpd",
        pd_severity: float = 0.7,
        withdrawal_tendency: float = 1.0,
        confrontation_tendency: float = 1.0,
        insight: float = 0.4,
        skill: float = 0.5,
        noticing: float = 0.3,
        reactivity: float = 0.3,
        exploratory: bool = True,
        aft_from: int = 0,
    ) -> None:
        self.chapter_name = chapter_name
        self.chapter = chapter(chapter_name)
        # not `self.scenario`: Mesa 3.5's Model owns that name (its Scenario, with a setter that writes into it)
        self.pinned_scenario = scenario(chapter_name)
        self.course_seed = self.pinned_scenario.seed if str(seed) == "pinned" else int(seed)
        self.n_sessions = self.pinned_scenario.n_sessions if str(n_sessions) == "pinned" else int(n_sessions)
        self.pinned = self.course_seed == self.pinned_scenario.seed and not custom  # the course that shows the point
        super().__init__(rng=self.course_seed)  # Mesa 3.5 deprecates seed=; 3.3.1 takes rng= too
        self.params: Parameters = resolve_parameters(self.chapter.population, self.chapter.therapists,
                                                     self.chapter.params)  # fmt: skip
        self.n_segments = int(self.params["n_segments"])
        self.patient_id = self.chapter.patient_id
        self._custom = None
        if custom:
            patient = {
                "diagnosis": DIAGNOSES.index(diagnosis),
                "pd_severity": pd_severity,
                "insight": insight,
                "withdrawal_tendency": withdrawal_tendency,
                "confrontation_tendency": confrontation_tendency,
            }
            therapist = {"skill": skill, "noticing": noticing, "reactivity": reactivity,
                         "exploratory_repertoire": float(exploratory), "aft_start_session": aft_from}  # fmt: skip
            self._custom = (patient, therapist)
        self._cache: dict[bool, tuple] = {}
        self.figures: dict[tuple, str] = {}  # the course figures (SVG) drawn so far, by what they show
        self.trainee_choices: dict[str, int] = {}  # the trainee's response by marker (SESSION.SEGMENT)
        self.round: dict = {}  # the trainee round: ``trainee.Answer`` by marker, kept across tabs
        self.shown = None  # the trainee's latest feedback (``trainee.Feedback``) and its figure
        self.policy = None  # the round run as a policy (``trainee.policy_on_caseload``)
        self.spreads: dict = {}  # every alternative's futures by marker (``trainee.spread_at``)
        self.spread_lock = threading.Lock()
        self.trainee_level = "all markers"  # the trainee's difficulty (``LEVELS``)
        self.note = ""  # why the last move did nothing ("" = it moved)
        self.fork_at = ""  # the marker the What-if tab forks at ("" = the latest one)
        self.original = self._new_course(None)
        self.forked: RuptureModel | None = None
        self.fork: Fork | None = None
        self.injected = ""  # the therapist error injected as the fork, in words ("" = none)
        self.session, self.segment = 1, -1
        self._hold_sessions_up_to(1)

    # --- the courses -----------------------------------------------------------------------------
    def _new_course(self, fork: Fork | None) -> RuptureModel:
        """A ``RuptureModel`` of the one patient (with the sliders' patient and therapist if custom)."""
        overrides = override_table([fork] if fork else None, self.n_sessions, self.n_segments)
        course = RuptureModel(self.params, [self.patient_id], n_sessions=self.n_sessions, seed=self.course_seed,
                              therapists=self.therapist_states(), overrides=overrides)  # fmt: skip
        if self._custom is not None:
            state = course.patients[0].state
            for name, value in self._custom[0].items():
                state[name] = value
        return course

    def therapist_states(self) -> np.ndarray | None:
        """The therapist records by therapist id with the sliders' therapist, or None (drawn) unless custom."""
        if self._custom is None:
            return None
        tid = self.patient_id // int(self.params["caseload"])
        therapists = intake_therapists(self.course_seed, np.arange(tid + 1), self.params)
        for name, value in self._custom[1].items():
            therapists[name][tid] = value
        return therapists

    def patient_at_intake(self) -> np.ndarray:
        """The patient's record at intake (``records.PATIENT``), with the sliders' settings if custom."""
        intake = intake_patients(self.course_seed, np.array([self.patient_id]), self.params)[0].copy()
        for name, value in (self._custom[0] if self._custom is not None else {}).items():
            intake[name] = value
        return intake

    def _hold_sessions_up_to(self, session: int) -> None:
        """Hold the sessions (one week of each course) up to ``session``, if the patient is still in treatment."""
        for course in (self.original, self.forked):
            while course is not None and course.week < session and course.running:
                course.step()

    @property
    def held(self) -> int:
        """Sessions the original course has held."""
        return self.original.week

    @property
    def course_over(self) -> bool:
        """Whether the cursor is at the end of the last session held and no further session will be."""
        return not self.original.running and self.session >= self.held and self.segment >= self.n_segments

    # --- moving the cursor -----------------------------------------------------------------------
    def step(self) -> None:
        """Reveal the next segment (the first of the next session after a session's end)."""
        self.note = ""
        if self.course_over:
            self.running = False
            self.note = self.why_over()
            return
        if self.segment >= self.n_segments:
            self.session, self.segment = self.session + 1, 0
            self._hold_sessions_up_to(self.session)
        else:
            self.segment += 1
        self.running = not self.course_over

    def why_over(self) -> str:
        """Why nothing follows the cursor, in words (the course is over)."""
        if self.original.patients[0].dropped_out:
            return (
                f"The patient dropped out after session {self.held}: there is no later session to step into. "
                "Fork an earlier marker (What-if) to see whether another response keeps them, or go back."
            )
        return f"The planned course of {self.n_sessions} sessions ends here: there is nothing further to step into."

    def back(self) -> None:
        """Go back one segment (to the previous session's end from its first segment)."""
        self.note = ""
        if self.segment > 0:
            self.segment -= 1
        elif self.session > 1:
            self.session, self.segment = self.session - 1, self.n_segments
        self.running = True

    def go_to(self, session: int, segment: int) -> None:
        """Put the cursor at ``session``, ``segment`` (within the sessions the course holds)."""
        self.note = ""
        self._hold_sessions_up_to(session)
        self.session = max(1, min(int(session), self.held))
        self.segment = max(0, min(int(segment), self.n_segments))
        self.running = not self.course_over

    def next_marker(self, level: str = "all markers") -> None:
        """Step until a segment with a rupture marker (of the trainee's ``level``) is revealed, or the course ends.

        Raises:
            ValueError: For a level not in ``LEVELS``.
        """
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)} (got {level!r}).")
        low, high = LEVELS[level]
        if self.course_over:
            self.note = self.why_over()
            return
        while not self.course_over:
            self.step()
            salience = self._marker_salience_under_cursor()
            if salience and low <= salience <= high:
                return
        self.note = "No further marker in this course. " + self.why_over()

    def _marker_salience_under_cursor(self) -> int:
        """The true salience of the marker revealed at the cursor's segment (0 = none)."""
        if not 0 <= self.segment < self.n_segments:
            return 0
        _, events, _ = self.tables()
        here = events[(events.session == self.session) & (events.segment == self.segment) & (events.kind == "marker")]
        return int(here.salience.iloc[0]) if len(here) else 0

    # --- what-if -------------------------------------------------------------------------------
    def make_fork(self, session: int, segment: int, response: int) -> None:
        """Replay the course with ``response`` imposed at ``session``, ``segment`` (side by side)."""
        self.injected = ""
        self.fork = Fork(self.patient_id, int(session), int(segment), int(response))
        self.forked = self._new_course(self.fork)
        self._hold_sessions_up_to(self.held)

    def replay(self, session: int, segment: int, response: int, upto: int) -> np.ndarray:
        """The session rows (``records.SESSION``) up to session ``upto`` of the course with ``response`` imposed."""
        course = self._new_course(Fork(self.patient_id, int(session), int(segment), int(response)))
        while course.week < upto and course.running:
            course.step()
        return np.array(course.patients[0].session_rows, dtype=SESSION)

    def clear_fork(self) -> None:
        """Drop the what-if (and an injected error)."""
        self.fork, self.forked, self.injected = None, None, ""

    def inject_error(self, error: str = "auto") -> str:
        """Force a therapist error at the marker under the cursor (or the next one) as a fork; return it in words.

        The errors the model knows (``taxonomy.RESPONSES``): ``miss`` (the marker goes unnoticed) or
        ``hostile`` (noticed, met with hostility, N1). ``auto`` picks hostility, or missing the marker
        where the simulated therapist already reacted with hostility. The sentence is also kept as
        ``injected`` for the transcript.

        Raises:
            ValueError: For an error the model does not know.
        """
        if error not in ERRORS:
            raise ValueError(f"error must be one of {', '.join(ERRORS)} (got {error!r}).")
        if not self._marker_under_cursor():
            self.next_marker()
        if not self._marker_under_cursor():
            self.injected = "No marker is left in this course: there is no response to turn into an error."
            return self.injected
        did = self.simulated_response(self.session, self.segment)
        if error == "auto":
            error = "miss" if did == "reacted with hostility" else "hostile"
        self.make_fork(self.session, self.segment, ERRORS[error])
        where = f"{self.session}.{self.segment}"
        changed = self.transcript(upto_cursor=False) != self.transcript(forked=True, upto_cursor=False)
        effect = ("The red curves and the What-if tab show the course with the error beside the original."
                  if changed else "It changes nothing here: the therapist was already working on an open episode "
                  "or already made this error.")  # fmt: skip
        self.injected = (f"Injected therapist error at [{where}]: the therapist {response_label(ERRORS[error])} "
                         f"(in the original course the simulated therapist {did}). {effect}")  # fmt: skip
        return self.injected

    def simulated_response(self, session: int, segment: int) -> str:
        """What the simulated therapist did in the original course at the marker of ``session``, ``segment``, in words.

        Reads the events after the marker only: the segment's ordinary work before it may be an
        unclear intervention (N2), which is not a response to the marker.
        """
        _, events, _ = self.tables()
        here = events[(events.session == session) & (events.segment == segment)].reset_index(drop=True)
        markers = here.index[here.kind == "marker"]
        if not len(markers):
            return "had no marker to answer"
        after = here.iloc[markers[0] + 1 :]
        if (after.kind == "missed").any():
            return "missed it"
        if ((after.kind == "negative") & (after.code == "N1")).any():
            return "reacted with hostility"
        if ((after.kind == "stage") & (after.stage == 1) & (after.detail == 1)).any():
            return "noticed it and opened an episode"
        return "was already working on an open episode"

    def _marker_under_cursor(self) -> bool:
        return self._marker_salience_under_cursor() > 0

    @property
    def fork_label(self) -> str:
        """The fork in words, or ''."""
        if self.fork is None:
            return ""
        return f"at [{self.fork.session}.{self.fork.segment}] the therapist {response_label(self.fork.response)}"

    def new_round(self) -> None:
        """Forget the trainee's answers (a new round on the same course)."""
        self.round, self.trainee_choices, self.shown, self.policy = {}, {}, None, None

    # --- what the app shows --------------------------------------------------------------------
    def tables(self, forked: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, list[Line]]:
        """Session rows, events and narration of the sessions held so far (of the fork if ``forked``).

        Kept until the course holds another session: a step within a session reuses them.
        """
        course = self.forked if forked else self.original
        key = (id(course), course.week)
        if self._cache.get(forked, (None,))[0] != key:
            patient = course.patients[0]
            rows = sessions_table(np.array(patient.session_rows, dtype=SESSION))
            events = events_table(np.concatenate(patient.event_rows) if patient.event_rows else np.zeros(0, EVENT))
            lines = narrate_course(rows, events, self.patient_id) if len(rows) else []
            self._cache[forked] = (key, (rows, events, lines))
        return self._cache[forked][1]

    def transcript(self, forked: bool = False, upto_cursor: bool = True) -> list[Line]:
        """The narrated lines up to the cursor (a session's summary once its end is reached)."""
        lines = self.tables(forked)[2]
        if not upto_cursor:
            return lines
        end = SUMMARY if self.segment >= self.n_segments else self.segment
        return [line for line in lines if (line.session, line.segment) <= (self.session, end)]

    def sessions_shown(self, forked: bool = False) -> pd.DataFrame:
        """Session rows of the sessions whose end the cursor has passed (what the plots show)."""
        sessions = self.tables(forked)[0]
        done = self.session if self.segment >= self.n_segments else self.session - 1
        return sessions[sessions.session <= done]

    def markers_so_far(self) -> list[str]:
        """``SESSION.SEGMENT`` of every marker revealed so far (where a fork can be made)."""
        return [line.where for line in self.transcript() if line.kind == "marker"]

    @property
    def position(self) -> str:
        """The cursor as ``SESSION.SEGMENT`` (what a link to this moment carries)."""
        return f"{self.session}.{self.segment}"

    @property
    def setting(self) -> str:
        """The course in words: chapter, seed (pinned or chosen) and length."""
        seed = f"seed {self.course_seed}" + (" (pinned)" if self.pinned else "")
        custom = " · custom patient and therapist" if self._custom is not None else ""
        return f"{self.chapter_name} · {seed} · {self.n_sessions} sessions{custom}"

    @property
    def where(self) -> str:
        """The cursor in words."""
        if self.segment < 0:
            return f"Session {self.session}, before the first segment"
        if self.course_over:
            left = "the patient dropped out" if self.original.patients[0].dropped_out else "the planned course ends"
            return f"Session {self.session}, the session's end: {left} here"
        if self.segment >= self.n_segments:
            return f"Session {self.session}, after the last segment (the session's end)"
        return f"Session {self.session}, segment {self.segment} (about minute {5 * self.segment})"


CHAPTER_NAMES = tuple(CHAPTERS)
