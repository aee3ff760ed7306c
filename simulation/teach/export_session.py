"""A static page of one narrated course: transcript, figure and what-if, readable without Python.

The page is one HTML file with the figure embedded as a PNG (base64) and no
script or external resource, so it can be handed out and opened from disk.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from simulation.model.taxonomy import response_label
from simulation.run.forks import Fork
from simulation.teach.chapters import chapter, run_course
from simulation.teach.course_plots import course_figure, figure_png
from simulation.teach.narration import SUMMARY, Line, fork_start, narrate_course, side_by_side

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; margin-bottom: .2rem; }
.where { font-family: monospace; color: #555; } .summary { color: #1f4e79; } .report { color: #555; }
.same { color: #888; } img { max-width: 100%; } table { border-collapse: collapse; font-size: .85rem; }
td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: right; }
"""


def _transcript(lines: list[Line], muted_before: int = 0) -> str:
    """The transcript as HTML: one heading per session, one list item per line."""
    out, open_list = [], False
    for i, line in enumerate(lines):
        if line.kind == "session":
            out.append("</ul>" if open_list else "")
            out.append(f"<h3>{html.escape(line.text)}</h3><ul>")
            open_list = True
            continue
        css = line.kind if line.segment == SUMMARY else "event"
        css += " same" if i < muted_before else ""
        where = "" if line.segment == SUMMARY else f'<span class="where">[{line.where}]</span> '
        out.append(f'<li class="{css}">{where}{html.escape(line.text)}</li>')
    out.append("</ul>" if open_list else "")
    return "\n".join(out)


def session_page(name: str, n_sessions: int, seed: int, fork: Fork | None = None) -> str:
    """The HTML of the page for chapter ``name``."""
    ch = chapter(name)
    original, forked = run_course(name, n_sessions, seed, fork)
    lines = narrate_course(original.sessions, original.events)
    png = figure_png(course_figure(original.sessions, forked.sessions if forked is not None else None))
    alt = " ".join(line.text for line in lines if line.kind == "summary")
    parts = [
        f"<h1>{html.escape(ch.title)}</h1>",
        f"<p>Preset <code>{name}</code>: population {ch.population}, therapists {ch.therapists}, seed {seed}, "
        f"{n_sessions} sessions. Made with rupture-sim; every number is simulated, not observed.</p>",
        "<h2>Things to notice</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in ch.notice) + "</ul>",
        "<h2>Things to try</h2><ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in ch.try_) + "</ul>",
        f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">',
        "<h2>Transcript</h2>",
        _transcript(lines),
    ]
    if forked is not None:
        fork_lines = narrate_course(forked.sessions, forked.events)
        label = f"at [{fork.session}.{fork.segment}] the therapist {response_label(fork.response)}"
        parts += [
            f"<h2 id='what-if'>What if: {html.escape(label)}</h2>",
            "<p>Same patient, same random numbers. Grey lines are identical to the original.</p>",
            side_by_side(original.sessions, forked.sessions).round(2).to_html(),
            _transcript(fork_lines, fork_start(lines, fork_lines)),
        ]
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(ch.title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")  # fmt: skip


def export_session(path: str | Path, name: str, n_sessions: int, seed: int, fork: Fork | None = None) -> Path:
    """Write the page for chapter ``name`` to ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(session_page(name, n_sessions, seed, fork), encoding="utf-8")
    return path
