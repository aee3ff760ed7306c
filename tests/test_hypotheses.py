"""Interactions on common random numbers, verdicts by a rule written before the run, and the hypothesis reports."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from simulation.explore import compare, verdict
from simulation.explore.store import load_table
from simulation.run.outcomes import CATALOG, GROUP_OUTCOMES, RUN_OUTCOMES
from simulation.schema import InputError

ROOT = Path(__file__).resolve().parents[1]
HYPOTHESES = ROOT / "experiments" / "hypotheses"

SPEC = {
    "name": "tiny_interaction",
    "population": "adult_bpd",
    "n_patients": 40,
    "n_sessions": 10,
    "replications": 6,
    "seed": 7,
    "groups": "diagnosis",
    "outcomes": ["symptom_change", "dropout"],
    "contrasts": [["mild_off", "mild_on"], ["severe_off", "severe_on"]],
    "scenarios": {
        "mild_off": {"params": {"exploratory_repertoire": 0, "bpd_severity_mean": 0.55}},
        "mild_on": {"params": {"exploratory_repertoire": 1, "bpd_severity_mean": 0.55}},
        "severe_off": {"params": {"exploratory_repertoire": 0, "bpd_severity_mean": 0.9}},
        "severe_on": {"params": {"exploratory_repertoire": 1, "bpd_severity_mean": 0.9}},
    },
    "interactions": {"severity": {"contrast": ["severe_off", "severe_on"], "minus": ["mild_off", "mild_on"]}},
    "hypothesis": "The repertoire helps severe patients more.",
    "claims": [
        {"says": "more benefit when severe", "interaction": "severity", "outcome": "symptom_change", "expect": "lower"},
        {
            "says": "it helps the severe",
            "contrast": ["severe_off", "severe_on"],
            "outcome": "symptom_change",
            "expect": "lower",
            "smallest_effect": 0.01,
        },
    ],
}


def _load_run_py():
    spec = importlib.util.spec_from_file_location("hypotheses_run", HYPOTHESES / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["hypotheses_run"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("interaction") / "out"
    spec = compare.parse_compare(SPEC)
    result = compare.run_compare(spec, folder, quiet=True)
    return {"spec": spec, "result": result, "runs": load_table(folder, "runs"), "folder": folder}


# --- interactions ---------------------------------------------------------------------------------------------------


def test_paired_interaction_se_equals_a_brute_force_per_replication_computation(tiny: dict) -> None:
    runs = tiny["runs"]
    row = tiny["result"]["interactions"].set_index("outcome").loc["symptom_change"]
    per_replication = []
    for r in range(SPEC["replications"]):
        value = {
            s: runs[
                (runs.scenario == s) & (runs.replication == r) & (runs.streams == "common") & (runs.group == "all")
            ]["symptom_change"].item()
            for s in SPEC["scenarios"]
        }
        per_replication.append((value["severe_on"] - value["severe_off"]) - (value["mild_on"] - value["mild_off"]))
    d = np.array(per_replication)
    se = d.std(ddof=1) / np.sqrt(len(d))
    half = sps.t.ppf(0.975, len(d) - 1) * se
    assert row["difference"] == pytest.approx(d.mean(), abs=1e-12)
    assert row["se_crn"] == pytest.approx(se, rel=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
    # the two contrasts share seeds and patients: they correlate, and combining them as independent is wrong
    effects = tiny["result"]["effects"]
    se_a, se_b = (
        effects[(effects.scenario == alt) & (effects.outcome == "symptom_change") & (effects.group == "all")][
            "se_crn"
        ].item()
        for alt in ("severe_on", "mild_on")
    )
    assert row["se_as_unpaired"] == pytest.approx(np.hypot(se_a, se_b), rel=1e-9)
    # the paired SE is the unpaired one corrected for the correlation of the two contrasts (same seeds, patients)
    r = row["contrast_correlation"]
    assert row["se_crn"] ** 2 == pytest.approx(se_a**2 + se_b**2 - 2 * r * se_a * se_b, rel=1e-9)
    assert row["se_ratio_low"] <= row["se_ratio"] <= row["se_ratio_high"]


def test_group_contrasts_are_the_runs_of_each_diagnosis(tiny: dict) -> None:
    effects = tiny["result"]["effects"]
    assert set(effects["group"]) == {"all", "bpd"}  # adults with BPD: the other diagnoses have no patients
    runs = tiny["runs"]
    bpd = runs[(runs.group == "bpd") & (runs.streams == "common")].pivot(
        index="replication", columns="scenario", values="symptom_change"
    )
    row = effects[(effects.scenario == "severe_on") & (effects.outcome == "symptom_change") & (effects.group == "bpd")]
    assert row["difference"].item() == pytest.approx((bpd["severe_on"] - bpd["severe_off"]).mean(), abs=1e-12)


def test_the_summary_carries_the_verdict_and_says_what_its_intervals_are(tiny: dict) -> None:
    text = (tiny["folder"] / "summary.md").read_text()
    assert "Monte Carlo precision of the model's expected effect" in text
    assert "## Interactions" in text and "## Verdict" in text
    checked = verdict.recheck(text)
    assert len(checked) == 3 and all(printed == recomputed for printed, recomputed in checked)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interactions": {"x": {"contrast": ["mild_off", "nobody"], "minus": ["mild_off", "mild_on"]}}}, "nobody"),
        ({"interactions": {"x": {"contrast": ["mild_off", "mild_on"], "minus": ["mild_off", "mild_on"]}}}, "itself"),
        (
            {"interactions": {"severity": {"contrast": ["mild_on", "severe_on"], "minus": ["mild_off", "mild_on"]}}},
            "not a compared pair",
        ),
        ({"claims": [{"says": "s", "interaction": "nope", "outcome": "dropout", "expect": "lower"}]}, "interaction"),
        ({"claims": [{"says": "s", "interaction": "severity", "outcome": "dropout", "expect": "down"}]}, "expect"),
        ({"claims": [{"says": "s", "analysis": "share", "expect": "higher"}]}, "smallest_effect"),
        ({"groups": "therapist"}, "groups must be one of diagnosis"),
        (
            {
                "claims": [
                    {"says": "s", "contrast": ["mild_off", "mild_on", "x"], "outcome": "dropout", "expect": "lower"}
                ]
            },
            "group must be one of",
        ),
    ],
)
def test_bad_interactions_and_claims_are_one_sentence(change: dict, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        compare.parse_compare({**SPEC, **change})


# --- the verdict rule -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimate", "low", "high", "expect", "delta", "against", "expected"),
    [
        (-0.10, -0.12, -0.08, "lower", 0.05, 0.0, "supported"),
        (-0.04, -0.06, -0.02, "lower", 0.05, 0.0, "inconclusive"),  # real but may be smaller than what matters
        (-0.015, -0.02, -0.01, "lower", 0.05, 0.0, "contradicted"),  # real but below what matters
        (+0.07, +0.06, +0.08, "lower", 0.05, 0.0, "contradicted"),  # opposite sign
        (-0.06, -0.15, +0.03, "lower", 0.05, 0.0, "inconclusive"),  # spans 0
        (0.65, 0.55, 0.75, "higher", 0.1, 0.5, "supported"),
        (0.54, 0.32, 0.93, "higher", 0.1, 0.5, "inconclusive"),
        (0.30, 0.20, 0.40, "higher", 0.1, 0.5, "contradicted"),
    ],
)
def test_the_rule(estimate, low, high, expect, delta, against, expected) -> None:
    assert verdict.rule(estimate, low, high, expect, delta, against) == expected


def test_a_hypothesis_is_contradicted_by_any_claim_and_supported_by_all() -> None:
    assert verdict.overall(["supported", "supported"]) == "supported"
    assert verdict.overall(["supported", "inconclusive"]) == "inconclusive"
    assert verdict.overall(["supported", "contradicted", "inconclusive"]) == "contradicted"


def test_the_outcome_catalog_declares_every_outcome_once_with_unit_and_direction() -> None:
    assert set(GROUP_OUTCOMES) <= set(RUN_OUTCOMES) <= set(CATALOG)
    for name, info in CATALOG.items():
        assert info.name == name and info.unit and info.label and info.smallest_effect > 0
        assert info.direction in ("higher is better", "higher is worse")
        assert info.kind in ("per patient", "per group", "per episode")
        assert info.weighting in ("patients", "sessions", "episodes")
    from simulation.explore.model_function import BINARY, OUTCOMES
    from simulation.sweep.summary import OUTCOMES as SWEEP

    assert OUTCOMES == RUN_OUTCOMES and set(BINARY) == {"reliable_change", "recovery", "dropout"}
    assert all(SWEEP[name] is CATALOG[name] for name in SWEEP)


# --- (d): mediation adjusted for confounders ------------------------------------------------------------------------


def _confounded(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Skill -> depth -> symptom change, with severity driving both depth and symptom change (true share 60%)."""
    rng = np.random.default_rng(seed)
    therapist = np.repeat(np.arange(n // 8), 8)
    skill = rng.normal(0.6, 0.2, n // 8)[therapist]
    severity = rng.random(n)
    depth = 1.0 * skill - 1.5 * severity + rng.normal(0, 0.3, n)
    symptom = -0.3 * depth - 0.2 * skill + 1.0 * severity + rng.normal(0, 0.3, n)
    return pd.DataFrame(
        {
            "therapist_id": therapist,
            "skill": skill,
            "pd_severity": severity,
            "mean_resolution_stage": depth,
            "symptom_change": symptom,
        }
    )


def test_the_adjusted_mediated_share_moves_when_a_confounder_is_added() -> None:
    run = _load_run_py()
    data = _confounded()
    true_share = 0.3 * 1.0 / (0.3 * 1.0 + 0.2)
    unadjusted = run.mediation(data, (), boots=60)
    adjusted = run.mediation(data, ("pd_severity",), boots=60)
    # severity lowers depth and raises symptoms, so leaving it out inflates b and the share
    assert unadjusted["share"][0] > true_share + 0.2
    assert adjusted["share"][1] <= true_share <= adjusted["share"][2]
    total, direct, indirect, _ = run.mediation_estimate(data, ("pd_severity",))
    assert total == pytest.approx(direct + indirect, abs=1e-9)  # least squares with the same covariates


def test_on_simulated_courses_the_share_moves_with_each_adjustment() -> None:
    run = _load_run_py()
    data = run.mediation_courses(seed=5, n_patients=600)
    shares = [run.mediation_estimate(data, conf)[3] for conf in run.ADJUSTMENTS.values()]
    assert abs(shares[0] - shares[1]) > 0.05 and shares[1] != shares[2]


# --- the published reports ------------------------------------------------------------------------------------------

REPORTS = sorted(p for p in HYPOTHESES.glob("?_*.md"))


def test_there_is_a_report_for_every_spec_and_a_summary_of_their_verdicts() -> None:
    assert [p.stem for p in REPORTS] == [p.stem for p in sorted(HYPOTHESES.glob("?_*.toml"))]
    summary = (HYPOTHESES / "summary.md").read_text()
    for report in REPORTS:
        printed = re.search(r"^\*\*Verdict: (\w+)\*\*", report.read_text(), re.MULTILINE)
        assert f"({report.name}) | **{printed.group(1)}** |" in summary


@pytest.mark.parametrize("report", REPORTS, ids=[p.stem for p in REPORTS])
def test_each_report_verdict_follows_from_its_own_numbers(report: Path) -> None:
    checked = verdict.recheck(report.read_text())
    spec = compare.load_compare_spec(report.with_suffix(".toml"))
    assert len(checked) == len(spec.claims) + 1  # every claim of the spec, and the overall verdict
    for printed, recomputed in checked:
        assert printed == recomputed
    assert "Monte Carlo precision of the model's expected effect" in report.read_text()


def test_run_py_writes_to_its_out_folder_and_never_to_the_published_reports(tmp_path: Path) -> None:
    run = _load_run_py()
    published = {p: p.stat().st_mtime_ns for p in HYPOTHESES.rglob("*") if p.is_file()}
    assert run.main(["e", "--replications", "3", "--out", str(tmp_path)]) == 0
    report = tmp_path / "reports" / "e_withdrawal_vs_confrontation.md"
    assert report.exists() and (tmp_path / "reports" / "summary.md").exists()
    assert all(printed == recomputed for printed, recomputed in verdict.recheck(report.read_text()))
    assert "3 replications" in report.read_text()
    assert {p: p.stat().st_mtime_ns for p in HYPOTHESES.rglob("*") if p.is_file()} == published
    with pytest.raises(SystemExit):
        run.parse_args(["--publish", "--replications", "5"])
    with pytest.raises(SystemExit):
        run.parse_args(["z"])
