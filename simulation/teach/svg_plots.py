"""The app's live figures as inline SVG: a course (and its what-if), and the spread of a trainee's alternatives.

Drawn as SVG text rather than with matplotlib so a click answers at once (a few milliseconds
against about a second for a matplotlib PNG on a shared 2-core machine), stays sharp on a
projector, and carries its text alternative (``<title>``, ``<desc>``) inside the figure. The
original course is a solid line with circles, the what-if a dashed line with squares, so the two
differ in more than colour. The static page and the docs keep matplotlib (``course_plots``).
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from simulation.teach.course_plots import FORKED, ORIGINAL

#: Axis and label colour (contrast above 7:1 on white).
INK = "#222"
GRID = "#d9d9d9"


def _ticks(low: float, high: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values from ``low`` to ``high``."""
    raw = (high - low) / max(n, 1)
    step = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(s * step for s in (1, 2, 2.5, 5, 10) if s * step >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


class _Panel:
    """One plot area: data coordinates to SVG coordinates, axes, grid, title."""

    def __init__(self, x0: float, y0: float, width: float, height: float, xlim, ylim, font: float) -> None:
        self.x0, self.y0, self.w, self.h, self.xlim, self.ylim, self.font = x0, y0, width, height, xlim, ylim, font
        self.parts: list[str] = []

    def x(self, value: float) -> float:
        return self.x0 + (value - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * self.w

    def y(self, value: float) -> float:
        return self.y0 + self.h - (value - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * self.h

    def axes(self, title: str, xlabel: str, yticks, xticks, xfmt="{:g}", yfmt="{:g}") -> None:
        f, p = self.font, self.parts
        for v in yticks:
            p.append(f'<line x1="{self.x0:.1f}" x2="{self.x0 + self.w:.1f}" y1="{self.y(v):.1f}" y2="{self.y(v):.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
            p.append(f'<text x="{self.x0 - 4:.1f}" y="{self.y(v) + f * 0.35:.1f}" text-anchor="end" '
                     f'font-size="{f:.0f}">{yfmt.format(v)}</text>')  # fmt: skip
        for v in xticks:
            p.append(f'<text x="{self.x(v):.1f}" y="{self.y0 + self.h + f * 1.1:.1f}" text-anchor="middle" '
                     f'font-size="{f:.0f}">{xfmt.format(v)}</text>')  # fmt: skip
        p.append(f'<rect x="{self.x0:.1f}" y="{self.y0:.1f}" width="{self.w:.1f}" height="{self.h:.1f}" fill="none" '
                 f'stroke="{INK}" stroke-width="1"/>')  # fmt: skip
        p.append(f'<text x="{self.x0 + self.w / 2:.1f}" y="{self.y0 - f * 0.5:.1f}" text-anchor="middle" '
                 f'font-size="{f * 1.1:.0f}" font-weight="600">{html.escape(title)}</text>')  # fmt: skip
        if xlabel:
            p.append(f'<text x="{self.x0 + self.w / 2:.1f}" y="{self.y0 + self.h + f * 2.3:.1f}" text-anchor="middle" '
                     f'font-size="{f:.0f}">{html.escape(xlabel)}</text>')  # fmt: skip


def _svg(width: float, height: float, parts: list[str], title: str, desc: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" role="img" '
            f'aria-label="{html.escape(title)}" font-family="sans-serif" fill="{INK}" style="max-width:{width:.0f}px">'
            f"<title>{html.escape(title)}</title><desc>{html.escape(desc)}</desc>{''.join(parts)}</svg>")  # fmt: skip


def _line(panel: _Panel, xs, ys, colour: str, dashed: bool) -> None:
    points = " ".join(f"{panel.x(x):.1f},{panel.y(y):.1f}" for x, y in zip(xs, ys, strict=True))
    dash = ' stroke-dasharray="7 4"' if dashed else ""
    if len(xs) > 1:
        panel.parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
    for x, y in zip(xs, ys, strict=True):
        cx, cy = panel.x(x), panel.y(y)
        if dashed:
            panel.parts.append(f'<rect x="{cx - 3.5:.1f}" y="{cy - 3.5:.1f}" width="7" height="7" fill="{colour}"/>')
        else:
            panel.parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}"/>')


def course_svg(original: pd.DataFrame, forked: pd.DataFrame | None, n_sessions: int, stacked: bool = True,
               font: float = 13, desc: str = "") -> str:  # fmt: skip
    """Alliance, symptoms and rupture markers per session (the what-if dashed, in red), as SVG.

    Args:
        original: Session rows of the course (``Results.sessions`` columns) up to the cursor.
        forked: Session rows of the what-if, or None.
        n_sessions: Width of the session axis (the planned course).
        stacked: Panels one above the other (the player's column) instead of side by side.
        font: Label size in SVG units (the projector mode passes a larger one).
        desc: The figure's text alternative.
    """
    width_one, height_one = (300, 140) if stacked else (260, 170)
    left, top, gap = 5.2 * font, 2.6 * font, 4.4 * font
    courses = [("original", original, ORIGINAL, False)]
    if forked is not None:
        courses.append(("what-if", forked, FORKED, True))
    top_marker = max([4, *(int((c[1].n_withdrawal + c[1].n_confrontation).max()) for c in courses if len(c[1]))])
    specs = (("Alliance (latent, 0-1)", (0.0, 1.0), [0, 0.25, 0.5, 0.75, 1.0]),
             ("Symptoms (scale, 0-4)", (0.0, 4.0), [0, 1, 2, 3, 4]),
             ("Rupture markers per session", (0.0, top_marker * 1.15), _ticks(0, top_marker, 4)))  # fmt: skip
    xlim = (0.4, n_sessions + 0.6)
    every = max(1, math.ceil(n_sessions * 1.9 * font / width_one))  # labels of up to two digits never touch
    xticks = range(1, n_sessions + 1, every)
    parts: list[str] = []
    for i, (title, ylim, yticks) in enumerate(specs):
        x0 = left + (0 if stacked else i * (width_one + left))
        y0 = top + (i * (height_one + gap) if stacked else 0)
        panel = _Panel(x0, y0, width_one, height_one, xlim, ylim, font)
        panel.axes(title, "session", yticks, xticks, yfmt="{:g}")
        for k, (_, rows, colour, dashed) in enumerate(courses):
            if i < 2:
                _line(panel, list(rows.session), list(rows.alliance if i == 0 else rows.symptom), colour, dashed)
                continue
            bar = 0.8 / len(courses)
            for row in rows.itertuples(index=False):
                shift = (k - (len(courses) - 1) / 2) * bar
                xa, xb = panel.x(row.session + shift - bar / 2), panel.x(row.session + shift + bar / 2)
                total, unrepaired = row.n_withdrawal + row.n_confrontation, row.n_unrepaired
                for value, opacity in ((total, 0.3), (unrepaired, 1.0)):
                    hatch = ' stroke="#000" stroke-dasharray="3 2"' if dashed and opacity == 1.0 else ""
                    parts_y = panel.y(value)
                    panel.parts.append(f'<rect x="{xa:.1f}" y="{parts_y:.1f}" width="{xb - xa:.1f}" '
                                       f'height="{panel.y(0) - parts_y:.1f}" fill="{colour}" '
                                       f'fill-opacity="{opacity}"{hatch}/>')  # fmt: skip
        parts += panel.parts
    # the legend under the last panel
    y_legend = top + (3 * (height_one + gap) - gap if stacked else height_one) + 3.4 * font
    legend = [("original (solid, circles)", ORIGINAL, False)]
    if forked is not None:
        legend.append(("what-if (dashed, squares)", FORKED, True))
    x, y = left, y_legend
    for label, colour, dashed in legend:  # one under the other in the narrow column, side by side otherwise
        dash = ' stroke-dasharray="7 4"' if dashed else ""
        parts.append(f'<line x1="{x:.1f}" x2="{x + 28:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                     f'stroke-width="2.5"{dash}/><text x="{x + 34:.1f}" y="{y + font * 0.35:.1f}" '
                     f'font-size="{font:.0f}">{label}</text>')  # fmt: skip
        if stacked:
            y += 1.5 * font
        else:
            x += 34 + font * 0.62 * len(label) + 20
    y += 0 if stacked else 1.5 * font
    parts.append(f'<text x="{left:.1f}" y="{y:.1f}" font-size="{font * 0.9:.0f}">bars: light = '
                 f"markers, dark = left unrepaired</text>")  # fmt: skip
    width = left + (width_one if stacked else 3 * width_one + 2 * left) + font
    height = y + 0.8 * font
    return _svg(width, height, parts, "Alliance, symptoms and rupture markers per session", desc)


def spread_svg(spread: pd.DataFrame, chosen: str, horizon: int, font: float = 12, desc: str = "") -> str:
    """The consequences of every alternative over the paired futures, one row per alternative, as SVG.

    Panels: the alliance change to ``horizon`` sessions later (a dot per future, the median as a
    bar across, the middle half as a thick line), the share of futures with the episode resolved
    and with dropout, and the symptom change by the course's end (negative = fewer symptoms).
    """
    order = list(dict.fromkeys(spread.response))
    row_h, label_w = 1.9 * font, 15 * font
    top = 3.6 * font
    panels = (("alliance_change", f"Alliance change to {horizon} sessions later", 300),
              ("resolved", "Episode resolved", 110), ("dropped_out", "Dropped out", 110),
              ("symptom_change", "Symptom change by the end (- = fewer)", 300))  # fmt: skip
    height_panel = row_h * len(order)
    parts: list[str] = []
    x0 = label_w
    for y, name in enumerate(order):
        weight = ' font-weight="700"' if name == chosen else ""
        text = f"{name} (yours)" if name == chosen else name
        parts.append(f'<text x="{label_w - 8:.1f}" y="{top + (y + 0.5) * row_h + font * 0.35:.1f}" text-anchor="end" '
                     f'font-size="{font:.0f}"{weight}>{html.escape(text)}</text>')  # fmt: skip
    by_response = {name: own for name, own in spread.groupby("response", sort=False)}
    for column, title, width in panels:
        values = spread[column].astype(float)
        if column in ("resolved", "dropped_out"):
            xlim, ticks, fmt = (0.0, 1.0), [0, 0.5, 1], "{:.0%}"
        else:
            low, high = min(values.min(), 0.0), max(values.max(), 0.0)
            pad = (high - low) * 0.08 or 0.05
            xlim, fmt = (low - pad, high + pad), "{:+.2g}"
            ticks = [t for t in _ticks(low, high, 3) if xlim[0] <= t <= xlim[1]]
        panel = _Panel(x0, top, width, height_panel, xlim, (len(order), 0), font)
        for t in ticks:
            panel.parts.append(f'<line x1="{panel.x(t):.1f}" x2="{panel.x(t):.1f}" y1="{top:.1f}" '
                               f'y2="{top + height_panel:.1f}" stroke="{GRID if t else "#777"}"/>')  # fmt: skip
        panel.axes(title, "", [], ticks, xfmt=fmt)
        for y, name in enumerate(order):
            colour = FORKED if name == chosen else ORIGINAL
            own = by_response[name][column].to_numpy(dtype=float)
            cy = top + (y + 0.5) * row_h
            if column in ("resolved", "dropped_out"):
                share = own.mean()
                panel.parts.append(f'<rect x="{panel.x(0):.1f}" y="{cy - row_h * 0.3:.1f}" '
                                   f'width="{panel.x(share) - panel.x(0):.1f}" height="{row_h * 0.6:.1f}" '
                                   f'fill="{colour}" fill-opacity="0.85"/>')  # fmt: skip
                continue
            for k, v in enumerate(own):
                jitter = ((k * 7919) % 11 - 5) / 5 * row_h * 0.25
                panel.parts.append(f'<circle cx="{panel.x(v):.1f}" cy="{cy + jitter:.1f}" r="2.2" fill="{colour}" '
                                   f'fill-opacity="0.45"/>')  # fmt: skip
            q1, q2, q3 = np.quantile(own, [0.25, 0.5, 0.75])
            panel.parts.append(f'<line x1="{panel.x(q1):.1f}" x2="{panel.x(q3):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                               f'stroke="#000" stroke-width="3"/><line x1="{panel.x(q2):.1f}" x2="{panel.x(q2):.1f}" '
                               f'y1="{cy - row_h * 0.38:.1f}" y2="{cy + row_h * 0.38:.1f}" stroke="#000" '
                               f'stroke-width="3"/>')  # fmt: skip
        parts += panel.parts
        x0 += width + 2.2 * font
    n = spread.future.nunique()
    parts.append(f'<text x="{label_w:.1f}" y="{font * 1.1:.1f}" font-size="{font * 1.1:.0f}" font-weight="600">Every '
                 f"alternative in the same {n} futures (identical up to the marker, different after it); dots: "
                 f"futures, bar: median, thick line: middle half</text>")  # fmt: skip
    return _svg(x0, top + height_panel + 2.2 * font, parts, "The spread of consequences of every alternative", desc)
