"""Informant channels: who could have recorded each output column, with the thresholds and noise of each.

A published study reads what one informant reported: an observer coding the
recordings, the patient or the therapist on a questionnaire, a symptom scale,
the clinic's attendance record. The model knows more (its latent state), and a
virtual study that compared itself with a published one through a column the
study could not have recorded would test the model against the wrong thing.
``CHANNELS`` declares the informant channels once: what each sees, the
parameters of its threshold, noise and bias (names of ``parameters.SPECS``),
and the output columns that belong to it. ``latent`` is the model's truth, which
no study could observe. Identifiers and design columns (who, when, in which
condition) belong to no channel (``NOT_MEASURED``).

Every column of the output tables belongs to exactly one channel or to
``NOT_MEASURED`` (the tests check it against ``tables.DATA_DICTIONARY``); design
files of the virtual studies name the channels they read
(``validation/designs.py``), and MODEL.md section 7.6 and the data dictionary
show the table.

Examples:
    >>> column_channel("sessions", "wai_patient"), column_channel("patients", "exit_reason")
    ('patient_wai', 'attendance')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

__all__ = ["CHANNELS", "NOT_MEASURED", "Channel", "channel_columns", "column_channel"]

#: (table, column) of an output table.
Column = tuple[str, str]


@dataclass(frozen=True)
class Channel:
    """An informant channel: who records, through which threshold and noise, into which columns.

    Attributes:
        name: Short name, as design files write it (``channels = [...]``).
        title: The informant and instrument in a few words.
        sees: What the informant sees, in one line.
        threshold: Parameters that set from when the informant records something (a cut-off).
        noise: Parameters of the rating error.
        bias: Parameters that shift the rating away from the latent state.
        columns: The columns of each output table that belong to it.
    """

    name: str
    title: str
    sees: str
    threshold: tuple[str, ...] = ()
    noise: tuple[str, ...] = ()
    bias: tuple[str, ...] = ()
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter named by the channel: threshold, noise and bias."""
        return self.threshold + self.noise + self.bias


_OBSERVER_RESOLUTION = ("n_episodes", "resolution_stage", "n_resolved", "n_partly_resolved", "n_unresolved")

#: The informant channels, in the order MODEL.md and the reports show them.
CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (
        Channel(
            "observer",
            "Observer coding (3RS, CIS-R, SASB-like)",
            "A trained observer codes the session recording: every marker with its salience, the therapist's "
            "response and strategies, the resolution stages, the CIS-R and SASB-like process codes.",
            threshold=("observer_salient_threshold",),
            noise=("observer_salience_sd",),
            columns={
                "sessions": (
                    "n_withdrawal",
                    "n_confrontation",
                    "salience_withdrawal",
                    "salience_confrontation",
                    "rupture_observed",
                    "n_noticed",
                    "n_missed",
                    *_OBSERVER_RESOLUTION,
                    "n_unrepaired",
                    "resolved",
                    "n_immediate",
                    "n_exploratory",
                    "n_other_strategy",
                    "therapist_negative",
                    "therapist_hostile",
                    "therapist_unclear",
                    "therapist_positive",
                    "therapist_supportive",
                    "therapist_expressive",
                    "collaborative",
                ),
                "patients": (
                    "n_markers",
                    "n_sessions_rupture_observed",
                    "n_episodes",
                    "n_resolved",
                    "mean_resolution_stage",
                    "max_resolution_stage",
                    "complexity_group",
                ),
                "events": ("kind", "code", "label", "rupture_type", "observed_salience", "stage", "detail"),
            },
        ),
        Channel(
            "patient_psq",
            "Patient post-session questionnaire (PSQ)",
            "The patient rates after the session whether a rupture happened, how intense it felt and how far "
            "it was resolved; own withdrawal is felt less, and low trust keeps discontent unvoiced.",
            threshold=("patient_report_threshold",),
            noise=("patient_intensity_sd",),
            bias=(
                "patient_intensity_bias",
                "patient_withdrawal_blindness",
                "patient_intensity_severity_gain",
                "deference_unvoiced",
            ),
            columns={"sessions": ("patient_rupture_reported", "patient_rupture_intensity", "patient_resolution")},
        ),
        Channel(
            "therapist_psq",
            "Therapist post-session questionnaire (PSQ)",
            "The therapist reports a rupture only if they noticed a marker salient enough to them; they miss "
            "withdrawal more than confrontation, less so with AFT.",
            threshold=("therapist_report_threshold",),
            bias=("therapist_withdrawal_blindness", "aft_awareness_gain"),
            columns={"sessions": ("therapist_rupture_reported",)},
        ),
        Channel(
            "patient_wai",
            "Patient WAI-SR",
            "The patient rates the alliance after the session (12 items rated 1-5, total 12-60), each patient "
            "with a leniency of their own; low trust makes the rating more lenient.",
            noise=("wai_noise_sd", "wai_item_sd"),
            bias=("wai_patient_bias", "wai_leniency_sd", "deference_leniency"),
            columns={"sessions": ("wai_patient",)},
        ),
        Channel(
            "therapist_wai",
            "Therapist WAI-SR",
            "The therapist rates the alliance after the session from their own view of it, which starts from "
            "their impression of the patient and loses only the ruptures they noticed.",
            noise=("wai_noise_sd", "wai_item_sd"),
            bias=("wai_therapist_bias", "therapist_perception", "therapist_impression_sd"),
            columns={"sessions": ("wai_therapist",)},
        ),
        Channel(
            "symptom_scale",
            "Symptom scale",
            "A self-report symptom scale at intake and after every session: the latent severity plus the "
            "error its reliability implies; reliable change and recovery are read from it.",
            threshold=("recovery_cutoff",),
            noise=("symptom_scale_sd", "symptom_reliability"),
            columns={
                "sessions": ("symptom",),
                "patients": (
                    "symptom_pre",
                    "symptom_post",
                    "symptom_change",
                    "rci",
                    "reliable_change",
                    "recovered",
                ),
            },
        ),
        Channel(
            "attendance",
            "Attendance and exit record",
            "The clinic's record of the sessions attended and of how the course ended (completed, dropout, "
            "good-enough ending); recorded without error.",
            columns={
                "sessions": ("dropped_out", "ended_good_enough"),
                "patients": ("sessions_attended", "dropped_out", "exit_reason"),
            },
        ),
        Channel(
            "latent",
            "Latent state (model truth)",
            "The model's own state, which no study could observe: alliance, symptoms, strain, trust, the "
            "patient's and therapist's dispositions. A virtual study that reads it must say so.",
            columns={
                "sessions": (
                    "alliance_start",
                    "alliance",
                    "strain",
                    "pattern",
                    "corrective",
                    "symptom_true",
                    "trust",
                    "alliance_therapist_view",
                    "morale_deficit",
                    "alliance_felt",
                    "felt_dent",
                    "therapist_felt_dent",
                    "alliance_felt_recent",
                ),
                "patients": (
                    "pd_severity",
                    "withdrawal_tendency",
                    "confrontation_tendency",
                    "insight",
                    "alliance_intake",
                    "alliance_early",
                    "alliance_final",
                    "symptom_true_pre",
                    "pattern_final",
                ),
                "events": ("salience",),
                "therapists": ("skill", "noticing", "reactivity", "exploratory_repertoire", "exploratory_preference"),
            },
        ),
    )
}

#: Columns that no informant records but a study knows by design: identifiers (who, when) and the design
#: (which group, which condition). A virtual study may read them whatever channels it declares.
NOT_MEASURED: dict[str, Mapping[str, tuple[str, ...]]] = {
    "identifier": {
        "sessions": ("patient_id", "therapist_id", "session"),
        "patients": ("patient_id", "therapist_id"),
        "events": ("patient_id", "therapist_id", "session", "segment"),
        "therapists": ("therapist_id",),
    },
    "design": {
        "sessions": ("aft_active",),
        "patients": ("diagnosis",),
        "therapists": ("aft_start_session", "n_patients"),
    },
}


@cache
def channel_columns() -> Mapping[Column, str]:
    """The channel (or ``identifier`` / ``design``) of every declared column, by ``(table, column)`` (read-only).

    Raises:
        ValueError: If a column is declared twice (a column belongs to exactly one channel).
    """
    owners: dict[Column, str] = {}
    groups = {**{name: c.columns for name, c in CHANNELS.items()}, **NOT_MEASURED}
    for owner, tables in groups.items():
        for table, columns in tables.items():
            for column in columns:
                if (table, column) in owners:
                    raise ValueError(f"{table}.{column} belongs to {owners[table, column]} and to {owner}.")
                owners[table, column] = owner
    return MappingProxyType(owners)


def column_channel(table: str, column: str) -> str:
    """The channel of one output column (``identifier`` or ``design`` for columns no informant records).

    Raises:
        KeyError: If the column belongs to no channel.
    """
    return channel_columns()[table, column]
