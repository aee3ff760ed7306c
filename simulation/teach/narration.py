"""A course told in plain 3RS words: what happened in each segment and what each informant would report.

The narration reads the events table (``tables.events_table``) and the session
rows of one patient and returns ``Line`` objects: one per event (a marker and
its salience, noticed or missed, the strategy by its 3RS name, the stage of
the Safran-Muran path reached, how an episode ended) and, per session, the
alliance change and what the observer, the patient's questionnaires and the
therapist would report. The terminal demo, the exported page and the app all
show these lines; they are also the text alternative of every plot.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simulation.model.taxonomy import STRATEGY_FAMILIES

#: What each strategy family means to a student.
FAMILY_WORDS = {
    "immediate": "an immediate strategy: it addresses the rupture on the surface",
    "exploratory": "an exploratory strategy: metacommunication about what is happening between them",
    "other": "another 3RS strategy",
}
#: Salience 1-5 in words.
SALIENCE_WORDS = ("", "barely visible", "subtle", "clear", "marked", "unmistakable")


@dataclass(frozen=True)
class Line:
    """One line of the transcript.

    Attributes:
        session: Session number.
        segment: Segment of the session (-1 for the session's opening, 99 for its summary).
        kind: ``session``, an event kind (``marker``, ``missed``, ...; ``unclear`` for an N2 intervention),
            ``summary`` or ``report``.
        text: The sentence.
    """

    session: int
    segment: int
    kind: str
    text: str

    @property
    def where(self) -> str:
        """``SESSION.SEGMENT`` (what ``--fork`` takes), or the session alone for session lines."""
        return f"{self.session}.{self.segment}" if 0 <= self.segment < 99 else f"{self.session}"


OPENING, SUMMARY = -1, 99


def _marker(ev: pd.Series, episode_open: bool) -> str:
    kind = "withdrawal" if ev.rupture_type == "withdrawal" else "confrontation"
    text = (
        f"The patient shows a {kind} marker, {ev.code} '{ev.label}' (salience {ev.salience} of 5, "
        f"{SALIENCE_WORDS[int(ev.salience)]}; the observer codes {ev.observed_salience})."
    )
    if episode_open:
        text += " The rupture flares up inside the open episode."
    return text


def _negative(ev: pd.Series) -> str:
    if ev.code == "N1":
        return ("The therapist notices it but reacts with hostility (blaming or defensive, N1): the alliance "
                "takes a further knock and the patient is provoked.")  # fmt: skip
    return "The therapist makes an unclear or premature interpretation (N2), a negative intervention."


def _stage(ev: pd.Series) -> str:
    if ev.detail > 0 and ev.stage == 1:
        return (f"The therapist notices the marker and stays with it: a resolution episode opens at stage 1 of "
                f"the Safran-Muran path, '{ev.label}'.")  # fmt: skip
    if ev.detail > 0:
        return f"The patient takes up the work: the episode reaches stage {ev.stage}, '{ev.label}'."
    return f"The episode falls back to stage {ev.stage}, '{ev.label}'."


def _strategy(ev: pd.Series) -> str:
    family = STRATEGY_FAMILIES[int(ev.detail)]
    return f"The therapist {ev.label} ({ev.code}, {FAMILY_WORDS[family]})."


def _episode_end(ev: pd.Series) -> str:
    return f"The episode ends {ev.label} (deepest stage {ev.stage} of 5)."


def narrate_events(events: pd.DataFrame) -> list[Line]:
    """One line per event of one patient's session, in the order they happened."""
    lines, episode_open = [], False
    for ev in events.itertuples(index=False):
        kind = str(ev.kind)
        if kind == "marker":
            text = _marker(ev, episode_open)
        elif kind == "missed":
            text = "The therapist does not notice it: the rupture stays unrepaired and its strain is carried on."
        elif kind == "negative":
            text = _negative(ev)
            kind = "negative" if ev.code == "N1" else "unclear"  # N2 is ordinary work, not an answer to a marker
        elif kind == "stage":
            text = _stage(ev)
            episode_open = True
        elif kind == "strategy":
            text = _strategy(ev)
        else:
            text = _episode_end(ev)
            episode_open = False
        lines.append(Line(int(ev.session), int(ev.segment), kind, text))
    return lines


def informants(row: pd.Series) -> str:
    """What the observer, the patient's questionnaires and the therapist would report about the session."""
    observer = "codes a salient rupture" if row.rupture_observed else "codes no salient rupture"
    if row.patient_rupture_reported:
        patient = f"reports a rupture of intensity {row.patient_rupture_intensity} of 5"
        patient += f", resolved {row.patient_resolution:.0f} of 5" if row.patient_resolution else ""
    else:
        patient = "reports no rupture"
    therapist = "reports a rupture" if row.therapist_rupture_reported else "reports no rupture"
    return (f"Informants: the observer {observer}; the patient {patient} (WAI-SR {row.wai_patient:.0f} of 60); "
            f"the therapist {therapist} (WAI-SR {row.wai_therapist:.0f} of 60).")  # fmt: skip


def session_summary(row: pd.Series) -> str:
    """The alliance change, the symptoms and whether the patient leaves."""
    change = row.alliance - row.alliance_start
    trend = "rises" if change > 0.005 else "falls" if change < -0.005 else "holds"
    text = (f"After the session the alliance {trend}: {row.alliance_start:.2f} -> {row.alliance:.2f} "
            f"({change:+.2f}); symptoms {row.symptom:.2f} of 4; strain carried on {row.strain:.2f}.")  # fmt: skip
    if row.dropped_out:
        text += " The patient drops out after this session."
    return text


def narrate_course(sessions: pd.DataFrame, events: pd.DataFrame, patient_id: int | None = None) -> list[Line]:
    """The transcript of one patient's course: per session an opening, its events, a summary and the reports.

    Args:
        sessions: The sessions table (``Results.sessions``).
        events: The events table (``Results.events``).
        patient_id: The patient; the first one in ``sessions`` if omitted.
    """
    pid = int(sessions.patient_id.iloc[0]) if patient_id is None else int(patient_id)
    rows = sessions[sessions.patient_id == pid]
    mine = events[events.patient_id == pid]
    lines = []
    for row in rows.itertuples(index=False):
        aft = " The therapist works with alliance-focused training." if row.aft_active else ""
        lines.append(Line(row.session, OPENING, "session", f"Session {row.session}.{aft}"))
        lines += narrate_events(mine[mine.session == row.session])
        lines.append(Line(row.session, SUMMARY, "summary", session_summary(row)))
        lines.append(Line(row.session, SUMMARY, "report", informants(row)))
    return lines


def format_lines(lines: list[Line]) -> str:
    """The transcript as plain text: sessions as headings, events with their ``SESSION.SEGMENT``."""
    out = []
    for line in lines:
        if line.kind == "session":
            out.append(f"\n{line.text}")
        elif line.segment == SUMMARY:
            out.append(f"  {line.text}")
        else:
            out.append(f"  [{line.where}] {line.text}")
    return "\n".join(out).lstrip("\n")


def first_difference(a: list[Line], b: list[Line]) -> int:
    """Index of the first line where two transcripts differ (the length of the shorter if one is a prefix)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def side_by_side(original: pd.DataFrame, forked: pd.DataFrame) -> pd.DataFrame:
    """Per session the alliance, symptoms and dropout of the original and the forked course."""
    cols = ["session", "alliance", "symptom", "n_unrepaired", "resolution_stage", "dropped_out"]
    both = original[cols].merge(forked[cols], on="session", how="outer", suffixes=("", "_fork"))
    return both.set_index("session")


def format_fork(original: list[Line], forked: list[Line], fork_label: str) -> str:
    """The what-if: the forked transcript from the segment where it first differs from the original."""
    start = fork_start(original, forked)
    if start == len(original) == len(forked):
        return f"What if {fork_label}?\nNothing changes: at that segment there was no response for it to replace."
    note = f"Identical to the original before [{forked[start].where}] (same random numbers); from there on:"
    return f"What if {fork_label}?\n{note}\n{format_lines(forked[start:])}"


def fork_start(original: list[Line], forked: list[Line]) -> int:
    """Index of the first line of the segment (or session line) where two transcripts start to differ."""
    start = first_difference(original, forked)
    while 0 < start < len(forked) and forked[start - 1].where == forked[start].where and forked[start].segment >= 0:
        start -= 1
    return start
