"""The scenario library: every chapter's point shows at its pinned seed, in the course the app plays.

The seeds are pinned by ``python -m simulation.teach.scenarios --pin`` (``pinned.json``); after a model
change that moves them, these tests say which chapter no longer shows its point, and re-pinning fixes it.
"""

import json

import pytest

from simulation.model.taxonomy import RESPONSES
from simulation.teach.chapters import CHAPTERS
from simulation.teach.player import SessionPlayer
from simulation.teach.scenarios import PINNED_FILE, check, fork_futures, main, pinned, scenario


def _player(name):
    s = scenario(name)
    player = SessionPlayer(chapter_name=name)
    player.go_to(s.n_sessions, player.n_segments)
    return s, player


def _answers(player):
    """(session, segment, type, salience, what the simulated therapist did) of every marker in the player's course."""
    _, events, _ = player.tables()
    markers = events[events.kind == "marker"]
    return [(m.session, m.segment, m.rupture_type, m.salience, player.simulated_response(m.session, m.segment))
            for m in markers.itertuples()]  # fmt: skip


def test_every_chapter_is_pinned_and_shows_its_point():
    table = pinned()
    assert set(table) == set(CHAPTERS)
    for name, s in table.items():
        evidence = check(name, s.seed, s.n_sessions)
        assert evidence.ok, f"{name} at seed {s.seed}: {evidence.shows} (re-pin: scenarios --pin)"
        assert evidence.marker == s.marker and evidence.shows == s.shows


def test_quiet_withdrawal_the_novice_misses_most_withdrawal_markers():
    s, player = _player("quiet-withdrawal")
    withdrawal = [a for a in _answers(player) if a[2] == "withdrawal"]
    missed = sum(a[4] == "missed it" for a in withdrawal)
    assert len(withdrawal) >= 6 and missed * 2 > len(withdrawal), withdrawal
    assert not player.original.patients[0].dropped_out and player.held == s.n_sessions
    assert player.simulated_response(*(int(x) for x in s.marker.split("."))) == "missed it"


def test_hostile_vs_metacommunication_the_invite_keeps_the_patient_longer_than_hostility():
    s, player = _player("hostile-vs-metacommunication")
    assert not player.original.patients[0].dropped_out and player.held == s.n_sessions, "the patient stays"
    session, segment = (int(x) for x in s.marker.split("."))
    assert player.simulated_response(session, segment) == "reacted with hostility"
    table = fork_futures(s.chapter, s.seed, s.n_sessions, s.marker, [RESPONSES["invite"], 0])
    invite, rules = (table[table.response == code].set_index("future") for code in (RESPONSES["invite"], 0))
    assert (invite.attended > rules.attended).sum() > (invite.attended < rules.attended).sum()
    assert invite.dropped_out.sum() < rules.dropped_out.sum() or (invite.attended > rules.attended).any()
    assert (invite.alliance_change > rules.alliance_change).mean() >= 2 / 3
    player.make_fork(session, segment, RESPONSES["invite"])  # the fork the class makes opens an episode
    forked = [line.text for line in player.transcript(forked=True, upto_cursor=False)
              if (line.session, line.segment) == (session, segment)]  # fmt: skip
    assert any("a resolution episode opens" in text for text in forked), forked


def test_deep_resolution_an_episode_goes_deep_and_clarifying_stops_it_shallow():
    s, player = _player("deep-resolution")
    _, events, _ = player.tables()
    deep = events[(events.kind == "episode_end") & (events.label == "resolved") & (events.stage >= 4)]
    assert len(deep) >= 1 and not player.original.patients[0].dropped_out
    session, segment = (int(x) for x in s.marker.split("."))
    player.make_fork(session, segment, RESPONSES[s.fork])
    _, fork_events, _ = player.tables(forked=True)

    def deepest(ev):
        here = ev[(ev.session == session) & (ev.segment >= segment) & (ev.kind == "episode_end")]
        return int(here.stage.iloc[0])

    assert deepest(fork_events) < deepest(events), "an immediate strategy keeps the episode shallower"


def test_aft_mid_course_the_therapist_notices_more_from_session_8():
    _, player = _player("aft-mid-course")
    answers = [a for a in _answers(player) if a[4] != "had no marker to answer"]
    before = [a[4] != "missed it" for a in answers if a[0] < 8]
    after = [a[4] != "missed it" for a in answers if a[0] >= 8]
    assert sum(after) / len(after) >= sum(before) / len(before) + 0.15
    assert not player.original.patients[0].dropped_out


def test_the_check_command_reports_each_chapter(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}: seed {pinned()[name].seed}" in out for name in CHAPTERS) and "shows its point" in out


def test_the_pinned_table_is_one_json_file_with_a_row_per_chapter():
    rows = json.loads(PINNED_FILE.read_text())
    assert all(set(row) == {"chapter", "seed", "n_sessions", "marker", "fork", "shows"} for row in rows.values())
    with pytest.raises(Exception, match="preset must be one of"):
        scenario("no-such-chapter")


def test_the_class_plan_shows_the_pinned_table():
    from simulation.teach.scenarios import CLASS_PLAN, PLAN_END, PLAN_START, plan_table

    text = CLASS_PLAN.read_text()
    block = text[text.index(PLAN_START) + len(PLAN_START) : text.index(PLAN_END)].strip()
    assert block == plan_table(pinned()), "re-pin (python -m simulation.teach.scenarios --pin) rewrites it"
