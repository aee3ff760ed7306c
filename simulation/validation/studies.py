"""Virtual studies: the designs of the published studies (T1-T17), run on the model.

Each study reproduces a published design — sample size, diagnosis mix, course
length, the sessions that were coded and who reports — and computes the same
statistic the paper reports. The design numbers are not written here: each study
reads them from its experiment file (``designs``: one TOML file per study in
``simulation/validation/designs/``). A study is a function
``(replication_seed, size_factor, params, design) -> {statistic: value}``:

- ``replication_seed`` is the seed of every cohort of the replication; the
  groups and arms of a study get disjoint patient ids (``cohorts.Sample``), and
  replications differ by seed, so replications are independent;
- ``size_factor`` scales every sample size (1 = the design as declared);
- ``params`` are candidate parameter values (the defaults if omitted); the
  design (diagnosis mix, presets, caseload, AFT schedule) is applied on top;
- ``design`` is the [design] table of the study's file (``Design.values``; the
  shipped file if omitted), e.g. an edited copy with a larger sample.

With the same seed, parameters and design a study returns the same numbers
(common random numbers across candidate parameter sets). Where a paper's design
is not fully known, the choice made is written in the file's ``description``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.run import outcomes
from simulation.validation.cohorts import Cohort, Sample, design_parameters, pd_shares, scaled
from simulation.validation.designs import Design, DesignError, shipped_designs
from simulation.validation.stats import (
    Z95,
    cumulative_incidence,
    first_session,
    hedges_g,
    mean_difference,
    one_way_anova_f,
    part_hazards,
    patient_slopes,
    pearson_r,
    pool_correlations,
    prepost_d,
    r_from_f,
    residual_gain,
)

Stats = dict[str, float]
Params = Mapping[str, float] | None
DesignValues = Mapping[str, Any] | None
StudyFunction = Callable[[int, float, Params, DesignValues], Stats]


@dataclass(frozen=True)
class Study:
    """A virtual study: its function and its shipped design file.

    Attributes:
        name: Short name (also used to derive the replication seeds).
        function: The study function ``(replication_seed, size_factor, params, design values) -> statistics``.
        design: The shipped design file (``designs.Design``): targets, source, description, design values.
    """

    name: str
    function: StudyFunction
    design: Design

    @property
    def targets(self) -> tuple[str, ...]:
        """Target ids it serves."""
        return self.design.targets

    def run(self, seed: int, size_factor: float = 1.0, params: Params = None, design: Design | None = None) -> Stats:
        """One replication with the shipped design, or with ``design`` (a design file of this study)."""
        if design is not None and design.name != self.name:
            raise DesignError(f"{design.path}: the design is for study {design.name}, not {self.name}.")
        return self.function(seed, size_factor, params, (design or self.design).values)


def _base(params: Params) -> dict[str, float]:
    return dict(params or {})


def _design(name: str, design: DesignValues) -> Mapping[str, Any]:
    """The design values given, or the shipped ones of study ``name``."""
    return design if design is not None else shipped_designs()[name].values


def _group(
    sample: Sample,
    base: Mapping[str, float],
    group: Mapping[str, Any],
    n_sessions: int,
    size_factor: float,
    minimum: int,
    **extra: Any,
) -> Cohort:
    """The cohort of one group or arm of a design: its size, population preset or diagnosis mix, therapists."""
    mix = pd_shares(group["pd_share"], group["bpd_share_of_pd"]) if "pd_share" in group else {}
    params = design_parameters(base, group.get("population"), group["therapists"], **mix)
    return sample.cohort(params, scaled(group["n_patients"], size_factor, minimum), n_sessions, **extra)


def _in_window(session: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Whether each session number lies in the window ``[first, last]``."""
    return (session >= window[0]) & (session <= window[1])


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else math.nan


# --- T1, T2: observer 3RS coding in adolescents with BPD (Schenk et al. 2019) ---------------------------


def adolescent_bpd_3rs(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T1, T2: adolescents with BPD, every attended session 3RS-coded by an observer."""
    d = _design("adolescent_bpd_3rs", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
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


def _pd_and_non_pd(seed: int, params: Params, d: Mapping[str, Any], size_factor: float) -> tuple[Cohort, Cohort]:
    """The PD group and the non-PD group of a comparison study (in that order, with their own patient ids)."""
    sample = Sample(seed)
    base = _base(params)
    pd_group = _group(sample, base, d["pd_group"], d["n_sessions"], size_factor, d["min_patients"])
    no_group = _group(sample, base, d["non_pd_group"], d["n_sessions"], size_factor, d["min_patients"])
    return pd_group, no_group


# --- T3: patient-rated rupture intensity, PD vs non-PD --------------------------------------------------


def intensity_pd_vs_non_pd(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T3: PD vs non-PD patients, one-way ANOVA of mean PSQ intensity.

    The PSQ asks how intense the rupture was that the patient reports, so a
    patient's mean is over the sessions in which they reported one (patients
    who never reported a rupture have no rating and are left out).
    """
    pd_group, no_group = _pd_and_non_pd(seed, params, _design("intensity_pd_vs_non_pd", design), size_factor)
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


def cisr_pd_vs_non_pd(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T4: PD vs non-PD patients, early sessions coded (CIS-R counts per session)."""
    d = _design("cisr_pd_vs_non_pd", design)
    pd_group, no_group = _pd_and_non_pd(seed, params, d, size_factor)
    coded = d["coded_sessions"]
    return {
        "diff_ruptures": _group_difference(pd_group, no_group, "markers", coded, value=_markers),
        "diff_collaborative": _group_difference(pd_group, no_group, "collaborative", coded),
        "diff_negative": _group_difference(pd_group, no_group, "therapist_negative", coded),
        "diff_positive": _group_difference(pd_group, no_group, "therapist_positive", coded),
    }


def sasb_pd_vs_non_pd(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T5: PD vs non-PD dyads, early sessions coded (SASB-like therapist codes per session)."""
    d = _design("sasb_pd_vs_non_pd", design)
    pd_group, no_group = _pd_and_non_pd(seed, params, d, size_factor)
    coded = d["coded_sessions"]
    return {
        f"diff_{code}": _group_difference(pd_group, no_group, f"therapist_{code}", coded)
        for code in ("hostile", "unclear", "supportive", "expressive")
    }


# --- T6: resolution complexity (Gersh et al. 2017; Boritz et al. 2018) -----------------------------------


def youth_bpd_two_arms(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T6 (Gersh et al. 2017): youth with BPD, CAT (full repertoire) vs befriending (immediate only)."""
    d = _design("youth_bpd_two_arms", design)
    sample = Sample(seed)
    base = _base(params)
    cat = _group(sample, base, d["cat"], d["n_sessions"], size_factor, d["min_patients"])
    bef = _group(sample, base, d["befriending"], d["n_sessions"], size_factor, d["min_patients"])
    rate_cat = cat.n_markers / np.maximum(cat.attended, 1)
    rate_bef = bef.n_markers / np.maximum(bef.attended, 1)
    stage_cat = outcomes.stage_where_episode(cat.mean_resolution_stage, cat.n_episodes)
    stage_bef = outcomes.stage_where_episode(bef.mean_resolution_stage, bef.n_episodes)
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
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T6 (Boritz et al. 2018): adults with BPD after a year of DBT; the first recovered vs unrecovered clients."""
    d = _design("bpd_recovered_vs_unrecovered", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
    per_session = c.n_withdrawal / np.maximum(c.attended, 1)
    recovered = np.flatnonzero(c.recovered)[: d["n_cases"]]
    unrecovered = np.flatnonzero(~c.recovered)[: d["n_cases"]]
    return {
        "withdrawal_diff": mean_difference(per_session[unrecovered], per_session[recovered]),
        "n_recovered_cases": float(len(recovered)),
        "pct_recovered": 100.0 * float(c.recovered.mean()),
    }


# --- T7: meta-analysis of resolution and outcome (Eubanks et al. 2018) ------------------------------------


def _patient_resolution(c: Cohort) -> np.ndarray:
    """Mean PSQ resolution rating over the sessions with a patient-reported rupture (NaN if none)."""
    return c.per_patient_mean(c.s("patient_resolution"), c.s("patient_rupture_reported") > 0)


def resolution_outcome_meta(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T7: virtual studies of varied size, PD share and length, resolution index vs improvement, pooled."""
    d = _design("resolution_outcome_meta", design)
    sample = Sample(seed)
    rng = np.random.default_rng(seed)
    base = _base(params)
    indices = d["resolution_index"]
    rs, rs_residual, ns = [], [], []
    for i, size in enumerate(d["study_sizes"]):
        pd_share = float(rng.choice(d["pd_share_choices"]))
        n_sessions = int(rng.choice(d["n_sessions_choices"]))
        p = design_parameters(base, None, d["therapists"], **pd_shares(pd_share, d["bpd_share_of_pd"]))
        c = sample.cohort(p, scaled(size, size_factor, d["min_study_size"]), n_sessions)
        if indices[i % len(indices)] == "patient":  # patient-rated resolution (post-session questionnaire)
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


def training_meta(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T8: virtual training studies, every other trainee AFT-trained, training vs outcome r pooled."""
    d = _design("training_meta", design)
    sample = Sample(seed)
    caseload = d["caseload"]
    mix = pd_shares(d["pd_share"], d["bpd_share_of_pd"])
    p = design_parameters(_base(params), None, d["therapists"], **mix, caseload=caseload, aft_start_session=0)
    r_out, r_proc, ns = [], [], []
    for size in d["study_sizes"]:
        k = scaled(size, size_factor, d["min_study_size"])
        trained = (np.arange(k) % 2 == 0).astype(float)
        # trained trainees use AFT from aft_start_session, the others never (0)
        c = sample.cohort(p, caseload * k, d["n_sessions"], aft_start=trained * d["aft_start_session"])
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


def aft_multiple_baseline(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T9: therapists switch to AFT early (half) or late (half) in the course; multiple baseline."""
    d = _design("aft_multiple_baseline", design)
    sample = Sample(seed)
    caseload, n_sessions = d["caseload"], d["n_sessions"]
    mix = pd_shares(d["pd_share"], d["bpd_share_of_pd"])
    p = design_parameters(_base(params), None, d["therapists"], **mix, caseload=caseload, aft_start_session=0)
    k = scaled(d["n_therapists"], size_factor, d["min_therapists"])
    first, second = (float(s) for s in d["switch_sessions"])
    start = np.where(np.arange(k) % 2 == 0, first, second)
    c = sample.cohort(p, caseload * k, n_sessions, aft_start=start)
    session = c.s("session")
    early = start[(c.s("therapist_id").astype(np.int64) - c.therapist_id.min())] == first
    windows = ((1, int(first) - 1), (int(first), int(second) - 1), (int(second), n_sessions))

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


def alliance_outcome(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T10: a large outpatient sample, early patient-rated WAI-SR vs improvement."""
    d = _design("alliance_outcome", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
    early = _in_window(c.s("session"), d["alliance_sessions"])
    wai_early = c.per_patient_mean(c.s("wai_patient"), early)
    latent_early = c.per_patient_mean(c.s("alliance"), early)
    return {
        "r_wai_early": pearson_r(wai_early, c.improvement),
        "r_latent_early": pearson_r(latent_early, c.improvement),
        "r_wai_early_residual_gain": pearson_r(wai_early, residual_gain(c.symptom_pre, c.symptom_post)),
    }


# --- T11: dropout (Iliakis et al. 2021) --------------------------------------------------------------------


def _counted_dropout(c: Cohort, count_good_enough: bool) -> np.ndarray:
    """Who counts as a dropout, as the published study counted (the design's ``count_good_enough``).

    Dissatisfied dropout always counts; a good-enough ending counts too where the study counted
    any premature end of treatment (trials do not know why a patient left).
    """
    return (c.dropped_out | c.ended_good_enough) if count_good_enough else c.dropped_out


def bpd_dropout(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T11: adults with BPD in about 12 months of weekly outpatient therapy; dropout as the design counts it."""
    d = _design("bpd_dropout", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"], keep_sessions=False)
    left = _counted_dropout(c, d["count_good_enough"])
    return {"pct_dropout": 100.0 * float(left.mean()), "mean_sessions": float(c.attended.mean())}


# --- T12: specialised therapy vs usual care (Storebø et al. 2020) -----------------------------------------


def bpd_rct(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T12: adults with BPD; AFT-trained therapists vs usual care by general clinicians.

    Usual care in the trials is treatment as usual by experienced clinicians
    without the specialised training: in the shipped design experienced
    therapists who use immediate strategies only (preset ``immediate_only``).
    """
    d = _design("bpd_rct", design)
    sample = Sample(seed)
    base = _base(params)
    arm = {"n_sessions": d["n_sessions"], "size_factor": size_factor, "minimum": d["min_patients"]}
    spec = _group(sample, base, d["specialised"], **arm, keep_sessions=False)
    usual = _group(sample, base, d["usual_care"], **arm, keep_sessions=False)
    return {
        "smd": hedges_g(spec.symptom_post, usual.symptom_post),
        "prepost_d": prepost_d(spec.symptom_pre, spec.symptom_post),
        "pct_not_improved": 100.0 * (1.0 - float(spec.reliably_improved.mean())),
        "prepost_d_usual": prepost_d(usual.symptom_pre, usual.symptom_post),
    }


# --- T13: patient vs therapist reports, resolution and retention (Muran et al. 2009) ---------------------


def psq_early_sessions(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T13: PD patients, patient and therapist post-session questionnaires after the early sessions.

    Retention is read as the design counts dropout (``count_good_enough``, see ``_counted_dropout``).
    """
    d = _design("psq_early_sessions", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
    left = _counted_dropout(c, d["count_good_enough"])
    early = _in_window(c.s("session"), d["questionnaire_sessions"])
    reported = c.s("patient_rupture_reported") > 0
    resolution = c.per_patient_mean(c.s("patient_resolution"), early & reported)
    ok = np.isfinite(resolution)
    patient_rate = c.s("patient_rupture_reported")[early].mean()
    therapist_rate = c.s("therapist_rupture_reported")[early].mean()
    return {
        "report_gap": 100.0 * float(patient_rate - therapist_rate),
        "r_resolution_dropout": pearson_r(resolution[ok], left[ok].astype(float)),
        "pct_dropout": 100.0 * float(left.mean()),
    }


# --- T14: a single severe case (Dotta et al. 2020) ------------------------------------------------------------


def severe_bpd_case(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T14: one high-severity BPD dyad, every marker coded."""
    d = _design("severe_bpd_case", design)
    severity = {"bpd_severity_mean": d["bpd_severity_mean"], "severity_sd": d["severity_sd"]}
    p = design_parameters(_base(params), d["population"], d["therapists"], **severity)
    c = Sample(seed).cohort(p, scaled(d["n_patients"], size_factor, d["min_patients"]), d["n_sessions"])
    nw, nc = c.s("n_withdrawal").sum(), c.s("n_confrontation").sum()
    return {
        "markers_per_session": float((nw + nc) / len(c.s("session"))),
        "pct_withdrawal": 100.0 * _ratio(nw, nw + nc),
    }


# --- T15: dose-response (Howard et al. 1986; Perry et al. 1999) -------------------------------------------


def _first_reached(c: Cohort) -> np.ndarray:
    """The first session whose symptom reading shows reliable improvement.

    Channel: the patient's symptom scale after each attended session (``symptom``), read
    against the intake reading as the patients table reads the last one (``run/outcomes.py``).
    """
    rows = c.session_patient
    reading = c.s("symptom")
    reached = outcomes.reliably_improved(outcomes.reliable_change_index(reading - c.symptom_pre[rows], c.params))
    return first_session(rows, c.s("session"), reached, c.n)


def _recovered_at(c: Cohort, session: int) -> float:
    """% of the patients still in therapy at ``session`` whose reading there shows recovery.

    A status at one assessment, as a follow-up interview finds it (Perry et al. re-assessed
    the diagnosis once): the first of many weekly readings below the cut-off would count a
    patient whom noise carried across it once.
    """
    rows = c.s("session") == session
    reading = c.s("symptom")[rows]
    rci = outcomes.reliable_change_index(reading - c.symptom_pre[c.session_patient[rows]], c.params)
    return 100.0 * float(np.mean(outcomes.recovered(rci, reading, c.params))) if rows.any() else math.nan


def _by_session(c: Cohort, first: np.ndarray, session: int) -> float:
    """Kaplan-Meier % with the event by ``session`` among those still in therapy."""
    return 100.0 * float(cumulative_incidence(first, c.attended, session)[-1])


def _hazard(share_before: float, share_after: float, sessions: int) -> float:
    """Mean per-session hazard that takes the cumulative share (in %) from ``share_before`` to ``share_after``."""
    if not (0.0 <= share_before <= share_after < 100.0) or sessions <= 0:
        return math.nan
    return math.log((100.0 - share_before) / (100.0 - share_after)) / sessions


def dose_response_non_pd(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T15 (Howard et al. 1986): % of non-PD outpatients reliably improved by session s, among those at risk."""
    d = _design("dose_response_non_pd", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
    early, late = d["dose_sessions"]
    curve = 100.0 * cumulative_incidence(_first_reached(c), c.attended, late)
    p_early, p_late = float(curve[early - 1]), float(curve[late - 1])
    h_early, h_late = _hazard(0.0, p_early, early), _hazard(p_early, p_late, late - early)
    ratio = math.log(h_late / h_early) if h_early > 0 and h_late > 0 else math.nan
    return {
        "pct_improved_early": p_early,
        "pct_improved_late": p_late,
        "log_hazard_ratio": ratio,
        "hazard_early": h_early,
        "hazard_late": h_late,
    }


def pd_long_course(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T15 (Perry et al. 1999): recovery of PD patients among those still in therapy, and PD vs non-PD.

    Recovery is a status at the assessment after a year (and after the published mean 1.3
    years), among those still in therapy then; improvement by session 26 is Kaplan-Meier.
    """
    d = _design("pd_long_course", design)
    pd_group, no_group = _pd_and_non_pd(seed, params, d, size_factor)
    mean_course = round(d["mean_years"] * d["sessions_per_year"])
    at = d["comparison_session"]
    improved_pd = _by_session(pd_group, _first_reached(pd_group), at)
    improved_no = _by_session(no_group, _first_reached(no_group), at)
    return {
        "pct_recovered_per_year": _recovered_at(pd_group, d["sessions_per_year"]),
        "pct_recovered_mean_years": _recovered_at(pd_group, mean_course),
        "improved_gap": improved_pd - improved_no,
        "pct_improved_pd": improved_pd,
        "pct_improved_non_pd": improved_no,
    }


# --- T16: when BPD patients drop out (Arntz et al. 2022/23) ------------------------------------------------


def bpd_dropout_by_quarter(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T16: adults with BPD over about 12 months; the dropout hazard per quarter among those at risk.

    What counts as dropout is the design's: dissatisfied dropout, and with
    ``count_good_enough`` also a good-enough ending (any premature end, as the trials counted).
    """
    d = _design("bpd_dropout_by_quarter", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"], keep_sessions=False)
    left = _counted_dropout(c, d["count_good_enough"])
    hazards = 100.0 * part_hazards(left, c.attended, d["n_sessions"], d["n_parts"])
    half = d["n_sessions"] // 2
    first_half = _ratio((left & (c.attended <= half)).sum(), left.sum())
    stats = {
        "hazard_first_minus_later": float(hazards[0] - np.max(hazards[1:])),
        "first_half_minus_half": 100.0 * first_half - 50.0,
        "pct_dropout": 100.0 * float(left.mean()),
        "pct_dissatisfied": 100.0 * float(c.dropped_out.mean()),
    }
    stats.update({f"hazard_q{q + 1}": float(h) for q, h in enumerate(hazards)})
    return stats


# --- T17: rupture profiles by PD cluster over treatment (Clin Psychol Psychother 2022) --------------------


def _profile(c: Cohort, column: str) -> tuple[float, float, float]:
    """Group means of a marker count: per session over the course, at session 1 and slope (per-patient lines)."""
    values = c.s(column)
    level = c.per_patient_mean(values)
    slope, start = patient_slopes(c.session_patient, c.s("session"), values, c.n)
    return tuple(float(np.nanmean(v)) if np.isfinite(v).any() else math.nan for v in (level, start, slope))


def cluster_profiles(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T17: no PD, cluster B and cluster C over a short course; observer-coded markers by type, level and slope."""
    d = _design("cluster_profiles", design)
    sample = Sample(seed)
    base = _base(params)
    groups = {
        name: _group(sample, base, d[name], d["n_sessions"], size_factor, d["min_patients"])
        for name in ("no_pd", "cluster_b", "cluster_c")
    }
    stats: Stats = {}
    for kind in ("withdrawal", "confrontation"):
        ref = _profile(groups["no_pd"], f"n_{kind}")
        for short, name in (("b", "cluster_b"), ("c", "cluster_c")):
            level, start, slope = _profile(groups[name], f"n_{kind}")
            stats[f"{short}_{kind}_level"] = level - ref[0]
            stats[f"{short}_{kind}_start"] = start - ref[1]
            stats[f"{short}_{kind}_slope"] = slope - ref[2]
            stats[f"{short}_{kind}_slope_own"] = slope
    return stats


# --- T18: the patient's session alliance before dropout (Hauber et al. 2020) --------------------------------


def _patient_series(c: Cohort, column: str) -> list[np.ndarray]:
    """Each patient's session values of ``column`` in session order (empty for a patient without sessions)."""
    rows, session = c.session_patient, c.s("session")
    order = np.lexsort((session, rows))
    bounds = np.searchsorted(rows[order], np.arange(c.n + 1))
    values = c.s(column)[order]
    return [values[bounds[i] : bounds[i + 1]] for i in range(c.n)]


def _share(flags: np.ndarray) -> float:
    """% of the flags that are set (NaN for none)."""
    return 100.0 * float(np.mean(flags)) if len(flags) else math.nan


def alliance_before_dropout(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T18: adolescents with PD rate the alliance after every session; reliable decreases in dropouts and completers.

    Reliable change as published: ``1.96 * SD * sqrt(2 * (1 - alpha))``, SD of the first-session ratings.
    """
    d = _design("alliance_before_dropout", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
    left = _counted_dropout(c, d["count_good_enough"])
    completed = c.attended >= d["n_sessions"]
    series = _patient_series(c, "wai_patient")
    rated = np.array([len(x) >= 2 for x in series])
    first = np.array([x[0] if len(x) else math.nan for x in series])
    sd = float(np.nanstd(first, ddof=1))
    rci = Z95 * sd * math.sqrt(2.0 * (1.0 - d["rci_alpha"]))
    k = d["last_sessions"]
    whole = np.array([len(x) >= 2 and x[0] - x[-1] > rci for x in series])
    window = np.array([len(x) >= 2 and x[max(len(x) - k, 0)] - x[-1] > rci for x in series])
    steps = np.concatenate([x[:-1] - x[1:] for x in series if len(x) >= 2] or [np.empty(0)])
    drop, comp = left & rated, completed & rated
    return {
        "pct_decrease_dropouts": _share(whole[drop]),
        "pct_decrease_completers": _share(whole[comp]),
        "last_window_gap": _share(window[drop]) - _share(window[comp]),
        "pct_last_window_dropouts": _share(window[drop]),
        "pct_last_window_completers": _share(window[comp]),
        "first_session_d": hedges_g(first[drop], first[comp]),
        "pct_transitions_decrease": _share(steps > rci),
        "pct_dropout": 100.0 * float(left.mean()),
        "rci_points": rci,
    }


# --- T19: sudden gains and the alliance (Tang & DeRubeis 1999) ---------------------------------------------


def _sudden_gain(readings: np.ndarray, d: Mapping[str, Any]) -> int:
    """Index j of the largest sudden gain from reading j - 1 to reading j (0 if none), by the published criteria."""
    best, best_gain = 0, 0.0
    for j in range(2, len(readings) - 1):  # at least 2 readings before the gain and 2 after it
        gain = readings[j - 1] - readings[j]
        if gain < d["gain_points"] or gain < d["gain_share"] * readings[j - 1] or gain <= best_gain:
            continue
        before, after = readings[max(j - 3, 0) : j], readings[j : j + 3]
        spread = (before.var(ddof=1) * (len(before) - 1) + after.var(ddof=1) * (len(after) - 1)) / (
            len(before) + len(after) - 2
        )
        se = math.sqrt(spread * (1.0 / len(before) + 1.0 / len(after)))
        if se == 0.0 or (before.mean() - after.mean()) / se > d["t_critical"]:
            best, best_gain = j, gain
    return best


def sudden_gains(seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None) -> Stats:
    """T19: depression, symptom scale before every session; sudden gains, their share of change, the alliance after.

    Reading j is the one before session j + 1 (reading 0 at intake). The pre-gain session is
    session j (rated after it), the post-gain session j + 1.
    """
    d = _design("sudden_gains", design)
    c = _group(Sample(seed), _base(params), d, d["n_sessions"], size_factor, d["min_patients"])
    symptoms, wai = _patient_series(c, "symptom"), _patient_series(c, "wai_patient")
    gainers, shares, lifts = 0, [], []
    for i in range(c.n):
        readings = np.concatenate(([c.symptom_pre[i]], symptoms[i]))
        j = _sudden_gain(readings, d)
        if j == 0:
            continue
        gainers += 1
        total = readings[0] - readings[-1]
        if total > 0:
            shares.append(100.0 * (readings[j - 1] - readings[j]) / total)
        rating = wai[i]  # rating[s - 1]: after session s
        if j < len(rating):  # the post-gain session was attended
            change = np.diff(rating)
            others = np.delete(change, j - 1)
            if len(others):
                lifts.append(change[j - 1] - others.mean())
    return {
        "pct_with_gain": 100.0 * gainers / c.n,
        "gain_share_of_change": float(np.mean(shares)) if shares else math.nan,
        "alliance_lift_after_gain": float(np.mean(lifts)) if lifts else math.nan,
    }


# --- T20: two kinds of dropout (O'Keeffe, Martin & Midgley 2020) ------------------------------------------


def two_kinds_of_dropout(
    seed: int, size_factor: float = 1.0, params: Params = None, design: DesignValues = None
) -> Stats:
    """T20: early leavers who got what they needed (good-enough) and dissatisfied dropouts, against completers.

    The sample is selected by how therapy ended, as the published one was: the first early
    leavers and completers (by id) of a pool.
    """
    d = _design("two_kinds_of_dropout", design)
    pool = {"n_patients": d["n_pool"], "population": d["population"], "therapists": d["therapists"]}
    c = _group(Sample(seed), _base(params), pool, d["n_sessions"], size_factor, d["min_pool"])
    leavers = np.flatnonzero(c.dropped_out | c.ended_good_enough)[: d["n_early_leavers"]]
    completers = np.flatnonzero(c.attended >= d["n_sessions"])[: d["n_completers"]]
    if len(leavers) < d["n_early_leavers"] or len(completers) < d["n_completers"]:
        return dict.fromkeys(_T20_STATISTICS, math.nan)
    dissatisfied = leavers[c.dropped_out[leavers]]
    others = np.concatenate((leavers[~c.dropped_out[leavers]], completers))
    unresolved = c.s("n_unresolved") + c.s("n_unrepaired")
    per_session = {
        "alliance_gap": c.per_patient_mean(c.s("wai_patient")),
        "ruptures_gap": c.per_patient_mean(_markers(c)),
        "unresolved_gap": c.per_patient_mean(unresolved),
        "therapist_negative_gap": c.per_patient_mean(c.s("therapist_negative")),
    }
    stats = {"pct_good_enough": 100.0 * float(c.ended_good_enough[leavers].mean())}
    for name, values in per_session.items():
        stats[name] = mean_difference(values[dissatisfied], values[others])
    return stats


_T20_STATISTICS = ("pct_good_enough", "alliance_gap", "ruptures_gap", "unresolved_gap", "therapist_negative_gap")


#: The study functions, in the order of the targets.
FUNCTIONS: tuple[StudyFunction, ...] = (
    adolescent_bpd_3rs,
    intensity_pd_vs_non_pd,
    cisr_pd_vs_non_pd,
    sasb_pd_vs_non_pd,
    youth_bpd_two_arms,
    bpd_recovered_vs_unrecovered,
    resolution_outcome_meta,
    training_meta,
    aft_multiple_baseline,
    alliance_outcome,
    bpd_dropout,
    bpd_rct,
    psq_early_sessions,
    severe_bpd_case,
    dose_response_non_pd,
    pd_long_course,
    bpd_dropout_by_quarter,
    cluster_profiles,
    alliance_before_dropout,
    sudden_gains,
    two_kinds_of_dropout,
)

#: Every virtual study by name, with its shipped design file.
STUDIES: dict[str, Study] = {f.__name__: Study(f.__name__, f, shipped_designs()[f.__name__]) for f in FUNCTIONS}
