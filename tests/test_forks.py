"""What-if forks: a response imposed at one segment, on both engines, on the same random numbers."""

import pandas as pd
import pytest

from simulation.api import simulate
from simulation.model.parameters import ParameterError
from simulation.model.taxonomy import RESPONSES
from simulation.run.forks import Fork, parse_fork

SIZE = {"n_patients": 2, "n_sessions": 6, "seed": 3}


def _before(table: pd.DataFrame, session: int, segment: int | None = None) -> pd.DataFrame:
    keep = table["session"] < session
    if segment is not None:
        keep |= (table["session"] == session) & (table["segment"] < segment)
    return table[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def original():
    return simulate("adult_bpd", "experienced", **SIZE)


@pytest.fixture(scope="module")
def fork_point(original):
    """The first marker of patient 0 from session 2 on that the therapist missed or met with hostility."""
    ev = original.events
    bad = ev[(ev.patient_id == 0) & (ev.session >= 2) & ev.kind.isin(["missed", "negative"]) & (ev.salience > 0)]
    row = bad.iloc[0]
    return int(row.session), int(row.segment)


@pytest.mark.parametrize("engine", ["cohort", "agents"])
def test_a_fork_is_identical_before_and_differs_after(original, fork_point, engine):
    session, segment = fork_point
    forked = simulate("adult_bpd", "experienced", engine=engine, overrides=[Fork(0, session, segment, 4)], **SIZE)
    for name in ("events", "sessions"):
        mine, theirs = original.tables()[name], forked.tables()[name]
        cut = segment if name == "events" else None
        pd.testing.assert_frame_equal(_before(mine, session, cut), _before(theirs, session, cut))
    ev = forked.events[(forked.events.patient_id == 0) & (forked.events.session == session)]
    assert not (ev[ev.segment == segment].kind.isin(["missed", "negative"])).any()
    strategy = ev[(ev.segment == segment + 1) & (ev.kind == "strategy")]
    assert list(strategy.code) == ["S4"], "the imposed strategy (invite discussion) is the new episode's first"
    after = forked.sessions[(forked.sessions.patient_id == 0) & (forked.sessions.session == session)]
    before = original.sessions[(original.sessions.patient_id == 0) & (original.sessions.session == session)]
    assert after.alliance.iloc[0] != before.alliance.iloc[0]
    other = forked.sessions[forked.sessions.patient_id == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(other, original.sessions[original.sessions.patient_id == 1].reset_index(drop=True))


def test_both_engines_give_the_same_forked_course(fork_point):
    session, segment = fork_point
    forks = [(0, session, segment, 13), (1, 2, 3, 11)]
    cohort = simulate("adult_bpd", "novice", engine="cohort", overrides=forks, **SIZE)
    agents = simulate("adult_bpd", "novice", engine="agents", overrides=forks, **SIZE)
    for name, table in cohort.tables().items():
        pd.testing.assert_frame_equal(table, agents.tables()[name], obj=name)
    hostile = cohort.events[(cohort.events.patient_id == 0) & (cohort.events.session == session)]
    assert "N1" in set(hostile[hostile.segment == segment].code), "an imposed hostile response is logged"


@pytest.mark.parametrize(
    ("forks", "field"),
    [
        ([(0, 0, 1, 4)], "session"),
        ([(0, 2, 99, 4)], "segment"),
        ([(0, 2, 1, 42)], "response"),
        ([(0, 2)], "4 or 5 values"),
        ([(0, 2, 1, 4, -1)], "continuation"),
        ([(0, 2, 1, 0)], "only with a continuation"),
        ([(0, 2, 1, 4, 1), (0, 3, 1, 4, 2)], "one continuation per patient"),
    ],
)
def test_bad_overrides_are_named(forks, field):
    with pytest.raises(ParameterError, match=field):
        simulate("adult_bpd", "novice", overrides=forks, **SIZE)


def test_a_fork_is_parsed_from_text():
    assert parse_fork("3.7:metacommunicate") == Fork(0, 3, 7, 4)
    with pytest.raises(ParameterError, match="response must be one of"):
        parse_fork("3.7:shout")
    with pytest.raises(ParameterError, match=r"SESSION\.SEGMENT:RESPONSE"):
        parse_fork("7:invite")


# --- a therapist policy: the response as a function of what the therapist can observe ------------
def _episode_openings(events, rupture_type):
    opened = events[(events["kind"] == "stage") & (events["stage"] == 1) & (events["detail"] == 1)]
    return opened[opened["rupture_type"] == rupture_type]


def test_a_policy_that_lets_withdrawal_pass_opens_no_withdrawal_episode_on_both_engines():
    kwargs = {"n_patients": 24, "n_sessions": 8, "seed": 5, "policy": {"withdrawal": "let-pass"}}
    cohort = simulate("adult_bpd", "experienced", engine="cohort", **kwargs)
    agents = simulate("adult_bpd", "experienced", engine="agents", **kwargs)
    pd.testing.assert_frame_equal(cohort.events, agents.events, check_exact=True)
    assert _episode_openings(cohort.events, "withdrawal").empty
    default = simulate("adult_bpd", "experienced", n_patients=24, n_sessions=8, seed=5)
    assert not _episode_openings(default.events, "withdrawal").empty
    assert len(_episode_openings(cohort.events, "confrontation")) > 0  # confrontation is left to the rules


def test_a_policy_strategy_is_the_strategy_of_the_episodes_it_opens():
    res = simulate("adult_bpd", "experienced", n_patients=24, n_sessions=6, seed=2,
                   policy={"confrontation": "invite", ("confrontation", 5): "acknowledge"})  # fmt: skip
    ev = res.events
    openings = _episode_openings(ev, "confrontation")
    assert len(openings) > 5
    firsts, later = [], []
    for index in openings.index:
        same = ev.loc[index + 1 :]
        same = same[(same["patient_id"] == ev.loc[index, "patient_id"]) & (same["session"] == ev.loc[index, "session"])]
        episode = same.iloc[: next((k for k, kind in enumerate(same["kind"]) if kind == "episode_end"), len(same))]
        strategies = list(episode[episode["kind"] == "strategy"]["code"])
        firsts += strategies[:1]
        later += strategies[1:]
    assert set(firsts) <= {"S4", "S5"}  # the policy's strategy is the episode's first move
    assert set(later) - {"S4", "S5"}, "after the move the therapist answers by their own policy"


def test_bad_policies_are_one_sentence():
    for policy, field in (
        ({"anger": "invite"}, "policy keys"),
        ({("withdrawal", 6): "invite"}, "policy keys"),
        ({"withdrawal": "shout"}, "response must be one of"),
        ({"withdrawal": 99}, "policy responses"),
        (["withdrawal"], "policy must be a mapping"),
    ):
        with pytest.raises(ParameterError, match=field):
            simulate("adult_bpd", "experienced", n_patients=2, n_sessions=2, policy=policy)


def _noticed_marker_after_a_closed_episode(events: pd.DataFrame) -> tuple[int, int, int]:
    """(patient, session, segment) of a noticed marker that opens an episode after another one closed that session."""
    for (pid, session), e in events.groupby(["patient_id", "session"], sort=True):
        missed = set(e.loc[e["kind"] == "missed", "segment"])
        is_open = closed = False
        for row in e.itertuples():
            if row.kind == "episode_end":
                is_open, closed = False, True
            elif row.kind == "marker" and row.segment not in missed and not is_open:
                if closed:
                    return int(pid), int(session), int(row.segment)
                is_open = True  # a noticed marker outside an episode opens one
    raise AssertionError("no noticed marker after a closed episode in this sample")


def test_a_fork_after_an_episode_closed_in_the_same_session_still_applies():
    kwargs = {"patient_ids": list(range(10)), "n_sessions": 3, "seed": 1}
    original = simulate("adult_bpd", "experienced", **kwargs).events
    pid, session, segment = _noticed_marker_after_a_closed_episode(original)
    forked = simulate("adult_bpd", "experienced", overrides=[(pid, session, segment, RESPONSES["let-pass"])], **kwargs)
    e = forked.events
    after = e[(e["patient_id"] == pid) & (e["session"] == session) & (e["segment"] == segment)]
    assert (after["kind"] == "missed").any()  # the fork was not cancelled by the earlier close
