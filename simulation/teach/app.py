"""The teaching app: Mesa 3.3's SolaraViz on the session player, served offline on this machine.

``rupture-sim app`` serves this file with ``solara run`` (``serve``). The page
has Mesa's controls (Reset, play, Step = one segment) and model parameters (a
teaching chapter, or sliders for the patient and the therapist), and four
named tabs: the session player (back, next marker, inject a therapist error,
the narrated transcript, live plots), the what-if fork side by side, the
trainee mode (the spread of every alternative's consequences over paired
futures) and an Info panel. The narration is the text alternative of the plots.

Mesa 3.3.1 names its tabs "Page 0", "Page 1", ... (``solara_viz.ComponentsView``
writes ``f"Page {index}"``, with no way to pass names); this module replaces that
component with ``NamedPages``, the same tabs and grid with the names of ``PAGES``.
"""

from __future__ import annotations

import html

import solara
from mesa.visualization import SolaraViz, solara_viz
from mesa.visualization.utils import force_update

from simulation.model.taxonomy import RESPONSES, response_label
from simulation.teach.course_plots import course_figure, figure_png, spread_figure
from simulation.teach.narration import SUMMARY, Line, format_lines
from simulation.teach.player import CHAPTER_NAMES, ERRORS, SessionPlayer
from simulation.teach.trainee import CHOICES, HORIZON, choices_by_marker, feedback, policy_on_caseload

CSS = """
.rs-transcript { display: flex; flex-direction: column-reverse; max-height: 560px; overflow-y: auto;
  font-size: 0.9rem; line-height: 1.4; }
.rs-transcript h4 { margin: 0.6rem 0 0.2rem; } .rs-where { font-family: monospace; color: #555; }
.rs-same { color: #999; }
.rs-table td, .rs-table th { padding: 2px 8px; font-size: 0.85rem; }
.rs-summary { color: #1f4e79; } .rs-report { color: #555; }
.rs-injected { color: #c0504d; font-weight: 600; }
button:focus-visible, .v-btn:focus-visible, input:focus-visible, [tabindex]:focus-visible
  { outline: 3px solid #ff9800 !important; outline-offset: 2px; }
"""


def transcript_html(lines: list[Line], muted_before: int = 0, last_sessions: int = 2) -> str:
    """The transcript as HTML (the latest ``last_sessions`` sessions), lines before ``muted_before`` in grey.

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
        css = f"rs-{line.kind}" if line.segment == SUMMARY else "rs-event"
        css += " rs-same" if i < muted_before else ""
        where = "" if line.segment == SUMMARY else f'<span class="rs-where">[{line.where}]</span> '
        out.append(f'<div class="{css}">{where}{html.escape(line.text)}</div>')
    return f"<div>{''.join(out)}</div>" if out else "<p>Press Step (or Next marker) to begin the first session.</p>"


def _refresh(action) -> None:
    action()
    force_update()


def Player(model: SessionPlayer):
    """The session player: where we are, back / next marker / go to a session, the transcript up to the cursor."""

    def go_to(session: str) -> None:
        _refresh(lambda: model.go_to(int(session), 0))

    error = solara.use_reactive("auto")

    with solara.Column(style={"padding": "8px"}):
        solara.Markdown(f"### Session player\n**{model.chapter.title}** · {model.where}")
        with solara.Row():
            solara.Button("◀ Back", on_click=lambda: _refresh(model.back), outlined=True)
            solara.Button("Next marker ▶▶", on_click=lambda: _refresh(model.next_marker), outlined=True)
            solara.Button("Session start", outlined=True,
                          on_click=lambda: _refresh(lambda: model.go_to(model.session, 0)))  # fmt: skip
        with solara.Row():
            with solara.Column(style={"max-width": "160px"}):
                solara.Select("Go to session", values=[str(i) for i in range(1, model.held + 1)],
                              value=str(model.session), on_value=go_to)  # fmt: skip
            with solara.Column(style={"max-width": "170px"}):
                solara.Select("Therapist error", values=list(ERRORS), value=error)
            solara.Button("Inject a therapist error", outlined=True, color="error",
                          on_click=lambda: _refresh(lambda: model.inject_error(error.value)))  # fmt: skip
        if model.injected:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.injected), classes=["rs-injected"])
        solara.HTML(tag="div", unsafe_innerHTML=transcript_html(model.transcript()), classes=["rs-transcript"])
        solara.FileDownload(lambda: format_lines(model.transcript()), "transcript.txt", label="Transcript as text")


def course_png(model: SessionPlayer, stacked: bool) -> bytes:
    """The course figure up to the cursor as PNG, redrawn only when a session ends or the fork changes."""
    original = model.sessions_shown()
    forked = model.sessions_shown(forked=True) if model.forked is not None else None
    key = [id(model), len(original), model.fork, stacked]

    def draw() -> bytes:
        return figure_png(course_figure(original, forked, n_sessions=model.n_sessions, stacked=stacked))

    return solara.use_memo(draw, key)


def Plots(model: SessionPlayer):
    """Alliance, symptoms and ruptures per session up to the cursor (the what-if in red)."""
    png = course_png(model, stacked=True)
    solara.Image(png)
    solara.FileDownload(lambda: png, "course.png", label="Plots as PNG")
    solara.Markdown("Each session's summary in the transcript is the text alternative of these plots.")


def WhatIf(model: SessionPlayer):
    """Choose a marker seen so far and a response; the two courses side by side on the same random numbers."""
    markers = model.markers_so_far()
    where = solara.use_reactive(markers[-1] if markers else "")
    response = solara.use_reactive("invite")

    def fork() -> None:
        session, segment = (int(x) for x in (where.value or markers[-1]).split("."))
        model.make_fork(session, segment, RESPONSES[response.value])

    with solara.Column(style={"padding": "8px"}):
        solara.Markdown("### What-if: the same course with one response changed")
        if not markers:
            solara.Markdown("No marker yet: step to a marker, then come back to fork it.")
            return
        with solara.Row():
            solara.Select("Fork at marker [session.segment]", values=markers, value=where)
            solara.Select("The therapist's response instead", values=list(RESPONSES), value=response)
            solara.Button("Fork here", on_click=lambda: _refresh(fork), color="primary")
            solara.Button("Clear fork", on_click=lambda: _refresh(model.clear_fork), outlined=True)
        if model.forked is None:
            solara.Markdown("No fork yet.")
            return
        original, forked = model.transcript(), model.transcript(forked=True)
        same = next((i for i, (a, b) in enumerate(zip(original, forked, strict=False)) if a != b),
                    min(len(original), len(forked)))  # fmt: skip
        if model.injected:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(model.injected), classes=["rs-injected"])
        solara.Markdown(f"**What if {model.fork_label}?** Grey lines are identical in both courses.")
        solara.Image(course_png(model, stacked=False))
        with solara.Columns([1, 1]):
            with solara.Column():
                solara.Markdown("**Original**")
                solara.HTML(tag="div", unsafe_innerHTML=transcript_html(original, same), classes=["rs-transcript"])
            with solara.Column():
                solara.Markdown("**What-if**")
                solara.HTML(tag="div", unsafe_innerHTML=transcript_html(forked, same), classes=["rs-transcript"])


def Trainee(model: SessionPlayer):
    """Trainee mode: a response at the latest marker, then the hidden truth and the spread of every alternative."""
    markers = model.markers_so_far()
    choice = solara.use_reactive("invite")
    result = solara.use_reactive(None)
    figure = solara.use_reactive(b"")  # the spread figure of ``result`` as PNG
    policy = solara.use_reactive(None)

    def decide(where: str) -> None:
        shown = feedback(model, where, CHOICES[choice.value])
        figure.set(figure_png(spread_figure(shown.spread, choice.value, HORIZON)))
        result.set(shown)
        model.trainee_choices[where] = CHOICES[choice.value]

    def run_policy() -> None:
        mine = choices_by_marker(model, model.trainee_choices)
        policy.set(policy_on_caseload(mine, model.chapter.population))

    with solara.Column(style={"padding": "8px"}):
        solara.Markdown("### Trainee: what would you do at this marker?")
        if not markers:
            solara.Markdown("Step to a marker first (*Next marker* on the Player tab).")
            return
        where = markers[-1]
        seen = next(line for line in model.transcript() if line.where == where and line.kind == "marker")
        solara.Markdown(f"**[{where}]** {seen.text} What do you do?")
        with solara.Row():
            solara.Select("Your response", values=list(CHOICES), value=choice)
            solara.Button("Decide", color="primary", on_click=lambda: decide(where))
        shown = result.value
        if shown is None or shown.where != where:
            return
        n = len(CHOICES)
        solara.Markdown(f"**What the model knows:** {shown.truth}\n\n**Your choice** "
                        f"({response_label(shown.choice)}) ranks {shown.rank} of {n} by the mean alliance change "
                        f"to {HORIZON} sessions later over {shown.n_futures} futures (ties share a rank). "
                        f"{shown.explanation}")  # fmt: skip
        last = int(where.split(".")[1]) == model.n_segments - 1
        tie = (" This marker is in the session's last segment: no segment is left for a strategy to work in, so "
               "the strategies tie (try a marker earlier in a session).") if last else ""  # fmt: skip
        solara.Markdown(f"**The spread of consequences.** Every alternative, and what the simulated therapist did, "
                        f"followed into the same {shown.n_futures} futures: identical up to this marker, different "
                        f"after it (the same future for every alternative: paired).{tie}")  # fmt: skip
        png = figure.value
        solara.Image(png)
        solara.FileDownload(lambda: png, "consequences.png", label="Consequences as PNG")
        solara.HTML(tag="div", unsafe_innerHTML=shown.table.to_html(index=False, classes="rs-table"))
        with solara.Details("The spread in words (text alternative of the figure)"):
            solara.HTML(tag="ul", unsafe_innerHTML="".join(f"<li>{html.escape(t)}</li>" for t in shown.lines),
                        classes=["rs-spread"])  # fmt: skip
        solara.Markdown(
            f"**Your choices as a policy** ({len(model.trainee_choices)} so far): a therapist who answers each "
            "kind of marker you answered (its type and salience) as you did, and the other saliences of that type "
            "with your most frequent answer; run on 300 patients of this chapter's population against the novice "
            "and AFT-trained presets, on the same patients."
        )
        solara.Button("Run my choices as a policy", on_click=run_policy, outlined=True)
        if policy.value is not None:
            solara.HTML(tag="div", unsafe_innerHTML=policy.value.to_html(index=False, classes="rs-table"))


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
**fork** changes only what the changed response changes.

### How to use it
*Step* reveals one segment; *Next marker* jumps to the next rupture marker; *Back* goes back;
*Reset* applies the model parameters (a chapter, or *custom* with the sliders). *Inject a therapist
error* turns the response at the marker under the cursor (or the next one) into an error (missing
the marker, or meeting it with hostility) and shows that course beside the original (red curves,
*What-if* tab). In *What-if*, pick a marker seen so far and a response, then *Fork here*. In
*Trainee*, choose your response to the latest marker and *Decide*: the app reveals the marker's
true salience, what the simulated therapist did, and the spread of consequences of every
alternative over 30 paired futures — the same futures for every alternative, identical up to the
marker and different after it. All controls work with Tab, Enter and Space.

### Things to notice
{notice}

### Things to try
{try_}

### How to extend it
A new chapter is an entry of `CHAPTERS` in `simulation/teach/chapters.py`; a new response a code in
`taxonomy.RESPONSES` and a check in `session.therapist_responds`.

### References
Eubanks, Muran & Safran (2015), 3RS manual; Safran & Muran (1996, 2000), resolution stages;
alliance-focused training: T8, T9 of `docs/MODEL.md` (literature ids S1-S8, T1-T17 there).
"""


def Info(model: SessionPlayer):
    """What the app is, how it works, how to use it, the chapter's things to notice and try, references."""
    bullets = "\n".join(f"- {n}" for n in model.chapter.notice)
    tries = "\n".join(f"- {t}" for t in model.chapter.try_)
    solara.Markdown(INFO.format(notice=bullets, try_=tries))


MODEL_PARAMS = {
    "chapter_name": {"type": "Select", "value": "hostile-vs-metacommunication", "values": list(CHAPTER_NAMES),
                     "label": "Chapter"},
    "seed": {"type": "SliderInt", "value": 3, "min": 0, "max": 50, "step": 1, "label": "Seed"},
    "n_sessions": {"type": "SliderInt", "value": 12, "min": 2, "max": 30, "step": 1, "label": "Sessions"},
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


def grid_layout(n_components: int) -> list[dict]:
    """Mesa's grid, with cells tall enough for a transcript: two side by side, or one full width."""
    width, height = (12, 26) if n_components == 1 else (6, 17)
    return [{"i": i, "w": width, "h": height, "moved": False, "x": width * (i % 2) % 12, "y": height * (i // 2)}
            for i in range(n_components)]  # fmt: skip


solara_viz.make_initial_grid_layout = grid_layout  # Mesa 3.3.1's cells (h=10) cut a transcript short

#: The app's tabs by page index (the second item of each ``components`` pair of ``Page``).
PAGES = {0: "Player", 1: "What-if", 2: "Trainee", 3: "Info"}


@solara.component
def NamedPages(components: list[tuple], model) -> None:
    """Mesa's tabs of component pages (``solara_viz.ComponentsView``), each tab named by ``PAGES``.

    Mesa 3.3.1 labels its tabs "Page 0", "Page 1", ... and takes no names; SolaraViz looks the
    component up in its module when it renders, so replacing it there (below) names the tabs
    without copying SolaraViz. The grid of each page is Mesa's (``GridDraggable`` with ``grid_layout``).
    """
    pages: dict[int, list] = {}
    for component, index in components:
        pages.setdefault(index, []).append(solara_viz._wrap_component(component))
    tab, set_tab = solara.use_state(0)
    with solara.v.Tabs(v_model=tab, on_v_model=set_tab):
        for index in sorted(pages):
            solara.v.Tab(children=[PAGES.get(index, f"Page {index}")])
    with solara.v.TabsItems(v_model=tab):
        for index in sorted(pages):
            with solara.v.TabItem():
                if index == tab:
                    solara.GridDraggable(items=[c(model) for c in pages[index]],
                                         grid_layout=grid_layout(len(pages[index])), resizable=True,
                                         draggable=True)  # fmt: skip


solara_viz.ComponentsView = NamedPages


@solara.component
def Page():
    """The app: each browser session gets its own player (a module-level model would be shared by all)."""
    model = solara.use_memo(SessionPlayer, [])
    solara.Style(CSS)
    SolaraViz(
        model,
        components=[(Player, 0), (Plots, 0), (WhatIf, 1), (Trainee, 2), (Info, 3)],
        model_params=MODEL_PARAMS,
        name="rupture-sim teaching: a session in 3RS terms",
        play_interval=400,
    )
