"""Virtual studies: the designs of the published studies (T1-T14), run on the model.

Each study reproduces a published design — sample size, diagnosis mix, course
length, the sessions that were coded and who reports — and computes the same
statistic the paper reports. A study is a function
``(replication_seed, size_factor, params) -> {statistic: value}``:

- ``replication_seed`` is the seed of every cohort of the replication; the
  groups and arms of a study get disjoint patient ids (``cohorts.Sample``), and
  replications differ by seed, so replications are independent;
- ``size_factor`` scales every sample size (1 = the published design);
- ``params`` are candidate parameter values (the defaults if omitted); the
  design (diagnosis mix, presets, caseload, AFT schedule) is applied on top.

With the same seed and parameters a study returns the same numbers (common
random numbers across candidate parameter sets). Where a paper's design is not
fully known, the choice made here is written in the study's ``design`` text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from simulation.validation.cohorts import NO_PD, PD, Cohort, Sample, design_parameters, pd_shares, scaled
from simulation.validation.stats import (
    hedges_g,
    mean_difference,
    one_way_anova_f,
    pearson_r,
    pool_correlations,
    prepost_d,
    r_from_f,
    residual_gain,
)

Stats = dict[str, float]
StudyFunction = Callable[[int, float, Mapping[str, float] | None], Stats]


@dataclass(frozen=True)
class Study:
    """A virtual study.

    Attributes:
        name: Short name (also used to derive the replication seeds).
        targets: Target ids it serves.
        design: The design as simulated, including the choices made where the paper is not specific.
        run: The study function ``(replication_seed, size_factor, params) -> statistics``.
    """

    name: str
    targets: tuple[str, ...]
    design: str
    run: StudyFunction


def _base(params: Mapping[str, float] | None) -> dict[str, float]:
    return dict(params or {})


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else math.nan


# --- T1, T2: observer 3RS coding in adolescents with BPD (Schenk et al. 2019) ---------------------------


def adolescent_bpd_3rs(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T1, T2: 10 adolescents with BPD x 19 sessions, every session 3RS-coded by an observer."""
    sample = Sample(seed)
    p = design_parameters(_base(params), population="adolescent_bpd")
    c = sample.cohort(p, scaled(10, size_factor, 2), 19)
    nw, nc = c.s("n_withdrawal"), c.s("n_confrontation")
    sal_w = _ratio((c.s("salience_withdrawal") * nw).sum(), nw.sum())
    sal_c = _ratio((c.s("salience_confrontation") * nc).sum(), nc.sum())
    return {
        "pct_sessions_rupture": 100.0 * float(c.s("rupture_observed").mean()),
        "sessions_coded": float(len(nw)),
        "withdrawal_minus_confrontation": float((nw.sum() - nc.sum()) / len(nw)),
        "pct_withdrawal": 100.0 * _ratio(nw.sum(), nw.sum() + nc.sum()),
        "salience_gap": sal_c - sal_w,
    }


def _pd_and_non_pd(
    seed: int,
    params: Mapping[str, float] | None,
    sizes: tuple[int, int],
    n_sessions: int,
    size_factor: float,
    minimum: int,
) -> tuple[Cohort, Cohort]:
    """A PD group and a non-PD group of a comparison study (in that order, with their own patient ids)."""
    sample = Sample(seed)
    base = _base(params)
    pd_group = sample.cohort(design_parameters(base, **PD), scaled(sizes[0], size_factor, minimum), n_sessions)
    no_group = sample.cohort(design_parameters(base, **NO_PD), scaled(sizes[1], size_factor, minimum), n_sessions)
    return pd_group, no_group


# --- T3: patient-rated rupture intensity, PD vs non-PD --------------------------------------------------


def intensity_pd_vs_non_pd(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T3: 38 PD + 37 non-PD patients, 20 sessions, one-way ANOVA of mean PSQ intensity.

    The PSQ asks how intense the rupture was that the patient reports, so a
    patient's mean is over the sessions in which they reported one (patients
    who never reported a rupture have no rating and are left out).
    """
    pd_group, no_group = _pd_and_non_pd(seed, params, (38, 37), 20, size_factor, 3)
    m_pd = _rated_intensity(pd_group)
    m_no = _rated_intensity(no_group)
    f, _, df_within = one_way_anova_f([m_pd, m_no])
    sign = 1.0 if m_pd.mean() >= m_no.mean() else -1.0
    return {
        "r_signed": sign * r_from_f(f, df_within),
        "F": f,
        "mean_pd": float(m_pd.mean()),
        "mean_no_pd": float(m_no.mean()),
    }


def _rated_intensity(c: Cohort) -> np.ndarray:
    """Each patient's mean PSQ intensity over the sessions with a reported rupture (raters only)."""
    means = c.per_patient_mean(c.s("patient_rupture_intensity"), c.s("patient_rupture_reported") > 0)
    return means[np.isfinite(means)]


# --- T4, T5: CIS-R and SASB-like codes, PD vs non-PD ------------------------------------------------------


def _coded_means(c: Cohort, values: np.ndarray, sessions: tuple[int, int]) -> np.ndarray:
    """Per-patient mean of a per-session quantity over the coded sessions (NaN if none attended)."""
    session = c.s("session")
    return c.per_patient_mean(values, (session >= sessions[0]) & (session <= sessions[1]))


def _group_difference(
    a: Cohort, b: Cohort, name: str, sessions: tuple[int, int], value: Callable[[Cohort], np.ndarray] | None = None
) -> float:
    """Group a minus group b in the mean per coded session of a session column (or of ``value(cohort)``)."""
    va = value(a) if value else a.s(name)
    vb = value(b) if value else b.s(name)
    ma, mb = _coded_means(a, va, sessions), _coded_means(b, vb, sessions)
    return mean_difference(ma[np.isfinite(ma)], mb[np.isfinite(mb)])


def _markers(c: Cohort) -> np.ndarray:
    return c.s("n_withdrawal") + c.s("n_confrontation")


def cisr_pd_vs_non_pd(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T4: 15 PD + 15 non-PD patients, sessions 3 and 4 coded (CIS-R counts per session)."""
    pd_group, no_group = _pd_and_non_pd(seed, params, (15, 15), 4, size_factor, 2)
    coded = (3, 4)
    return {
        "diff_ruptures": _group_difference(pd_group, no_group, "markers", coded, value=_markers),
        "diff_collaborative": _group_difference(pd_group, no_group, "collaborative", coded),
        "diff_negative": _group_difference(pd_group, no_group, "therapist_negative", coded),
        "diff_positive": _group_difference(pd_group, no_group, "therapist_positive", coded),
    }


def sasb_pd_vs_non_pd(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T5: 30 PD + 30 non-PD dyads, sessions 1-6 coded (SASB-like therapist codes per session)."""
    pd_group, no_group = _pd_and_non_pd(seed, params, (30, 30), 6, size_factor, 2)
    coded = (1, 6)
    return {
        f"diff_{code}": _group_difference(pd_group, no_group, f"therapist_{code}", coded)
        for code in ("hostile", "unclear", "supportive", "expressive")
    }


# --- T6: resolution complexity (Gersh et al. 2017; Boritz et al. 2018) -----------------------------------


def youth_bpd_two_arms(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T6 (Gersh et al. 2017): 44 youth with BPD, 16 sessions, CAT (full repertoire) vs befriending (immediate only)."""
    sample = Sample(seed)
    base = _base(params)
    n = scaled(22, size_factor, 3)
    cat = sample.cohort(design_parameters(base, population="adolescent_bpd"), n, 16)
    bef = sample.cohort(design_parameters(base, population="adolescent_bpd", therapists="immediate_only"), n, 16)
    rate_cat = cat.n_markers / np.maximum(cat.attended, 1)
    rate_bef = bef.n_markers / np.maximum(bef.attended, 1)
    stage_cat, stage_bef = cat.mean_resolution_stage, bef.mean_resolution_stage
    stage = np.concatenate([stage_cat, stage_bef])
    change = np.concatenate([cat.symptom_change, bef.symptom_change])
    has_episode = np.isfinite(stage)
    return {
        "rupture_rate_diff": mean_difference(rate_cat, rate_bef),
        "stage_diff": mean_difference(stage_cat[np.isfinite(stage_cat)], stage_bef[np.isfinite(stage_bef)]),
        "r_complexity_change": pearson_r(stage[has_episode], change[has_episode]),
        "mean_stage_cat": float(np.nanmean(stage_cat)) if np.isfinite(stage_cat).any() else math.nan,
    }


def bpd_recovered_vs_unrecovered(
    seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None
) -> Stats:
    """T6 (Boritz et al. 2018): adults with BPD, 48 sessions; 3 recovered vs 3 unrecovered clients compared."""
    sample = Sample(seed)
    c = sample.cohort(design_parameters(_base(params), population="adult_bpd"), scaled(40, size_factor, 6), 48)
    per_session = c.n_withdrawal / np.maximum(c.attended, 1)
    recovered = np.flatnonzero(c.recovered)[:3]
    unrecovered = np.flatnonzero(~c.recovered)[:3]
    return {
        "withdrawal_diff": mean_difference(per_session[unrecovered], per_session[recovered]),
        "n_recovered_cases": float(len(recovered)),
        "pct_recovered": 100.0 * float(c.recovered.mean()),
    }


# --- T7: meta-analysis of resolution and outcome (Eubanks et al. 2018) ------------------------------------

#: Sizes of the 11 virtual studies of the rupture-resolution meta-analysis (sum 1,314, as published).
META_RESOLUTION_SIZES = (25, 40, 52, 64, 80, 96, 110, 130, 160, 220, 337)
#: Sizes (trainees) of the 6 virtual training studies (sum 276, as published).
META_TRAINING_SIZES = (24, 32, 40, 48, 60, 72)


def _patient_resolution(c: Cohort) -> np.ndarray:
    """Mean PSQ resolution rating over the sessions with a patient-reported rupture (NaN if none)."""
    return c.per_patient_mean(c.s("patient_resolution"), c.s("patient_rupture_reported") > 0)


def resolution_outcome_meta(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T7: 11 studies (N = 1,314), varied PD share and length, resolution index vs improvement, pooled."""
    sample = Sample(seed)
    rng = np.random.default_rng(seed)
    base = _base(params)
    rs, rs_residual, ns = [], [], []
    for i, size in enumerate(META_RESOLUTION_SIZES):
        pd_share = float(rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]))
        n_sessions = int(rng.choice([16, 20, 30]))
        c = sample.cohort(design_parameters(base, **pd_shares(pd_share)), scaled(size, size_factor, 5), n_sessions)
        if i % 2 == 0:  # patient-rated resolution (post-session questionnaire)
            index = _patient_resolution(c)
        else:  # observer-rated: share of coded markers whose episode ended resolved
            with np.errstate(invalid="ignore", divide="ignore"):
                index = np.where(c.n_markers > 0, c.n_resolved / np.maximum(c.n_markers, 1), np.nan)
        ok = np.isfinite(index)
        rs.append(pearson_r(index[ok], c.improvement[ok]))
        rs_residual.append(pearson_r(index[ok], residual_gain(c.symptom_pre, c.symptom_post)[ok]))
        ns.append(int(ok.sum()))
    pooled = pool_correlations(rs, ns)
    return {
        "pooled_r": pooled.r,
        "ci_low": pooled.ci_low,
        "ci_high": pooled.ci_high,
        "tau2": pooled.tau2,
        "pooled_r_residual_gain": pool_correlations(rs_residual, ns).r,
    }


# --- T8: training meta-analysis (Eubanks et al. 2018) ------------------------------------------------------


def _per_therapist(c: Cohort, values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``values`` per therapist (in therapist order) divided by the sum of ``weights`` (default: patients)."""
    rows = c.therapist_id - c.therapist_id.min()
    total = np.bincount(rows, weights=values)
    count = np.bincount(rows, weights=weights) if weights is not None else np.bincount(rows).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


def training_meta(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T8: 6 studies, 276 trainees (2 patients each), half AFT-trained, training vs outcome r pooled."""
    sample = Sample(seed)
    p = design_parameters(_base(params), **pd_shares(0.5), caseload=2, aft_start_session=0)
    r_out, r_proc, ns = [], [], []
    for size in META_TRAINING_SIZES:
        k = scaled(size, size_factor, 4)
        trained = (np.arange(k) % 2 == 0).astype(float)
        c = sample.cohort(p, 2 * k, 20, aft_start=trained)  # AFT from session 1 for trained trainees
        outcome = _per_therapist(c, c.improvement)
        process = _per_therapist(c, c.n_resolved, weights=c.n_markers)
        r_out.append(pearson_r(trained, outcome))
        ok = np.isfinite(process)
        r_proc.append(pearson_r(trained[ok], process[ok]))
        ns.append(k)
    outcome_pooled = pool_correlations(r_out, ns)
    process_pooled = pool_correlations(r_proc, ns)
    return {
        "pooled_r": outcome_pooled.r,
        "ci_low": outcome_pooled.ci_low,
        "ci_high": outcome_pooled.ci_high,
        "process_r": process_pooled.r,
    }


# --- T9: multiple-baseline AFT study (Safran et al. 2014; Muran et al. 2018) ------------------------------


def aft_multiple_baseline(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T9: 16 therapists x 3 patients, 30 sessions, AFT from session 8 (half) or 16 (half); multiple baseline."""
    sample = Sample(seed)
    p = design_parameters(_base(params), **pd_shares(1.0, bpd_part=0.3), caseload=3, aft_start_session=0)
    k = scaled(16, size_factor, 2)
    start = np.where(np.arange(k) % 2 == 0, 8.0, 16.0)
    c = sample.cohort(p, 3 * k, 30, aft_start=start)
    session = c.s("session")
    early = start[(c.s("therapist_id").astype(np.int64) - c.therapist_id.min())] == 8.0
    windows = ((1, 7), (8, 15), (16, 30))

    def did(num: np.ndarray, den: np.ndarray | None = None) -> float:
        """Mean of the two multiple-baseline contrasts: each switch against the group that did not switch."""

        def level(group: np.ndarray, window: tuple[int, int]) -> float:
            m = group & (session >= window[0]) & (session <= window[1])
            d = den[m].sum() if den is not None else m.sum()
            return _ratio(num[m].sum(), d)

        a, b, w = windows
        first = (level(early, b) - level(early, a)) - (level(~early, b) - level(~early, a))
        second = (level(~early, w) - level(~early, b)) - (level(early, w) - level(early, b))
        return 0.5 * (first + second)

    noticed, missed = c.s("n_noticed"), c.s("n_missed")
    return {
        "effect_collaborative": did(c.s("collaborative")),
        "effect_supportive": did(c.s("therapist_supportive")),
        "effect_hostile": did(c.s("therapist_hostile")),
        "effect_noticed_share": did(noticed, noticed + missed),
    }


# --- T10: alliance and outcome (Flückiger et al. 2018) ----------------------------------------------------


def alliance_outcome(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T10: 1,000 outpatients (half PD), 30 sessions, early patient-rated WAI-SR vs improvement."""
    sample = Sample(seed)
    c = sample.cohort(design_parameters(_base(params), **pd_shares(0.5)), scaled(1000, size_factor, 10), 30)
    wai_early = c.per_patient_mean(c.s("wai_patient"), c.s("session") <= 3)
    latent_early = c.per_patient_mean(c.s("alliance"), c.s("session") <= 3)
    return {
        "r_wai_early": pearson_r(wai_early, c.improvement),
        "r_latent_early": pearson_r(latent_early, c.improvement),
        "r_wai_early_residual_gain": pearson_r(wai_early, residual_gain(c.symptom_pre, c.symptom_post)),
    }


# --- T11: dropout (Iliakis et al. 2021) --------------------------------------------------------------------


def bpd_dropout(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T11: 100 adults with BPD, 48 weekly sessions (about 12 months) of outpatient therapy."""
    sample = Sample(seed)
    p = design_parameters(_base(params), population="adult_bpd")
    c = sample.cohort(p, scaled(100, size_factor, 5), 48, keep_sessions=False)
    return {"pct_dropout": 100.0 * float(c.dropped_out.mean()), "mean_sessions": float(c.attended.mean())}


# --- T12: specialised therapy vs usual care (Storebø et al. 2020) -----------------------------------------


def bpd_rct(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T12: 60 + 60 adults with BPD, 48 sessions; AFT-trained therapists vs usual care by general clinicians.

    Usual care in the trials is treatment as usual by experienced clinicians
    without the specialised training: here experienced therapists who use
    immediate strategies only (preset ``immediate_only``).
    """
    sample = Sample(seed)
    base = _base(params)
    n = scaled(60, size_factor, 3)
    spec = sample.cohort(design_parameters(base, "adult_bpd", "aft_trained"), n, 48, keep_sessions=False)
    usual = sample.cohort(design_parameters(base, "adult_bpd", "immediate_only"), n, 48, keep_sessions=False)
    return {
        "smd": hedges_g(spec.symptom_post, usual.symptom_post),
        "prepost_d": prepost_d(spec.symptom_pre, spec.symptom_post),
        "pct_not_improved": 100.0 * (1.0 - float(spec.reliably_improved.mean())),
        "prepost_d_usual": prepost_d(usual.symptom_pre, usual.symptom_post),
    }


# --- T13: patient vs therapist reports, resolution and retention (Muran et al. 2009) ---------------------


def psq_early_sessions(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T13: 128 PD patients (a quarter BPD), 30 sessions, post-session questionnaires after sessions 1-6."""
    sample = Sample(seed)
    p = design_parameters(_base(params), **pd_shares(1.0, bpd_part=0.25))
    c = sample.cohort(p, scaled(128, size_factor, 5), 30)
    early = c.s("session") <= 6
    reported = c.s("patient_rupture_reported") > 0
    resolution = c.per_patient_mean(c.s("patient_resolution"), early & reported)
    ok = np.isfinite(resolution)
    patient_rate = c.s("patient_rupture_reported")[early].mean()
    therapist_rate = c.s("therapist_rupture_reported")[early].mean()
    return {
        "report_gap": 100.0 * float(patient_rate - therapist_rate),
        "r_resolution_dropout": pearson_r(resolution[ok], c.dropped_out[ok].astype(float)),
        "pct_dropout": 100.0 * float(c.dropped_out.mean()),
    }


# --- T14: a single severe case (Dotta et al. 2020) ------------------------------------------------------------


def severe_bpd_case(seed: int, size_factor: float = 1.0, params: Mapping[str, float] | None = None) -> Stats:
    """T14: one high-severity BPD dyad (severity about 0.9), 15 sessions, every marker coded."""
    sample = Sample(seed)
    p = design_parameters(_base(params), population="adult_bpd", bpd_severity_mean=0.9, severity_sd=0.05)
    c = sample.cohort(p, scaled(1, size_factor, 1), 15)
    nw, nc = c.s("n_withdrawal").sum(), c.s("n_confrontation").sum()
    return {
        "markers_per_session": float((nw + nc) / len(c.s("session"))),
        "pct_withdrawal": 100.0 * _ratio(nw, nw + nc),
    }


STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study(
            "adolescent_bpd_3rs",
            ("T1", "T2"),
            "10 adolescents with BPD (preset adolescent_bpd), experienced therapists, courses of 19 sessions "
            "(about 187 coded sessions); every attended session 3RS-coded by an observer (Schenk et al. 2019).",
            adolescent_bpd_3rs,
        ),
        Study(
            "intensity_pd_vs_non_pd",
            ("T3",),
            "38 PD (half BPD, half other PD) + 37 non-PD patients, 20 sessions; per patient the mean PSQ "
            "intensity over attended sessions (1 = none); one-way ANOVA, r = sqrt(F / (F + df)), signed by the "
            "direction of the difference (course length and group sizes: assumption).",
            intensity_pd_vs_non_pd,
        ),
        Study(
            "cisr_pd_vs_non_pd",
            ("T4",),
            "15 PD (half BPD, half other PD) + 15 non-PD patients; sessions 3 and 4 coded (early in the course); "
            "the three CIS-R segments are summed to the session (the model's 5-minute segments aggregated); "
            "per patient mean per session, PD minus non-PD (Colli et al. 2019).",
            cisr_pd_vs_non_pd,
        ),
        Study(
            "sasb_pd_vs_non_pd",
            ("T5",),
            "30 PD (half BPD, half other PD) + 30 non-PD dyads, sessions 1-6 coded with the SASB-like therapist "
            "codes; per patient mean per session, PD minus non-PD (sizes and sessions: assumption).",
            sasb_pd_vs_non_pd,
        ),
        Study(
            "youth_bpd_two_arms",
            ("T6",),
            "44 youth with BPD (preset adolescent_bpd) randomised 22/22 to 16 sessions of CAT (experienced, "
            "full repertoire) or befriending (preset immediate_only) (Gersh et al. 2017); complexity = "
            "mean_resolution_stage; r with symptom change over both arms, patients with an episode.",
            youth_bpd_two_arms,
        ),
        Study(
            "bpd_recovered_vs_unrecovered",
            ("T6",),
            "40 adults with BPD (preset adult_bpd), 48 sessions (one year of DBT); the first 3 recovered "
            "(Jacobson-Truax) and the first 3 unrecovered clients compared on withdrawal markers per session "
            "(Boritz et al. 2018).",
            bpd_recovered_vs_unrecovered,
        ),
        Study(
            "resolution_outcome_meta",
            ("T7",),
            "11 virtual studies of sizes 25-337 (N = 1,314), PD share 0/25/50/75/100% and course length "
            "16/20/30 drawn per study; resolution index alternately the patient's mean PSQ resolution rating and "
            "the observer share of markers resolved; r with improvement (pre - post, last observation); "
            "DerSimonian-Laird on Fisher z (Eubanks et al. 2018).",
            resolution_outcome_meta,
        ),
        Study(
            "training_meta",
            ("T8",),
            "6 virtual training studies of 24-72 trainees (276 in all), each trainee a therapist (skill from "
            "the parameters) with 2 patients of a half-PD caseload over 20 sessions; every other trainee "
            "AFT-trained from session 1; per study r between training (0/1) and the trainee's mean patient "
            "improvement (and the share of markers resolved, the process), pooled by random effects.",
            training_meta,
        ),
        Study(
            "aft_multiple_baseline",
            ("T9",),
            "16 therapists x 3 PD patients (30% BPD), 30 sessions; AFT from session 8 (8 therapists) or 16 "
            "(8 therapists); the effect is the mean of the two multiple-baseline contrasts (each switch against "
            "the group that did not switch in the same sessions: 1-7 vs 8-15, 8-15 vs 16-30) "
            "(Safran et al. 2014; Muran et al. 2018).",
            aft_multiple_baseline,
        ),
        Study(
            "alliance_outcome",
            ("T10",),
            "1,000 outpatients (half PD), 30 sessions; mean patient WAI-SR of sessions 1-3 vs improvement "
            "(pre - post, last observation) (Flückiger et al. 2018).",
            alliance_outcome,
        ),
        Study(
            "bpd_dropout",
            ("T11",),
            "100 adults with BPD (preset adult_bpd), experienced therapists, 48 weekly sessions (Iliakis et al. 2021).",
            bpd_dropout,
        ),
        Study(
            "bpd_rct",
            ("T12",),
            "60 + 60 adults with BPD, 48 sessions; specialised = experienced therapists with the full repertoire "
            "and AFT from session 1 (preset aft_trained), usual care = experienced general clinicians with immediate "
            "strategies only (preset immediate_only); Hedges g of the end-of-"
            "treatment score (last observation), within-group pre-post d and % not reliably improved "
            "(Jacobson-Truax) in the specialised arm (Storebø et al. 2020).",
            bpd_rct,
        ),
        Study(
            "psq_early_sessions",
            ("T13",),
            "128 PD patients (25% BPD, 75% other PD), 30 sessions; patient and therapist PSQ after sessions 1-6; "
            "point-biserial r of dropout on the patient's mean resolution rating (patients who reported a "
            "rupture in sessions 1-6) (Muran et al. 2009).",
            psq_early_sessions,
        ),
        Study(
            "severe_bpd_case",
            ("T14",),
            "one BPD dyad of severity about 0.9 (bpd_severity_mean 0.9, severity_sd 0.05), experienced "
            "therapist, 15 sessions, every observer-coded marker counted (Dotta et al. 2020).",
            severe_bpd_case,
        ),
    )
}
