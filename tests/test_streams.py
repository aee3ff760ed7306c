"""The random stream ids are frozen: renumbering one would change every number of the model."""

from simulation.model import streams

#: Never edit a line of this table; a new stream is appended with the next id.
FROZEN = {
    "R_DIAGNOSIS": 0, "R_SEVERITY": 1, "R_WITHDRAWAL": 2, "R_CONFRONTATION": 3, "R_INSIGHT": 4,
    "R_SYMPTOM_INTAKE": 5, "R_ALLIANCE_INTAKE": 6, "R_SYMPTOM_MEASURE": 7, "R_SKILL": 8, "R_MARKER_TYPE": 9,
    "R_MARKER_CODE": 10, "R_SALIENCE": 11, "R_OBSERVER": 12, "R_NOTICE": 13, "R_REACTION": 14,
    "R_STRATEGY_CODE": 15, "R_STAGE_STEP": 16, "R_SYMPTOM_CHANGE": 17, "R_PATIENT_INTENSITY": 18,
    "R_PATIENT_RESOLUTION": 19, "R_WAI_PATIENT": 20, "R_WAI_THERAPIST": 21, "R_DROPOUT": 22, "R_FLARE_UP": 23,
    "R_UPTAKE": 24, "R_GOOD_ENOUGH": 25, "R_WAI_PATIENT_ITEMS": 26,
    "R_WAI_THERAPIST_ITEMS": 27,
}  # fmt: skip


def test_frozen_streams_keep_their_ids():
    table = streams.stream_table()
    assert {name: table.get(name) for name in FROZEN} == FROZEN


def test_stream_ids_are_distinct_and_new_ones_are_appended():
    ids = sorted(streams.stream_table().values())
    assert len(ids) == len(set(ids)), "two streams share an id"
    assert ids == list(range(len(ids))), "stream ids must run 0, 1, 2 ... with new ones appended at the end"
