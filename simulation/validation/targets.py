"""The validation targets T1-T20, written down before running: the published findings and their checks.

Each target of ``literature.md`` is declared once: the finding, the published
value, its confidence (firm or soft) and one or more *checks*, each with its
pass rule (``point``, ``band``, ``range`` or ``direction``; see
``simulation.validation.checks``). A target passes when all its checks pass.

Outcome of the correlational targets (T7, T10): improvement is the residualised
gain (post regressed on pre), as in most of the studies these meta-analyses pool,
which relate process to change independent of the starting level. Decided before
calibrating; the raw pre-post gain is reported beside it.

T15-T20 (dynamics over a course of therapy, issues 9 and 18) are *held out*
(``Target.held_out``): computed and reported apart by every validation, and left
out of a calibration unless it runs ``--with-held-out``. The first calibration
of the dynamics left them out (the out-of-sample test), the second fitted them
(docs/VALIDATION.md, "Dynamics over a course"). Their designs, statistics and pass rules were
written down before the studies were first run; the one later change (T15d, a
status at the assessment instead of a first passage) is said in its design file, as is T20's pool, made
large enough to hold its sample after the first run (docs/calibration/out_of_sample_t18_t20.md).
``HELD_OUT`` lists them, ``CALIBRATED`` the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE, Check, Target


def _direction(id_: str, study: str, statistic: str, label: str, sign: int, levers: str = "", **more: object) -> Check:
    return Check(id_, study, statistic, label, DIRECTION, sign=sign, levers=levers, **more)


TARGETS: tuple[Target, ...] = (
    Target(
        "T1",
        "Observer-coded ruptures in most sessions with adolescents with BPD",
        "72% of sessions",
        "soft",
        "Schenk et al. 2019",
        (
            Check(
                "T1",
                "adolescent_bpd_3rs",
                "pct_sessions_rupture",
                "% of coded sessions with a marker rated >= observer_salient_threshold",
                BAND,
                72.0,
                (62.0, 82.0),
                levers="observer_salient_threshold (- strongly: 3 -> 4 takes about 30 points off), "
                "withdrawal_salience_mean (+), severity_rupture_gain (+), rupture_base_rate (+), "
                "alliance_reference (+), skill_mean (-)",
            ),
        ),
    ),
    Target(
        "T2",
        "Withdrawal markers more frequent; confrontation markers more salient",
        "direction",
        "firm",
        "Schenk et al. 2019",
        (
            _direction(
                "T2a",
                "adolescent_bpd_3rs",
                "withdrawal_minus_confrontation",
                "withdrawal minus confrontation markers per session",
                +1,
                "bpd_withdrawal_style (+), bpd_confrontation_style (-)",
            ),
            _direction(
                "T2b",
                "adolescent_bpd_3rs",
                "salience_gap",
                "mean observed salience, confrontation minus withdrawal markers",
                +1,
                "confrontation_salience_mean (+), withdrawal_salience_mean (-)",
                companions=(("pct_withdrawal", "% withdrawal markers"),),
            ),
        ),
    ),
    Target(
        "T3",
        "PD patients rate rupture intensity higher than non-PD patients",
        "F = 16.6, r = .43",
        "soft",
        "Schenk et al. 2021 (review)",
        (
            Check(
                "T3",
                "intensity_pd_vs_non_pd",
                "r_signed",
                "r = sqrt(F/(F+df)) of the ANOVA of mean PSQ intensity, PD vs non-PD (signed)",
                BAND,
                0.43,
                (0.33, 0.53),
                levers="severity_sd (-), tendency_sd (-), patient_intensity_severity_gain (+), "
                "no_pd_severity_mean (-), other_pd_severity_mean (+), patient_withdrawal_blindness (-); "
                "design: averaging the PSQ over 20 sessions per patient sharpens the group difference (one rated "
                "session gives r of about .46 with the defaults)",
                companions=(("mean_pd", "mean PSQ intensity PD"), ("mean_no_pd", "non-PD")),
            ),
        ),
    ),
    Target(
        "T4",
        "PD: more observer-coded ruptures, fewer collaborative processes, more negative interventions (CIS-R)",
        "direction",
        "firm",
        "Colli et al. 2019",
        (
            _direction("T4a", "cisr_pd_vs_non_pd", "diff_ruptures", "markers per session, PD minus non-PD", +1),
            _direction(
                "T4b", "cisr_pd_vs_non_pd", "diff_collaborative", "collaborative processes per session, PD - non-PD", -1
            ),
            _direction(
                "T4c",
                "cisr_pd_vs_non_pd",
                "diff_negative",
                "therapist negative interventions per session, PD - non-PD",
                +1,
            ),
        ),
    ),
    Target(
        "T5",
        "With PD patients therapists are more hostile and less clear, but also more supportive and expressive",
        "direction",
        "soft",
        "Schenk et al. 2021 (review)",
        (
            _direction("T5a", "sasb_pd_vs_non_pd", "diff_hostile", "hostile codes per session, PD - non-PD", +1),
            _direction("T5b", "sasb_pd_vs_non_pd", "diff_unclear", "unclear codes per session, PD - non-PD", +1),
            _direction("T5c", "sasb_pd_vs_non_pd", "diff_supportive", "supportive codes per session, PD - non-PD", +1),
            _direction("T5d", "sasb_pd_vs_non_pd", "diff_expressive", "expressive codes per session, PD - non-PD", +1),
        ),
    ),
    Target(
        "T6",
        "Deeper resolution goes with more symptom improvement; same rupture counts, deeper stages in the stronger arm",
        "direction",
        "firm",
        "Gersh et al. 2017; Boritz et al. 2018",
        (
            Check(
                "T6a",
                "youth_bpd_two_arms",
                "rupture_rate_diff",
                "markers per session, CAT minus befriending (published: no difference)",
                POINT,
                0.0,
                levers="corrective_learning (-: deeper resolution loosens the pattern, fewer later markers), "
                "pattern_floor (+)",
            ),
            _direction(
                "T6b",
                "youth_bpd_two_arms",
                "stage_diff",
                "mean resolution stage, CAT minus befriending",
                +1,
                "immediate_stage_cap (-), exploratory_preference (+)",
            ),
            _direction(
                "T6c",
                "youth_bpd_two_arms",
                "r_complexity_change",
                "r(mean resolution stage, symptom change)",
                -1,
                "corrective_symptom_effect (+ magnitude), repair_overshoot (+ magnitude)",
            ),
            _direction(
                "T6d",
                "bpd_recovered_vs_unrecovered",
                "withdrawal_diff",
                "withdrawal markers per session, 3 unrecovered minus 3 recovered",
                +1,
                companions=(("pct_recovered", "% recovered in the cohort"),),
            ),
        ),
    ),
    Target(
        "T7",
        "Rupture resolution is associated with better outcome (meta-analysis)",
        "r = .29 [.10, .47]; 11 studies, N = 1,314",
        "firm",
        "Eubanks, Muran & Safran 2018",
        (
            Check(
                "T7",
                "resolution_outcome_meta",
                "pooled_r_residual_gain",
                "random-effects pooled r(resolution index, residualised improvement)",
                POINT,
                0.29,
                (0.10, 0.47),
                levers="bpd_severity_mean (+), severity_rupture_gain (+), resolved_stage (+), "
                "severity_repair_penalty (+), symptom_reliability (+), strain_decay (+), no_pd_symptom_mean (+), "
                "bpd_symptom_mean (-: relief is proportional to the symptom level, so pre - post gain tracks the "
                "starting level rather than the process); outcome metric: the residualised gain gives a higher r",
                companions=(("pooled_r", "pooled r with raw pre-post gain"), ("tau2", "tau^2")),
            ),
        ),
    ),
    Target(
        "T8",
        "Alliance-focused training improves process but not, significantly, outcome",
        "r = .11 [-.09, .30]; 6 studies, 276 trainees",
        "firm",
        "Eubanks, Muran & Safran 2018",
        (
            Check(
                "T8a",
                "training_meta",
                "pooled_r",
                "random-effects pooled r(training, trainee's mean patient improvement)",
                POINT,
                0.11,
                (-0.09, 0.30),
                levers="aft_skill_gain (+), aft_noticing_gain (+), aft_exploratory_gain (+), "
                "corrective_symptom_effect (+), symptom_reliability (+)",
                companions=(("ci_low", "pooled CI low"), ("ci_high", "high")),
            ),
            _direction(
                "T8b",
                "training_meta",
                "process_r",
                "pooled r(training, share of markers resolved)",
                +1,
                "aft_skill_gain (+), aft_noticing_gain (+), aft_reactivity_reduction (+)",
            ),
            _direction(
                "T8c",
                "training_meta",
                "ci_low",
                "lower bound of the pooled 95% CI of the outcome r (CI includes 0)",
                -1,
                "symptom_reliability (+), resolved_stage (+), strain_decay (+), corrective_symptom_effect (+), "
                "symptom_scale_sd (-), noticing (-); the AFT gains (+: a larger outcome effect)",
            ),
        ),
    ),
    Target(
        "T9",
        "AFT: more patient expressiveness, more therapist affirmation and attunement, less blaming",
        "direction",
        "firm (design) / soft (less blaming)",
        "Safran et al. 2014; Muran et al. 2018",
        (
            _direction(
                "T9a",
                "aft_multiple_baseline",
                "effect_collaborative",
                "AFT effect on collaborative processes per session",
                +1,
                "aft_noticing_gain (-: more noticed markers open more episodes, and collaborative processes are "
                "coded only outside episodes; 0.05 instead of 0.15 makes it positive), aft_skill_gain (+: 0.25 "
                "makes it positive), noticing (+)",
            ),
            _direction(
                "T9b",
                "aft_multiple_baseline",
                "effect_supportive",
                "AFT effect on supportive (affirming) codes per session",
                +1,
                "aft_exploratory_gain (-: AFT's metacommunication replaces immediate strategies, which are coded "
                "supportive, by exploratory ones, coded expressive; 0 gives +0.68), aft_supportive_gain (+: 0.25 "
                "gives +0.63), other_pd_severity_mean (-), resolved_stage (-)",
            ),
            _direction(
                "T9c",
                "aft_multiple_baseline",
                "effect_hostile",
                "AFT effect on hostile (blaming) codes per session",
                -1,
                "aft_reactivity_reduction (+)",
            ),
            _direction(
                "T9d",
                "aft_multiple_baseline",
                "effect_noticed_share",
                "AFT effect on the share of markers noticed (attunement)",
                +1,
                "aft_noticing_gain (+)",
            ),
        ),
    ),
    Target(
        "T10",
        "Alliance-outcome association",
        "r = .278 [.256, .299]",
        "firm",
        "Flückiger et al. 2018",
        (
            Check(
                "T10",
                "alliance_outcome",
                "r_wai_early_residual_gain",
                "r(mean patient WAI-SR sessions 1-3, residualised improvement)",
                POINT,
                0.278,
                (0.256, 0.299),
                levers="bpd_severity_mean (+), no_pd_symptom_mean (+), bpd_symptom_mean (-: PD patients start "
                "higher, improve more in points despite a weaker alliance), resolved_stage (+), severity_rupture_gain "
                "(+), alliance_reference (+); alliance_symptom_effect (+) raises r only for the residualised gain; "
                "outcome metric: with the residualised gain r is about .26",
                companions=(
                    ("r_wai_early", "r with raw pre-post gain"),
                    ("r_latent_early", "r with latent early alliance"),
                ),
            ),
        ),
    ),
    Target(
        "T11",
        "Dropout from outpatient BPD psychotherapy",
        "22-30% (28.2% in outpatient RCTs)",
        "firm",
        "Iliakis et al. 2021; Barnicot et al. 2011",
        (
            Check(
                "T11",
                "bpd_dropout",
                "pct_dropout",
                "% dropped out of a 48-session course",
                RANGE,
                28.2,
                (22.0, 30.0),
                levers="dropout_base_logit (+: -5.9 instead of -6.2 gives about 26%), bpd_severity_mean (+), "
                "alliance_reference (+), severity_rupture_gain (+), strain_decay (+), alliance_ceiling (-)",
                companions=(("mean_sessions", "mean sessions attended"),),
            ),
        ),
    ),
    Target(
        "T12",
        "Specialised therapy vs usual care for BPD",
        "SMD -0.52 [-0.70, -0.33]; pre-post d 1.0-1.46; 48.8% not reliably improved",
        "firm",
        "Storebø et al. 2020; Leichsenring & Leibing 2003; Woodbridge et al. 2022",
        (
            Check(
                "T12a",
                "bpd_rct",
                "smd",
                "Hedges g of the end-of-treatment score, specialised minus usual care",
                POINT,
                -0.52,
                (-0.70, -0.33),
                levers="alliance_symptom_effect and corrective_symptom_effect (lower: smaller gap; 0.01 each "
                "gives about -0.62), strain_decay (-), resolved_stage (-), bpd_severity_mean (-), rupture_dip (-), "
                "skill_mean (-), alliance_growth (+), symptom_sd (+); design: usual care by experienced clinicians "
                "with immediate strategies only (the novice preset as usual care gives about -0.9)",
                companions=(("prepost_d_usual", "pre-post d usual care"),),
            ),
            Check(
                "T12b",
                "bpd_rct",
                "prepost_d",
                "within-group pre-post d, specialised arm",
                RANGE,
                None,
                (1.0, 1.46),
                levers="alliance_symptom_effect and corrective_symptom_effect (+; 0.01 each gives about 1.3), "
                "bpd_symptom_mean (+), symptom_sd (-: d is scaled by the pre SD), bpd_severity_mean (-), "
                "resolved_stage (-), dropout_base_logit (-)",
            ),
            Check(
                "T12c",
                "bpd_rct",
                "pct_not_improved",
                "% not reliably improved (Jacobson-Truax), specialised arm",
                POINT,
                48.8,
                levers="alliance_symptom_effect and corrective_symptom_effect (-; 0.01 each gives about 37%), "
                "bpd_severity_mean (+), alliance_reference (+), dropout_base_logit (+), symptom_scale_sd (+), "
                "symptom_reliability (-)",
            ),
        ),
    ),
    Target(
        "T13",
        "Patients report fewer ruptures than therapists; higher resolution goes with better retention",
        "direction",
        "firm",
        "Muran et al. 2009",
        (
            _direction(
                "T13a",
                "psq_early_sessions",
                "report_gap",
                "% sessions 1-6 with a rupture reported, patient minus therapist",
                -1,
                "patient_report_threshold (-), patient_intensity_bias (+), therapist_report_threshold (+), "
                "noticing (-)",
            ),
            _direction(
                "T13b",
                "psq_early_sessions",
                "r_resolution_dropout",
                "point-biserial r(mean patient resolution rating sessions 1-6, dropout)",
                -1,
                "alliance_reference, bpd_severity_mean, dropout_base_logit, severity_rupture_gain (each makes it "
                "more negative); dropout_unresolved_effect, dropout_strain_effect",
                companions=(("pct_dropout", "% dropout"),),
            ),
        ),
    ),
    Target(
        "T14",
        "A single severe BPD case: about 6-7 ruptures per session, two thirds withdrawal",
        "100 ruptures in 15 sessions (6.67 per session); 69% withdrawal",
        "firm",
        "Dotta et al. 2020",
        (
            Check(
                "T14a",
                "severe_bpd_case",
                "markers_per_session",
                "observer-coded markers per session",
                POINT,
                100 / 15,
                levers="severity_rupture_gain (+), rupture_base_rate (+), alliance_reference (+), "
                "bpd_confrontation_style (+), bpd_withdrawal_style (+), alliance_rupture_gain (+), "
                "n_segments (+: at most one marker per segment)",
            ),
            Check(
                "T14b",
                "severe_bpd_case",
                "pct_withdrawal",
                "% of markers that are withdrawal markers",
                POINT,
                69.0,
                levers="bpd_withdrawal_style (+), bpd_confrontation_style (-)",
            ),
        ),
    ),
    Target(
        "T15",
        "Dose-response: change is negatively accelerated (most of it early), and PD patients change much more slowly",
        "non-PD: about 50% reliably improved by session 8, 75% by session 26; PD: about 25.8% recover per year",
        "firm",
        "Howard, Kopta, Krause & Orlinsky 1986; Perry, Banon & Ianni 1999",
        (
            # Howard's percentages are a probit fit pooled over 15 heterogeneous data sets (different raters
            # and criteria of "improved"), so they are compared as bands of +-10 points, not as points.
            Check(
                "T15a",
                "dose_response_non_pd",
                "pct_improved_early",
                "% reliably improved by session 8 among those at risk (Kaplan-Meier), non-PD outpatients",
                BAND,
                50.0,
                (40.0, 60.0),
            ),
            Check(
                "T15b",
                "dose_response_non_pd",
                "pct_improved_late",
                "% reliably improved by session 26 among those at risk (Kaplan-Meier), non-PD outpatients",
                BAND,
                75.0,
                (65.0, 85.0),
            ),
            # A constant hazard already gives a concave curve; negative acceleration in Howard's sense is a hazard
            # that falls: 50% by 8 and 75% by 26 mean a late hazard of 0.44 times the early one (log -0.81).
            _direction(
                "T15c",
                "dose_response_non_pd",
                "log_hazard_ratio",
                "log(hazard of reliable improvement in sessions 9-26 / in sessions 1-8), non-PD",
                -1,
                companions=(("hazard_early", "hazard per session 1-8"), ("hazard_late", "9-26")),
            ),
            # Perry's rate is pooled over 15 studies and read here per 45 sessions (a year of weekly therapy
            # with breaks): a band of +-6 points.
            Check(
                "T15d",
                "pd_long_course",
                "pct_recovered_per_year",
                "% recovered (reliable change and below the cut-off) at session 45 among those still in "
                "therapy, PD patients",
                BAND,
                25.8,
                (19.8, 31.8),
                companions=(("pct_recovered_mean_years", "% recovered by 1.3 years (published 52%)"),),
            ),
            _direction(
                "T15e",
                "pd_long_course",
                "improved_gap",
                "% reliably improved by session 26 (Kaplan-Meier), PD minus non-PD",
                -1,
                companions=(("pct_improved_pd", "PD"), ("pct_improved_non_pd", "non-PD")),
            ),
        ),
        held_out=True,
    ),
    Target(
        "T16",
        "BPD dropout is front-loaded: hazard highest in the first quarter, most dropouts in the first half",
        "direction (survival meta-analysis of 111 studies, 159 arms, N = 9,100)",
        "firm",
        "Arntz et al. 2022/23",
        (
            _direction(
                "T16a",
                "bpd_dropout_by_quarter",
                "hazard_first_minus_later",
                "dropout chance in quarter 1 minus the highest of quarters 2-4, among those at risk (points)",
                +1,
                companions=(
                    ("hazard_q1", "quarter 1 %"),
                    ("hazard_q2", "2"),
                    ("hazard_q3", "3"),
                    ("hazard_q4", "4"),
                ),
            ),
            _direction(
                "T16b",
                "bpd_dropout_by_quarter",
                "first_half_minus_half",
                "% of dropouts in the first half of the course minus 50",
                +1,
                companions=(("pct_dropout", "% dropout (as counted)"), ("pct_dissatisfied", "% dissatisfied only")),
            ),
        ),
        held_out=True,
    ),
    Target(
        "T17",
        "Rupture profiles by PD cluster over treatment: B more withdrawal and confrontation, withdrawal falling; "
        "C fewer at first, both types rising",
        "direction (94 patients, 16-20 sessions, multilevel rupture ~ cluster x time)",
        "firm",
        "Clin Psychol Psychother 2022;29(3):1125",
        (
            _direction(
                "T17a",
                "cluster_profiles",
                "b_withdrawal_level",
                "observer-coded withdrawal markers per session, cluster B minus no PD",
                +1,
            ),
            _direction(
                "T17b",
                "cluster_profiles",
                "b_confrontation_level",
                "observer-coded confrontation markers per session, cluster B minus no PD",
                +1,
            ),
            _direction(
                "T17c",
                "cluster_profiles",
                "c_withdrawal_start",
                "withdrawal markers at session 1 (per-patient lines), cluster C minus no PD",
                -1,
            ),
            _direction(
                "T17d",
                "cluster_profiles",
                "c_confrontation_start",
                "confrontation markers at session 1 (per-patient lines), cluster C minus no PD",
                -1,
            ),
            _direction(
                "T17e",
                "cluster_profiles",
                "c_withdrawal_slope",
                "slope of withdrawal markers per session, cluster C minus no PD",
                +1,
                companions=(("c_withdrawal_slope_own", "cluster C's own slope"),),
            ),
            _direction(
                "T17f",
                "cluster_profiles",
                "c_confrontation_slope",
                "slope of confrontation markers per session, cluster C minus no PD",
                +1,
                companions=(("c_confrontation_slope_own", "cluster C's own slope"),),
            ),
            _direction(
                "T17g",
                "cluster_profiles",
                "b_withdrawal_slope",
                "slope of withdrawal markers per session, cluster B minus no PD",
                -1,
                companions=(("b_withdrawal_slope_own", "cluster B's own slope"),),
            ),
        ),
        held_out=True,
    ),
    Target(
        "T18",
        "Adolescents with PD: the patient-rated alliance deteriorates before dropout; reliable session-to-session "
        "decreases are common",
        "reliable decrease first to last session 41.7% of dropouts vs 7.2% of completers; last 3 sessions 38.9% vs "
        "7.2%; first-session alliance not different; 14.3% of transitions a reliable decrease",
        "firm",
        "Hauber, Boon & Vermeiren 2020",
        (
            # 15 of 36 and 5 of 69: the published shares are points, compared with the simulated sampling
            # distribution of a study of the same size.
            Check(
                "T18a",
                "alliance_before_dropout",
                "pct_decrease_dropouts",
                "% of dropouts with a reliable decrease of the patient WAI-SR from the first to the last session",
                POINT,
                41.7,
            ),
            Check(
                "T18b",
                "alliance_before_dropout",
                "pct_decrease_completers",
                "% of completers with a reliable decrease of the patient WAI-SR from the first to the last session",
                POINT,
                7.2,
            ),
            _direction(
                "T18c",
                "alliance_before_dropout",
                "last_window_gap",
                "% with a reliable decrease over the last 3 sessions, dropouts minus completers (points)",
                +1,
                companions=(("pct_last_window_dropouts", "dropouts %"), ("pct_last_window_completers", "completers %")),
            ),
            # "Not different" in a study of 36 and 69: a difference below what it could detect. The median
            # standardized difference must lie within +-0.4 (the study had 80% power for about 0.58).
            Check(
                "T18d",
                "alliance_before_dropout",
                "first_session_d",
                "standardized difference of the first-session patient WAI-SR, dropouts minus completers",
                RANGE,
                0.0,
                (-0.4, 0.4),
            ),
            # Per-transition shares depend on the spacing of the ratings (intensive MBT is not weekly): a band of
            # +-4 points around the published 14.3%.
            Check(
                "T18e",
                "alliance_before_dropout",
                "pct_transitions_decrease",
                "% of session-to-session transitions with a reliable decrease of the patient WAI-SR",
                BAND,
                14.3,
                (10.3, 18.3),
                companions=(("pct_dropout", "% dropout (as counted)"), ("rci_points", "RCI, WAI-SR points")),
            ),
        ),
        held_out=True,
    ),
    Target(
        "T19",
        "Sudden gains: many patients make one large between-session gain that carries much of their change, and "
        "the alliance rises in the session after it",
        "39% of patients with a sudden gain; the gain about 50% of their total improvement; alliance rises after it",
        "firm",
        "Tang & DeRubeis 1999",
        (
            Check(
                "T19a",
                "sudden_gains",
                "pct_with_gain",
                "% of patients with a sudden gain (large, >= 25% of the reading before, stable)",
                POINT,
                39.0,
            ),
            Check(
                "T19b",
                "sudden_gains",
                "gain_share_of_change",
                "the sudden gain as % of the patient's total improvement, mean over gainers",
                POINT,
                50.0,
            ),
            _direction(
                "T19c",
                "sudden_gains",
                "alliance_lift_after_gain",
                "patient WAI-SR change from the pre-gain to the post-gain session minus the patient's mean change "
                "at other sessions (points)",
                +1,
            ),
        ),
        held_out=True,
    ),
    Target(
        "T20",
        "Two kinds of dropout: a third of early leavers got what they needed; dissatisfied dropouts have a poorer "
        "alliance, more ruptures, more unresolved ruptures and more therapist contribution",
        "7 of 21 dropouts (33%) got what they needed; direction for the rest",
        "firm",
        "O'Keeffe, Martin & Midgley 2020",
        (
            Check(
                "T20a",
                "two_kinds_of_dropout",
                "pct_good_enough",
                "% of early leavers who ended good enough (got what they needed)",
                POINT,
                33.3,
            ),
            _direction(
                "T20b",
                "two_kinds_of_dropout",
                "alliance_gap",
                "mean patient WAI-SR per session, dissatisfied dropouts minus the others",
                -1,
            ),
            _direction(
                "T20c",
                "two_kinds_of_dropout",
                "ruptures_gap",
                "observer-coded markers per session, dissatisfied dropouts minus the others",
                +1,
            ),
            _direction(
                "T20d",
                "two_kinds_of_dropout",
                "unresolved_gap",
                "ruptures left unresolved per session (observer), dissatisfied dropouts minus the others",
                +1,
            ),
            _direction(
                "T20e",
                "two_kinds_of_dropout",
                "therapist_negative_gap",
                "negative therapist interventions per session (observer), dissatisfied dropouts minus the others",
                +1,
            ),
        ),
        held_out=True,
    ),
)

#: Every check by id.
CHECKS: dict[str, Check] = {c.id: c for t in TARGETS for c in t.checks}
#: The target of every check id.
TARGET_OF: dict[str, Target] = {c.id: t for t in TARGETS for c in t.checks}
#: Targets held out of a calibration unless it runs ``--with-held-out``, and the others.
HELD_OUT: tuple[str, ...] = tuple(t.id for t in TARGETS if t.held_out)
CALIBRATED: tuple[str, ...] = tuple(t.id for t in TARGETS if not t.held_out)


class TargetError(ValueError):
    """Target ids that are not targets; the message is one sentence that lists the valid ids."""


def select_targets(ids: str | Iterable[str]) -> tuple[str, ...]:
    """Checked target ids in ``TARGETS`` order, each once.

    Args:
        ids: Target ids, as an iterable or as one comma-separated string (``"T7,T12"``); case,
            spaces and leading zeros do not matter (``"t07"`` is ``T7``).

    Raises:
        TargetError: For an id that is not a target, or for no id at all.

    Examples:
        >>> select_targets("T12, t07")
        ('T7', 'T12')
    """
    items = ids.split(",") if isinstance(ids, str) else list(ids)
    valid = [t.id for t in TARGETS]
    chosen = set()
    for item in items:
        text = str(item).strip()
        if not text:  # e.g. a trailing comma
            continue
        match = re.fullmatch(r"[Tt]0*(\d+)", text)
        target = f"T{match.group(1)}" if match else text
        if target not in valid:
            raise TargetError(f"Unknown target {text!r}; the valid ids are {', '.join(valid)}.")
        chosen.add(target)
    if not chosen:
        raise TargetError(f"No target given; the valid ids are {', '.join(valid)}.")
    return tuple(t for t in valid if t in chosen)
