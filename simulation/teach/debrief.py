"""The debrief sheet of a trainee round: each marker, the answer and its rationale, what the model knew, the verdict.

As in decision-point training (ShadowBox-style), the trainee commits to an answer and a one-line
rationale at each marker, and afterwards compares it with what the model knew. The sheet is a
self-contained HTML page (inline style, no script, no external resource: it opens from disk or an
e-mail attachment) and the same rows as CSV for a spreadsheet.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

import pandas as pd

from simulation.teach.trainee import VERDICT_RULE, Answer

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45;
  color: #111; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
table { border-collapse: collapse; font-size: .9rem; width: 100%; }
td, th { border: 1px solid #bbb; padding: .35rem .5rem; vertical-align: top; text-align: left; }
th { background: #eef2f7; } .better { color: #1b5e20; font-weight: 600; } .worse { color: #b71c1c; font-weight: 600; }
.rule { color: #333; font-size: .9rem; }
@media print { body { margin: 0; } }
"""

#: The CSV's columns, in order.
COLUMNS = ("marker at", "marker as seen", "answer", "rationale", "what the model knew", "consequences", "verdict",
           "better futures", "worse futures", "equal futures", "sign test p")  # fmt: skip


def debrief_table(answers: Sequence[Answer]) -> pd.DataFrame:
    """One row per answer of the round (``COLUMNS``)."""
    rows = [(a.where, a.marker, a.answer, a.rationale, a.truth, a.consequences, a.verdict.word, a.verdict.better,
             a.verdict.worse, a.verdict.equal, round(a.verdict.p_value, 4)) for a in answers]  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def debrief_csv(answers: Sequence[Answer]) -> str:
    """The round as CSV text."""
    buffer = io.StringIO()
    debrief_table(answers).to_csv(buffer, index=False)
    return buffer.getvalue()


def debrief_html(answers: Sequence[Answer], title: str, setting: str, policy: pd.DataFrame | None = None) -> str:
    """The round as a self-contained HTML page.

    Args:
        answers: The round's answers, in the order given.
        title: The chapter's title.
        setting: The course in words (chapter, seed, sessions), so the round can be replayed.
        policy: The round's answers run as a policy (``trainee.policy_on_caseload``), if the trainee ran it.
    """
    rows = []
    for a in answers:
        css = a.verdict.word if a.verdict.word in ("better", "worse") else ""
        rationale = html.escape(a.rationale) if a.rationale else "<em>none given</em>"
        rows.append(f"<tr><td>[{a.where}]</td><td>{html.escape(a.marker)}</td><td>{html.escape(a.answer)}</td>"
                    f"<td>{rationale}</td><td>{html.escape(a.truth)}</td><td>{html.escape(a.consequences)}</td>"
                    f"<td class='{css}'>{html.escape(a.verdict.sentence)}</td></tr>")  # fmt: skip
    head = "".join(f"<th>{name}</th>" for name in ("Marker", "As you saw it", "Your answer", "Your rationale",
                                                    "What the model knew", "Consequences", "Verdict"))  # fmt: skip
    parts = [
        f"<h1>Debrief: {html.escape(title)}</h1>",
        f"<p>{html.escape(setting)}. Made with rupture-sim; every number is simulated, not observed.</p>",
        f"<p class='rule'><strong>The verdict rule.</strong> {html.escape(VERDICT_RULE)}</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]
    if policy is not None:
        parts += ["<h2>Your answers as a policy</h2>", policy.to_html(index=False, border=0)]
    parts += ["<h2>Questions for the debrief</h2><ul><li>Where did your rationale match what the model knew, and "
              "where not?</li><li>Which answers made no reliable difference, and why might that be?</li><li>Which of "
              "the model's assumptions (docs/MODEL.md) would you change after this round?</li></ul>"]  # fmt: skip
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Debrief: {html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")  # fmt: skip
