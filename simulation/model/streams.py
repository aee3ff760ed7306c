"""The random streams of the model: one per decision, each with a fixed id.

A draw is fixed by (seed, patient, session, segment, stream), so a stream id is
part of every number the model produces. The ids are written out, not counted:
never renumber one, and give a new decision the next free id at the end
(``tests/test_streams.py`` holds the frozen table). The three decisions every
segment makes (the therapist's work, a marker, collaboration) come from the
segment key itself (``keyed_random.segment_uniforms``) and have no stream id.
"""

from __future__ import annotations

# Intake: who the patient and the therapist are.
R_DIAGNOSIS = 0
R_SEVERITY = 1
R_WITHDRAWAL = 2
R_CONFRONTATION = 3
R_INSIGHT = 4
R_SYMPTOM_INTAKE = 5
R_ALLIANCE_INTAKE = 6
R_SYMPTOM_MEASURE = 7
R_SKILL = 8
# In a segment: the marker, its coding, the therapist's response, the episode.
R_MARKER_TYPE = 9
R_MARKER_CODE = 10
R_SALIENCE = 11
R_OBSERVER = 12
R_NOTICE = 13
R_REACTION = 14
R_STRATEGY_CODE = 15
R_STAGE_STEP = 16
# After the session: symptoms and the measures.
R_SYMPTOM_CHANGE = 17
R_PATIENT_INTENSITY = 18
R_PATIENT_RESOLUTION = 19
R_WAI_PATIENT = 20
R_WAI_THERAPIST = 21
R_DROPOUT = 22
# Added later (appended, as every new stream must be).
R_FLARE_UP = 23
R_UPTAKE = 24
R_GOOD_ENOUGH = 25
R_WAI_PATIENT_ITEMS = 26
R_WAI_THERAPIST_ITEMS = 27
R_WAI_LENIENCY = 28
R_THERAPIST_IMPRESSION = 29


def stream_table() -> dict[str, int]:
    """Every stream by name (``R_*``) with its id."""
    return {name: value for name, value in globals().items() if name.startswith("R_")}
