"""A first page for a new researcher: one session of one BPD patient, told as plain sentences.

The same patient meets a novice and an AFT-trained therapist on the same random
numbers (same seed, same patient id), so every difference between the two
stories comes from the therapist: what is noticed, which strategy is used, how
deep the resolution goes, and what that does to the alliance.

    .venv/bin/python experiments/one_session.py            # session 3 of patient 2, seed 11
    .venv/bin/python experiments/one_session.py 5 3 2026   # session 5 of patient 3, seed 2026
"""

from __future__ import annotations

import sys

import pandas as pd

from simulation import simulate
from simulation.model.taxonomy import STRATEGY_FAMILIES

FAMILY_NAMES = {1: "an immediate strategy", 2: "exploratory metacommunication", 3: "another strategy"}


def sentence(event: pd.Series) -> str:
    """One event of the events table as a sentence a student understands."""
    kind, label, rtype = event["kind"], event["label"], event["rupture_type"]
    if kind == "marker":
        return (
            f"The patient shows a {rtype} marker ({event['code']}: {label}), salience {event['salience']} of 5 "
            f"(the observer codes {event['observed_salience']})."
        )
    if kind == "missed":
        return "The therapist does not notice it: the rupture stays unrepaired."
    if kind == "negative":
        return f"The therapist responds badly: {label}."
    if kind == "strategy":
        return (
            f"The therapist uses {FAMILY_NAMES.get(event['detail'], STRATEGY_FAMILIES[0])}: {label} ({event['code']})."
        )
    if kind == "stage":
        moved = {1: "reaches", 2: "skips ahead to", -1: "falls back to"}.get(event["detail"], "is at")
        return f"The resolution episode {moved} stage {event['stage']}: {label}."
    return f"The episode ends {label}, having gone as deep as stage {event['stage']}."


def tell(therapists: str, patient_id: int, session: int, seed: int) -> list[str]:
    """The session's story with one therapist preset, ending with the alliance change."""
    res = simulate("adult_bpd", therapists, patient_ids=[patient_id], n_sessions=max(session, 2), seed=seed)
    row = res.sessions[res.sessions["session"] == session]
    if row.empty:
        return [f"The patient left therapy before session {session}."]
    events = res.events[res.events["session"] == session]
    lines = [f"segment {e['segment']:>2}: {sentence(e)}" for _, e in events.iterrows()]
    if not lines:
        lines = ["No rupture marker in this session: ordinary collaborative work."]
    row = row.iloc[0]
    lines.append(
        f"Alliance {row['alliance_start']:.2f} -> {row['alliance']:.2f}; the patient reports a rupture: "
        f"{'yes' if row['patient_rupture_reported'] else 'no'}, the therapist: "
        f"{'yes' if row['therapist_rupture_reported'] else 'no'}."
    )
    return lines


def main(argv: list[str]) -> None:
    """Print the session with a novice and with an AFT-trained therapist."""
    session, patient_id, seed = (int(x) for x in (argv + ["3", "2", "11"][len(argv) :])[:3])
    for therapists, who in (("novice", "a novice"), ("aft_trained", "an AFT-trained")):
        print(f"\n=== Patient {patient_id}, session {session}, with {who} therapist ===")
        print("\n".join(tell(therapists, patient_id, session, seed)))


if __name__ == "__main__":
    main(sys.argv[1:])
