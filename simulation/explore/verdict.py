"""Verdicts by a rule written before the run: each claim of a hypothesis is supported, contradicted or inconclusive.

A hypothesis is a list of *claims*, declared in its spec (``[[claims]]``
tables of a comparison spec) before anything runs. A claim names an
estimate (a paired contrast, an interaction of two contrasts, or an analysis
an experiment script computes), the direction the hypothesis predicts
(``expect = "higher"`` or ``"lower"`` than ``against``, default 0) and the
smallest effect of interest on the estimate's scale (default: the outcome's,
``simulation.run.outcomes.CATALOG``).

The rule. With ``s = +1`` for "higher" and ``-1`` for "lower", let
``e = s * (estimate - against)`` and ``[l, u]`` the 95% interval turned the
same way (so that positive means "as predicted"), and ``delta`` the smallest
effect of interest:

- **supported**: ``l > 0`` and ``e >= delta`` (in the predicted direction, and as
  large as the smallest effect that matters);
- **contradicted**: ``u < delta`` (every value the interval allows is smaller than
  the smallest effect of interest in the predicted direction: opposite, or too
  small to matter);
- **inconclusive**: otherwise.

A hypothesis is contradicted when any of its claims is, supported when all
are, and inconclusive otherwise. The intervals here are Monte Carlo precision
of the model's expected effect (how well the replications pin down what the
model does), not the confidence interval of a study of that many patients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulation.explore.spec import ExploreSpecError
from simulation.run.outcomes import CATALOG
from simulation.schema import check_keys, is_number, show

VERDICTS = ("supported", "contradicted", "inconclusive")
EXPECT = ("higher", "lower")
#: What a CI is, said beside it.
PRECISION = "95% CI = Monte Carlo precision of the model's expected effect, not a study's CI"
CLAIM_KEYS = ("says", "contrast", "interaction", "analysis", "outcome", "expect", "against", "smallest_effect", "unit")


@dataclass(frozen=True)
class Claim:
    """One claim of a hypothesis (see the module docstring).

    Attributes:
        says: The claim in words.
        estimate: What it is about: ``("contrast", reference, alternative, group)``,
            ``("interaction", name)`` or ``("analysis", name)``.
        outcome: The outcome (a ``CATALOG`` name), or "" for an analysis on its own scale.
        expect: ``higher`` or ``lower`` than ``against``.
        smallest_effect: Smallest effect of interest, on the estimate's scale.
        against: The value the estimate is compared with.
        unit: The estimate's unit (the outcome's unless given).
    """

    says: str
    estimate: tuple[str, ...]
    outcome: str
    expect: str
    smallest_effect: float
    against: float = 0.0
    unit: str = ""


@dataclass(frozen=True)
class Judged:
    """A claim with its estimate, its 95% interval and its verdict."""

    claim: Claim
    estimate: float
    low: float
    high: float
    verdict: str


def rule(estimate: float, low: float, high: float, expect: str, smallest_effect: float, against: float = 0.0) -> str:
    """The verdict of one claim (see the module docstring)."""
    if not all(map(_finite, (estimate, low, high))):
        return "inconclusive"
    sign = 1.0 if expect == "higher" else -1.0
    e = sign * (estimate - against)
    lo, hi = sorted((sign * (low - against), sign * (high - against)))
    if lo > 0 and e >= smallest_effect:
        return "supported"
    if hi < smallest_effect:
        return "contradicted"
    return "inconclusive"


def overall(verdicts: Iterable[str]) -> str:
    """A hypothesis's verdict from its claims': contradicted if any is, supported if all are, else inconclusive."""
    verdicts = list(verdicts)
    if not verdicts:
        return "inconclusive"
    if "contradicted" in verdicts:
        return "contradicted"
    return "supported" if all(v == "supported" for v in verdicts) else "inconclusive"


def judge(claim: Claim, estimate: float, low: float, high: float) -> Judged:
    """Apply the rule to a claim's numbers."""
    return Judged(
        claim, estimate, low, high, rule(estimate, low, high, claim.expect, claim.smallest_effect, claim.against)
    )


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


# --- reading claims from a spec ----------------------------------------------------------------------------------


def parse_claims(value: Any, scenarios: Sequence[str], interactions: Sequence[str], groups: Sequence[str]) -> tuple:
    """The ``[[claims]]`` of a spec, checked against its scenarios, interactions and groups."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ExploreSpecError(f"claims must be a list of [[claims]] tables (got {show(value)}).")
    return tuple(_claim(f"claims[{i}]", v, scenarios, interactions, groups) for i, v in enumerate(value))


def _claim(
    where: str, table: Mapping[str, Any], scenarios: Sequence[str], interactions: Sequence[str], groups: Sequence[str]
) -> Claim:
    check_keys(where, table, CLAIM_KEYS, ExploreSpecError)
    kinds = [k for k in ("contrast", "interaction", "analysis") if k in table]
    if len(kinds) != 1:
        raise ExploreSpecError(
            f"{where} must name exactly one of contrast, interaction or analysis (got {len(kinds)})."
        )
    kind = kinds[0]
    if kind == "contrast":
        estimate = ("contrast", *side(f"{where}.contrast", table["contrast"], scenarios, groups))
    elif kind == "interaction":
        if table["interaction"] not in interactions:
            raise ExploreSpecError(
                f"{where}.interaction must be one of {', '.join(interactions) or '(no [interactions] declared)'} "
                f"(got {show(table['interaction'])})."
            )
        estimate = ("interaction", str(table["interaction"]))
    else:
        if not isinstance(table["analysis"], str) or not table["analysis"]:
            raise ExploreSpecError(f"{where}.analysis must be the name of an analysis (got {show(table['analysis'])}).")
        estimate = ("analysis", table["analysis"])
    outcome = table.get("outcome", "")
    if outcome not in CATALOG and not (kind == "analysis" and outcome == ""):
        raise ExploreSpecError(f"{where}.outcome must be one of {', '.join(CATALOG)} (got {show(outcome)}).")
    expect = table.get("expect")
    if expect not in EXPECT:
        raise ExploreSpecError(f"{where}.expect must be one of higher, lower (got {show(expect)}).")
    delta = table.get("smallest_effect", CATALOG[outcome].smallest_effect if outcome else None)
    if not is_number(delta) or not delta > 0:
        raise ExploreSpecError(f"{where}.smallest_effect must be a number above 0 (got {show(delta)}).")
    against = table.get("against", 0.0)
    if not is_number(against):
        raise ExploreSpecError(f"{where}.against must be a number (got {show(against)}).")
    says = table.get("says")
    if not isinstance(says, str) or not says:
        raise ExploreSpecError(f"{where}.says must be the claim in words (got {show(says)}).")
    unit = str(table.get("unit", CATALOG[outcome].unit if outcome else ""))
    return Claim(says, estimate, outcome, expect, float(delta), float(against), unit)


def side(where: str, value: Any, scenarios: Sequence[str], groups: Sequence[str]) -> tuple[str, str, str]:
    """A contrast ``[reference, alternative]`` or ``[reference, alternative, group]`` (group ``all`` if absent)."""
    if not isinstance(value, list) or len(value) not in (2, 3) or not all(isinstance(v, str) for v in value):
        raise ExploreSpecError(
            f"{where} must be [reference, alternative] or [reference, alternative, group] (got {show(value)})."
        )
    reference, alternative = value[0], value[1]
    group = value[2] if len(value) == 3 else "all"
    for name in (reference, alternative):
        if name not in scenarios:
            raise ExploreSpecError(f"{where} names '{name}'; scenarios are {', '.join(scenarios)}.")
    if reference == alternative:
        raise ExploreSpecError(f"{where} compares '{reference}' with itself; name two scenarios.")
    if group not in ("all", *groups):
        allowed = ", ".join(("all", *groups)) if groups else 'all (set groups = "diagnosis" for more)'
        raise ExploreSpecError(f"{where}: group must be one of {allowed} (got {show(group)}).")
    return reference, alternative, group


# --- writing and reading verdict lines ----------------------------------------------------------------------------

#: A claim line as ``claim_line`` writes it (what the report tests parse).
LINE = re.compile(
    r"^- \*\*(?P<verdict>supported|contradicted|inconclusive)\*\*: .*?: "
    r"(?P<estimate>[+-]\d+\.\d+) \[(?P<low>[+-]\d+\.\d+), (?P<high>[+-]\d+\.\d+)\].*?"
    r"predicted (?P<expect>higher|lower) than (?P<against>[+-]?\d+(?:\.\d+)?), "
    r"smallest effect of interest (?P<delta>\d+(?:\.\d+)?)"
)
OVERALL = re.compile(r"^\*\*Verdict: (?P<verdict>supported|contradicted|inconclusive)\*\*")


def claim_line(judged: Judged, what: str) -> str:
    """One parseable line: verdict, claim, estimate with its interval, prediction and threshold."""
    c = judged.claim
    unit = f" ({c.unit})" if c.unit else ""
    return (
        f"- **{judged.verdict}**: {c.says} — {what}: {judged.estimate:+.4f} [{judged.low:+.4f}, {judged.high:+.4f}]"
        f"{unit}; predicted {c.expect} than {c.against:g}, smallest effect of interest {c.smallest_effect:g}."
    )


def verdict_lines(judged: Sequence[Judged], whats: Sequence[str], hypothesis: str = "") -> list[str]:
    """The verdict section of a report: the overall verdict, the rule, one line per claim."""
    lines = [
        f"**Verdict: {overall(j.verdict for j in judged)}** (rule written in the spec before the run: a claim is "
        "supported when its 95% CI excludes 0 on the predicted side and the estimate reaches the smallest effect "
        "of interest, contradicted when the whole CI lies below the smallest effect of interest in the predicted "
        "direction, inconclusive otherwise; the hypothesis is contradicted if any claim is, supported if all are).",
        "",
    ]
    if hypothesis:
        lines[0:0] = [f"**Hypothesis.** {hypothesis}", ""]
    lines += [claim_line(j, w) for j, w in zip(judged, whats, strict=True)]
    return [*lines, "", f"({PRECISION}.)"]


def recheck(text: str) -> list[tuple[str, str]]:
    """(printed, recomputed) verdict of every claim line and of the overall line of a report's text."""
    out, claims = [], []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            recomputed = rule(
                float(m["estimate"]),
                float(m["low"]),
                float(m["high"]),
                m["expect"],
                float(m["delta"]),
                float(m["against"]),
            )
            out.append((m["verdict"], recomputed))
            claims.append(recomputed)
    for line in text.splitlines():
        m = OVERALL.match(line)
        if m:
            out.append((m["verdict"], overall(claims)))
    return out
