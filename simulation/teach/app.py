"""The teaching app: Mesa 3.3's SolaraViz on the session player, served offline on this machine.

``rupture-sim app`` serves this file with ``solara run`` (``serve``). The page
has Mesa's controls (Reset, play, Step = one segment) and model parameters (a
teaching chapter at its pinned seed, or sliders for the patient and the
therapist), and four named tabs: the session player (back, next marker, inject
a therapist error, the narrated transcript, live plots, a link to the moment),
the what-if fork side by side, the trainee round (an answer and a rationale per
marker, a paired verdict, the debrief sheet) and an Info panel. The narration is
the text alternative of the plots. A projector mode (switch, or ``?projector=1``)
enlarges text and plot labels and hides Mesa's developer controls.

The URL carries a moment: ``?chapter=NAME&seed=N&sessions=N&at=SESSION.SEGMENT``.

Mesa 3.3.1 names its tabs "Page 0", "Page 1", ... (``solara_viz.ComponentsView``
writes ``f"Page {index}"``, with no way to pass names); this module replaces that
component with ``NamedPages``, the same tabs with the names of ``PAGES``, each kept rendered.
It replaces Mesa's step counter (``ShowSteps``) with the place in the course, and
Mesa's inputs (``UserInputs``) with the same inputs showing slider values.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import markdown
import solara
from mesa.visualization import SolaraViz, solara_viz
from mesa.visualization.utils import force_update, update_counter

from simulation.model.taxonomy import RESPONSES, response_label
from simulation.teach.course_plots import course_figure, figure_png
from simulation.teach.debrief import debrief_csv, debrief_html
from simulation.teach.narration import SUMMARY, Line, format_lines
from simulation.teach.player import CHAPTER_NAMES, ERRORS, LEVELS, SessionPlayer
from simulation.teach.svg_plots import course_svg, spread_svg
from simulation.teach.trainee import (
    CHOICES,
    HORIZON,
    VERDICT_RULE,
    answer_of,
    choices_by_marker,
    feedback,
    policy_on_caseload,
    question,
)

CSS = """
.rs-transcript { display: flex; flex-direction: column-reverse; overflow-y: auto; font-size: 0.95rem;
  line-height: 1.4; max-height: max(240px, calc(100vh - 410px)); }
.rs-whatif .rs-transcript { max-height: 560px; } .rs-head p { margin-bottom: 2px; }
.rs-transcript h4 { margin: 0.6rem 0 0.2rem; } .rs-where { font-family: monospace; color: #444; }
.rs-same { color: #5f5f5f; } .rs-same::before { content: "= "; font-family: monospace; }
.rs-unclear { color: #555; font-size: 0.85em; font-style: italic; }
.rs-table td, .rs-table th { padding: 2px 8px; font-size: 0.85rem; }
.rs-summary { color: #1f4e79; } .rs-report { color: #444; }
.rs-injected { color: #a3302c; font-weight: 600; } .rs-note { color: #7a4a00; font-weight: 600; }
.rs-better { color: #1b5e20; font-weight: 600; } .rs-worse { color: #a3302c; font-weight: 600; }
.rs-md strong { font-weight: 700; } .rs-md p { margin-bottom: 0.5rem; }
.rs-now { font-weight: 700; margin-bottom: 4px; }
.rs-rule { font-size: 0.85rem; color: #333; }
.v-navigation-drawer .v-slider--horizontal { margin-top: 26px; }
.rs-row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
button:focus-visible, .v-btn:focus-visible, input:focus-visible, [tabindex]:focus-visible
  { outline: 3px solid #ff9800 !important; outline-offset: 2px; }
"""
#: Projector mode: large text, the newest transcript line in view, Mesa's developer controls hidden.
PROJECTOR_CSS = """
.v-application, .v-application .v-btn, .v-application .v-label, .v-application .v-select__selection,
.v-application .v-tab { font-size: 19px !important; }
.rs-transcript { font-size: 1.5rem; line-height: 1.35; max-height: max(200px, calc(100vh - 470px)); }
.rs-table td, .rs-table th { font-size: 1.05rem; }
.v-navigation-drawer .v-card:has(.v-btn) .v-input { display: none !important; }
"""

#: Projector mode, per browser session (a module-level reactive is scoped to its page).
PROJECTOR = solara.reactive(False)
#: The open tab (an index of ``PAGES``), per browser session.
TAB = solara.reactive(0)
#: What was wrong with the link the page was opened with ("" = nothing).
LINK_NOTE = solara.reactive("")


def md(text: str, classes: list[str] | None = None) -> None:
    """Markdown as HTML (rendered here: solara's Markdown would ask for KaTeX, which this offline server lacks)."""
    solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(text), classes=["rs-md", *(classes or [])])


def transcript_html(lines: list[Line], muted_before: int = 0, last_sessions: int = 2) -> str:
    """The transcript as HTML (the latest ``last_sessions`` sessions), lines before ``muted_before`` marked the same.

    The scroll box is a reversed flex column, so it opens scrolled to the newest line.
    """
    shown = sorted({line.session for line in lines})[-last_sessions:]
    out = []
    for i, line in enumerate(lines):
        if line.session not in shown:
            continue
        if line.kind == "session":
            out.append(f"<h4>{html.escape(line.text)}</h4>")
            continue
        css = f"rs-{line.kind}" if line.segment == SUMMARY or line.kind == "unclear" else "rs-event"
        css += " rs-same" if i < muted_before else ""
        where = "" if line.segment == SUMMARY else f'<span class="rs-where">[{line.where}]</span> '
        out.append(f'<div class="{css}">{where}{html.escape(line.text)}</div>')
    return f"<div>{''.join(out)}</div>" if out else "<p>Press Step (or Next marker) to begin the first session.</p>"


def _refresh(action) -> None:
    action()
    force_update()


def font_size() -> float:
    """Label size of the live figures (larger in projector mode)."""
    return 22 if PROJECTOR.value else 16


def course_figure_svg(model: SessionPlayer, stacked: bool) -> str:
    """The course figure up to the cursor, redrawn only when a session ends, the fork or the projector changes."""
    original = model.sessions_shown()
    forked = model.sessions_shown(forked=True) if model.forked is not None else None
    key = (len(original), -1 if forked is None else len(forked), model.fork, stacked, font_size())
    if key not in model.figures:
        summaries = [line.text for line in model.transcript() if line.kind == "summary"]
        desc = " ".join(summaries[-3:]) or "No session has ended yet."
        font = font_size() if stacked else 1.35 * font_size()  # three panels across are drawn smaller
        model.figures[key] = course_svg(original, forked, model.n_sessions, stacked, font, desc)
    return model.figures[key]


def moment_link(model: SessionPlayer) -> str:
    """The query string of a link to the cursor's moment (chapter, seed, length, position, projector)."""
    query = {"chapter": model.chapter_name, "seed": model.course_seed, "sessions": model.n_sessions,
             "at": model.position}  # fmt: skip
    if PROJECTOR.value:
        query["projector"] = 1
    return "?" + urlencode(query)


def Player(model: SessionPlayer):
    """The session player: where we are, back / next marker / go to a session, the transcript up to the cursor."""

    def go_to(session: str) -> None:
        _refresh(lambda: model.go_to(int(session), 0))

    error = solara.use_reactive("auto")

    with solara.Column(style={"padding": "8px"}, classes=["rs-player"]):
        md(f"**{model.chapter.title}**  \n{model.setting}", classes=["rs-head"])
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.where), classes=["rs-now"])
        if LINK_NOTE.value:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(LINK_NOTE.value), classes=["rs-note"])
        with solara.Row(classes=["rs-row"]):
            solara.Button("◀ Back", on_click=lambda: _refresh(model.back), outlined=True, small=True)
            solara.Button("Next marker ▶▶", on_click=lambda: _refresh(model.next_marker), outlined=True, small=True)
            solara.Button("Session start", outlined=True, small=True,
                          on_click=lambda: _refresh(lambda: model.go_to(model.session, 0)))  # fmt: skip
        if model.note:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.note), classes=["rs-note"],
                        attributes={"role": "status"})  # fmt: skip
        if model.injected:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.injected), classes=["rs-injected"])
        solara.HTML(tag="div", unsafe_innerHTML=transcript_html(model.transcript()), classes=["rs-transcript"],
                    attributes={"aria-live": "polite", "aria-label": "Transcript"})  # fmt: skip
        with solara.Row(classes=["rs-row"]):
            with solara.Column(style={"max-width": "130px"}):
                solara.Select("Go to session", values=[str(i) for i in range(1, model.n_sessions + 1)],
                              value=str(model.session), on_value=go_to)  # fmt: skip
            with solara.Column(style={"max-width": "130px"}):
                solara.Select("Therapist error", values=list(ERRORS), value=error)
            solara.Button("Inject a therapist error", outlined=True, color="error", small=True,
                          on_click=lambda: _refresh(lambda: model.inject_error(error.value)))  # fmt: skip
        with solara.Row(classes=["rs-row"]):
            solara.FileDownload(lambda: format_lines(model.transcript()), "transcript.txt",
                                label="Transcript as text")  # fmt: skip
            solara.HTML(tag="a", unsafe_innerHTML="Link to this moment", classes=["rs-link"],
                        attributes={"href": moment_link(model)})  # fmt: skip


def Plots(model: SessionPlayer):
    """Alliance, symptoms and ruptures per session up to the cursor (the what-if dashed, in red)."""
    solara.HTML(tag="div", unsafe_innerHTML=course_figure_svg(model, stacked=True), classes=["rs-course", "rs-plots"])
    solara.FileDownload(lambda: figure_png(course_figure(model.sessions_shown(),
                                                         model.sessions_shown(True) if model.forked else None,
                                                         n_sessions=model.n_sessions, stacked=True)),
                        "course.png", label="Plots as PNG")  # fmt: skip
    md("Each session's summary in the transcript is the text alternative of these plots.")


def WhatIf(model: SessionPlayer):
    """Choose a marker seen so far and a response; the two courses side by side on the same random numbers."""
    markers = model.markers_so_far()
    response = solara.use_reactive("invite")  # every hook before the first return
    chosen = model.fork_at if model.fork_at in markers else (markers[-1] if markers else "")

    def choose(where: str) -> None:
        model.fork_at = where

    def fork() -> None:
        session, segment = (int(x) for x in chosen.split("."))
        model.make_fork(session, segment, RESPONSES[response.value])

    with solara.Column(style={"padding": "8px"}, classes=["rs-whatif"]):
        md("### What-if: the same course with one response changed")
        if not markers:
            md("No marker yet: step to a marker, then come back to fork it.")
            return
        with solara.Row(classes=["rs-row"]):
            solara.Select("Fork at marker [session.segment]", values=markers, value=chosen, on_value=choose)
            solara.Select("The therapist's response instead", values=list(RESPONSES), value=response)
            solara.Button("Fork here", on_click=lambda: _refresh(fork), color="primary")
            solara.Button("Clear fork", on_click=lambda: _refresh(model.clear_fork), outlined=True,
                          disabled=model.forked is None)  # fmt: skip
        if model.forked is None:
            md("No fork yet.", classes=["rs-nofork"])
            return
        original, forked = model.transcript(), model.transcript(forked=True)
        same = next((i for i, (a, b) in enumerate(zip(original, forked, strict=False)) if a != b),
                    min(len(original), len(forked)))  # fmt: skip
        if model.injected:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.injected), classes=["rs-injected"])
        md(f"**What if {model.fork_label}?** Lines marked = are identical in both courses.")
        solara.HTML(tag="div", unsafe_innerHTML=course_figure_svg(model, stacked=False), classes=["rs-course"])
        with solara.Columns([1, 1]):
            with solara.Column():
                md("**Original**")
                solara.HTML(tag="div", unsafe_innerHTML=transcript_html(original, same), classes=["rs-transcript"])
            with solara.Column():
                md("**What-if**")
                solara.HTML(tag="div", unsafe_innerHTML=transcript_html(forked, same), classes=["rs-transcript"])


def Trainee(model: SessionPlayer):
    """A trainee round: an answer and a rationale at each marker, the paired verdict, the round and its debrief."""
    markers = model.markers_so_far()
    choice = solara.use_reactive("invite")  # every hook before the first return
    rationale = solara.use_reactive("")
    level = solara.use_reactive(model.trainee_level)

    def decide(where: str) -> None:
        shown = feedback(model, where, CHOICES[choice.value])
        model.shown = (shown, spread_svg(shown.spread, choice.value, HORIZON, font_size() - 1, " ".join(shown.lines)))
        model.round[where] = answer_of(model, shown, rationale.value)
        model.trainee_choices[where] = CHOICES[choice.value]
        model.policy = None
        rationale.set("")

    def run_policy() -> None:
        model.policy = policy_on_caseload(choices_by_marker(model, model.trainee_choices), model.chapter_name)

    def next_at_level() -> None:
        model.trainee_level = level.value
        model.next_marker(level.value)

    with solara.Column(style={"padding": "8px"}, classes=["rs-trainee"]):
        md("### Trainee: what would you do at this marker?")
        with solara.Row(classes=["rs-row"]):
            with solara.Column(style={"max-width": "190px"}):
                solara.Select("Difficulty", values=list(LEVELS), value=level)
            solara.Button("Next marker at this level ▶▶", outlined=True, on_click=lambda: _refresh(next_at_level))
        if model.note:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.note), classes=["rs-note"],
                        attributes={"role": "status"})  # fmt: skip
        if markers:
            where = markers[-1]
            md(f"**[{where}]** {question(model, where)} What do you do, and why?")
            with solara.Row(classes=["rs-row"]):
                with solara.Column(style={"max-width": "200px"}):
                    solara.Select("Your response", values=list(CHOICES), value=choice)
                solara.InputText("Your reason, in one line (optional)", value=rationale, continuous_update=True,
                                 style={"min-width": "320px"})  # fmt: skip
                solara.Button("Decide", color="primary", on_click=lambda: _refresh(lambda: decide(where)))
            Feedback(model, where)
        else:
            md("Step to a marker first (*Next marker* here or on the Player tab).")
        Round(model, run_policy)


def Feedback(model: SessionPlayer, where: str) -> None:
    """The latest answer's feedback, if it is for the marker ``where``."""
    if model.shown is None or model.shown[0].where != where:
        return
    shown, svg = model.shown
    css = {"better": "rs-better", "worse": "rs-worse"}.get(shown.verdict.word, "")
    md(f"**What the model knows:** {shown.truth}")
    label = html.escape(response_label(shown.choice))
    solara.HTML(tag="p", unsafe_innerHTML=f"<strong>Your answer</strong> ({label}): "
                f"<span class='{css}'>{html.escape(shown.verdict.sentence)}</span>", classes=["rs-verdict"],
                attributes={"data-where": where})  # fmt: skip
    md(f"*The rule, fixed before any answer:* {VERDICT_RULE}", classes=["rs-rule"])
    md(shown.explanation)
    last = int(where.split(".")[1]) == model.n_segments - 1
    tie = (" This marker is in the session's last segment: no segment is left for a strategy to work in, so "
           "the strategies tie (try a marker earlier in a session).") if last else ""  # fmt: skip
    md(f"**The spread of consequences.** Every alternative, and what the simulated therapist did, followed into "
       f"the same {shown.n_futures} futures: identical up to this marker, different after it (the same future for "
       f"every alternative: paired).{tie}")  # fmt: skip
    solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["rs-spread-figure"])
    solara.HTML(tag="div", unsafe_innerHTML=shown.table.to_html(index=False, classes="rs-table"))
    with solara.Details("The spread in words (text alternative of the figure)"):
        solara.HTML(tag="ul", unsafe_innerHTML="".join(f"<li>{html.escape(t)}</li>" for t in shown.lines),
                    classes=["rs-spread"])  # fmt: skip


def Round(model: SessionPlayer, run_policy) -> None:
    """The round so far (kept across tabs), its debrief sheet, and the answers run as a policy."""
    if not model.round:
        return
    rows = "".join(f"<tr><td>[{a.where}]</td><td>{html.escape(a.answer)}</td><td>{html.escape(a.rationale)}</td>"
                   f"<td>{html.escape(a.verdict.word)}</td></tr>" for a in model.round.values())  # fmt: skip
    md(f"### Your round: {len(model.round)} answers")
    solara.HTML(
        tag="table",
        classes=["rs-table", "rs-round"],
        unsafe_innerHTML=f"<tr><th>marker</th><th>answer</th><th>reason</th><th>verdict</th></tr>{rows}",
    )
    title, setting = model.chapter.title, model.setting

    def page() -> str:
        return debrief_html(list(model.round.values()), title, setting, model.policy)

    with solara.Row(classes=["rs-row"]):
        solara.FileDownload(page, "debrief.html", label="Debrief sheet (HTML)", mime_type="text/html")
        solara.FileDownload(lambda: debrief_csv(list(model.round.values())), "debrief.csv",
                            label="Debrief as CSV", mime_type="text/csv")  # fmt: skip
        solara.Button("Start a new round", outlined=True, on_click=lambda: _refresh(model.new_round))
    md(f"**Your answers as a policy.** The chapter's therapist ({model.chapter.therapists}) answers each kind of "
       "marker you answered (its type and salience) as you did, and the other saliences of that type with your most "
       "frequent answer. Only the choice of response changes: what they notice and when they react with hostility "
       "stay theirs. Run on 300 patients of this chapter's population, the same patients for every row, against the "
       "same therapist on their own answers (the baseline).")  # fmt: skip
    solara.Button("Run my answers as a policy", on_click=lambda: _refresh(run_policy), outlined=True)
    if model.policy is not None:
        solara.HTML(tag="div", unsafe_innerHTML=model.policy.to_html(index=False, classes="rs-table rs-policy"))


INFO = """
### What it is
A simulated course of psychotherapy with a patient with a personality disorder, told segment by
segment (about five minutes each) in the terms of the Rupture Resolution Rating System (3RS):
withdrawal and confrontation **markers**, the therapist noticing or missing them, the 3RS
**resolution strategies**, and the stages of the **Safran-Muran** resolution path. Every number
is simulated by the model of `docs/MODEL.md`, not observed.

### How it works
Each week the patient's therapist holds a session (Mesa agents of `RuptureModel`); every random
draw is keyed by seed, patient, session, segment and decision, so a replay is exact and a
**fork** changes only what the changed response changes. Each chapter opens at a **pinned seed**,
one at which its point shows (checked by a test; `python -m simulation.teach.scenarios`).

### How to use it
*Step* reveals one segment; *Next marker* jumps to the next rupture marker; *Back* goes back;
*Reset* applies the model parameters (a chapter at its pinned seed or another, or *custom* with the
sliders). *Inject a therapist error* turns the response at the marker under the cursor (or the
next one) into an error (missing the marker, or meeting it with hostility) and shows that course
beside the original (red dashed curves, *What-if* tab). In *What-if*, pick a marker seen so far and
a response, then *Fork here*. In *Trainee*, choose a difficulty, answer the latest marker with a
response and a one-line reason, *Decide*: the app reveals what the model knew and follows every
alternative into 30 paired futures; your answer gets a verdict against letting the marker pass by
a rule stated beside it. Your answers form a round, kept across tabs, with a debrief sheet (HTML,
CSV). *Link to this moment* is a URL with the chapter, seed and position. *Projector mode* (the
switch, or `?projector=1` in the URL) enlarges text and plots. All controls work with Tab, Enter
and Space.

### Things to notice
{notice}

### Things to try
{try_}

### How to extend it
A new chapter is an entry of `CHAPTERS` in `simulation/teach/chapters.py` and a check of its point
in `simulation/teach/scenarios.py` (`--pin` finds its seed); a new response a code in
`taxonomy.RESPONSES` and a check in `session.therapist_responds`.

### References
Eubanks, Muran & Safran (2015), 3RS manual; Safran & Muran (1996, 2000), resolution stages;
alliance-focused training: T8, T9 of `docs/MODEL.md` (literature ids S1-S8, T1-T17 there).
"""


def Info(model: SessionPlayer):
    """What the app is, how it works, how to use it, the chapter's things to notice and try, references."""
    bullets = "\n".join(f"- {n}" for n in model.chapter.notice)
    tries = "\n".join(f"- {t}" for t in model.chapter.try_)
    with solara.Column(classes=["rs-info"]):
        md(f"**{model.chapter.title}** ({model.setting}). At the pinned seed: {model.pinned_scenario.shows}.")
        md(INFO.format(notice=bullets, try_=tries))


SEEDS = ["pinned", *(str(i) for i in range(0, 61))]
LENGTHS = ["pinned", *(str(i) for i in range(2, 31))]
MODEL_PARAMS = {
    "chapter_name": {"type": "Select", "value": "hostile-vs-metacommunication", "values": list(CHAPTER_NAMES),
                     "label": "Chapter"},
    "seed": {"type": "Select", "value": "pinned", "values": SEEDS, "label": "Seed (pinned: the chapter's point shows)"},
    "n_sessions": {"type": "Select", "value": "pinned", "values": LENGTHS, "label": "Sessions"},
    "custom": {"type": "Checkbox", "value": False, "label": "Custom patient and therapist (sliders)"},
    "diagnosis": {"type": "Select", "value": "bpd", "values": ["no_pd", "bpd", "other_pd"], "label": "Diagnosis"},
    "pd_severity": {"type": "SliderFloat", "value": 0.7, "min": 0, "max": 1, "step": 0.05, "label": "Severity"},
    "withdrawal_tendency": {"type": "SliderFloat", "value": 1.0, "min": 0, "max": 3, "step": 0.1,
                            "label": "Withdrawal proneness"},
    "confrontation_tendency": {"type": "SliderFloat", "value": 1.0, "min": 0, "max": 3, "step": 0.1,
                               "label": "Confrontation proneness"},
    "insight": {"type": "SliderFloat", "value": 0.4, "min": 0, "max": 1, "step": 0.05, "label": "Insight"},
    "skill": {"type": "SliderFloat", "value": 0.5, "min": 0, "max": 1, "step": 0.05, "label": "Therapist skill"},
    "noticing": {"type": "SliderFloat", "value": 0.3, "min": 0, "max": 1, "step": 0.05, "label": "Noticing"},
    "reactivity": {"type": "SliderFloat", "value": 0.3, "min": 0, "max": 1, "step": 0.05, "label": "Reactivity"},
    "exploratory": {"type": "Checkbox", "value": True, "label": "Exploratory repertoire (metacommunication)"},
    "aft_from": {"type": "SliderInt", "value": 0, "min": 0, "max": 30, "step": 1, "label": "AFT from session"},
}  # fmt: skip


@dataclass(frozen=True)
class Link:
    """A moment the page was opened at (``?chapter=&seed=&sessions=&at=&projector=``), checked."""

    chapter: str = "hostile-vs-metacommunication"
    seed: str = "pinned"
    sessions: str = "pinned"
    at: tuple[int, int] | None = None
    projector: bool = False
    problem: str = ""


def parse_link(search: str | None) -> Link:
    """The moment in a URL's query string; a bad field is dropped and named in ``problem`` (one sentence)."""
    query = {k: v[-1] for k, v in parse_qs(search or "").items()}
    problems, fields = [], {}
    if "chapter" in query:
        if query["chapter"] in CHAPTER_NAMES:
            fields["chapter"] = query["chapter"]
        else:
            problems.append(f"chapter must be one of {', '.join(CHAPTER_NAMES)} (got {query['chapter']!r})")
    for name, allowed in (("seed", SEEDS), ("sessions", LENGTHS)):
        if name in query:
            if query[name] in allowed:
                fields[name] = query[name]
            else:
                problems.append(f"{name} must be 'pinned' or a whole number from {allowed[1]} to {allowed[-1]} "
                                f"(got {query[name]!r})")  # fmt: skip
    if "at" in query:
        parts = query["at"].split(".")
        if len(parts) == 2 and all(p.lstrip("-").isdigit() for p in parts):
            fields["at"] = (int(parts[0]), int(parts[1]))
        else:
            problems.append(f"at must be SESSION.SEGMENT, e.g. 3.2 (got {query['at']!r})")
    fields["projector"] = query.get("projector", "0") in ("1", "true", "yes", "on")
    problem = ("This link's " + "; ".join(problems) + ": the page opened without it.") if problems else ""
    return Link(**fields, problem=problem)


def player_for(link: Link) -> SessionPlayer:
    """The player a link opens: its chapter, seed and length, the cursor at its moment."""
    player = SessionPlayer(chapter_name=link.chapter, seed=link.seed, n_sessions=link.sessions)
    if link.at is not None:
        player.go_to(*link.at)
    return player


def params_for(link: Link) -> dict:
    """The sidebar's parameters with the link's chapter, seed and length (so Reset keeps them)."""
    params = {name: dict(spec) for name, spec in MODEL_PARAMS.items()}
    params["chapter_name"]["value"] = link.chapter
    params["seed"]["value"] = link.seed
    params["n_sessions"]["value"] = link.sessions
    return params


_WRAPPED: dict = {}


def wrapped(component):
    """Mesa's wrapper of a page component (re-rendered on every model update), made once per component.

    ``solara_viz._wrap_component`` returns a new component on every call, so a page that wraps its
    components as it renders rebuilds every widget of every tab on each render (a tab switch took a second).
    """
    if component not in _WRAPPED:
        _WRAPPED[component] = solara_viz._wrap_component(component)
    return _WRAPPED[component]


#: The app's tabs by page index (the second item of each ``components`` pair of ``Page``).
PAGES = {0: "Player", 1: "What-if", 2: "Trainee", 3: "Info"}


@solara.component
def NamedPages(components: list[tuple], model) -> None:
    """Mesa's tabs of component pages (``solara_viz.ComponentsView``), each tab named by ``PAGES``.

    Mesa 3.3.1 labels its tabs "Page 0", "Page 1", ... and takes no names; SolaraViz looks the
    component up in its module when it renders, so replacing it there (below) names the tabs
    without copying SolaraViz. Every tab stays rendered (a switch only shows another, without a
    slide), so a switch answers at once and keeps what was typed; two components of a page sit
    side by side. The projector switch sits beside the tabs.
    """
    pages: dict[int, list] = {}
    for component, index in components:
        pages.setdefault(index, []).append(wrapped(component))
    tab, set_tab = TAB.value, TAB.set
    with solara.Row(style={"align-items": "center"}):
        with solara.v.Tabs(v_model=tab, on_v_model=set_tab):
            for index in sorted(pages):
                solara.v.Tab(children=[PAGES.get(index, f"Page {index}")])
        solara.Switch(label="Projector mode", value=PROJECTOR, style={"white-space": "nowrap"})
    with solara.v.TabsItems(v_model=tab, touchless=True):
        for index in sorted(pages):
            with solara.v.TabItem(eager=True, transition=False, reverse_transition=False):
                if len(pages[index]) == 1:
                    pages[index][0](model)
                    continue
                with solara.Columns([6, 5]):
                    for component in pages[index]:
                        component(model)


solara_viz.ComponentsView = NamedPages


@solara.component
def CoursePosition(model) -> None:
    """The place in the course (Mesa's sidebar shows its step counter here, which is not a place in a course)."""
    update_counter.get()
    solara.Text(f"{model.chapter_name}, seed {model.course_seed}: {model.where}")


solara_viz.ShowSteps = CoursePosition


@solara.component
def UserInputs(user_params, on_change=None) -> None:
    """Mesa's model inputs (``solara_viz.UserInputs``), with each slider's value shown beside it."""
    for name, options in user_params.items():

        def change(value, name=name) -> None:
            on_change(name, value)

        kind, label, value = options.get("type"), options.get("label", name), options.get("value")
        if kind in ("SliderInt", "SliderFloat"):
            slider = solara.SliderInt if kind == "SliderInt" else solara.SliderFloat
            slider(label, value=value, on_value=change, min=options["min"], max=options["max"], step=options["step"],
                   thumb_label="always")  # fmt: skip
        elif kind == "Select":
            solara.Select(label, value=value, on_value=change, values=options["values"])
        elif kind == "Checkbox":
            solara.Checkbox(label=label, value=value, on_value=change)
        else:
            raise ValueError(f"{kind} is not an input type of this app")


solara_viz.UserInputs = UserInputs


@solara.component_vue(str(Path(__file__).with_name("page_a11y.vue")))
def PageA11y() -> None:
    """The document language and names for icon-only buttons (``page_a11y.vue``)."""


@solara.component
def Page():
    """The app: each browser session gets its own player (a module-level model would be shared by all)."""
    router = solara.use_router()
    link = solara.use_memo(lambda: parse_link(router.search), [])
    model = solara.use_memo(lambda: player_for(link), [])
    params = solara.use_memo(lambda: params_for(link), [])

    def opened() -> None:
        PROJECTOR.set(link.projector)
        LINK_NOTE.set(link.problem)

    solara.use_effect(opened, [])
    solara.Title("rupture-sim teaching: alliance ruptures in 3RS terms")
    solara.Style(CSS + (PROJECTOR_CSS if PROJECTOR.value else ""))
    PageA11y()
    SolaraViz(
        model,
        components=[(Player, 0), (Plots, 0), (WhatIf, 1), (Trainee, 2), (Info, 3)],
        model_params=params,
        name="rupture-sim teaching: a session in 3RS terms",
        play_interval=400,
    )
