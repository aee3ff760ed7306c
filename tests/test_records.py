"""The named records: float layout, conversions, and the counting helpers (unit tests of records.py)."""

import numpy as np
import pandas as pd

from simulation.model import records
from simulation.model.taxonomy import EXPLORATORY, IMMEDIATE, OTHER, PARTLY_RESOLVED, RESOLVED, UNRESOLVED


def test_output_records_have_the_layout_of_a_float_matrix():
    for dtype in (records.PATIENT, records.THERAPIST, records.SESSION, records.EVENT, records.COURSE,
                  records.TRAJECTORY):  # fmt: skip
        assert all(dtype.fields[name][0] == np.float64 for name in dtype.names)
        assert dtype.itemsize == 8 * len(dtype.names)


def test_matrix_and_records_convert_both_ways_without_changing_a_value():
    matrix = np.arange(12, dtype=np.float64).reshape(2, 6)
    recs = records.as_records(matrix, records.THERAPIST)
    assert recs[1].noticing == 7.0 and recs["aft_start_session"].tolist() == [5.0, 11.0]
    assert np.array_equal(records.as_matrix(recs), matrix)
    assert list(pd.DataFrame(recs).columns) == list(records.THERAPIST_FIELDS)


def test_a_new_session_record_is_cleared():
    buffer = records.new_records(1, records.SESSION)
    buffer[0].n_withdrawal = 3
    buffer[0].alliance = 0.4
    row = records.new_session_record(buffer)
    assert row.n_withdrawal == 0 and row.alliance == 0


def test_counting_helpers_add_to_the_named_field_only():
    row = records.new_records(1, records.SESSION)[0]
    for family in (IMMEDIATE, EXPLORATORY, EXPLORATORY, OTHER):
        records.count_strategy(row, family)
    for outcome in (RESOLVED, UNRESOLVED, UNRESOLVED, PARTLY_RESOLVED):
        records.count_episode_outcome(row, outcome)
    assert (row.n_immediate, row.n_exploratory, row.n_other_strategy) == (1, 2, 1)
    assert (row.n_resolved, row.n_partly_resolved, row.n_unresolved) == (1, 1, 2)
    assert row.n_withdrawal == 0


def test_the_session_log_has_room_for_the_longest_session():
    log = records.IN_SESSION.fields["events"][0]
    assert log.shape == (records.max_events_per_session(30),)
