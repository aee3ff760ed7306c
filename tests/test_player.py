"""The app's session player without a browser: stepping, going back, next marker, a fork."""

from simulation.model.taxonomy import RESPONSES
from simulation.teach.player import SessionPlayer


def test_steps_reveal_one_segment_and_back_returns_the_same_transcript():
    player = SessionPlayer(n_sessions=4)
    player.step()
    assert (player.session, player.segment) == (1, 0)
    for _ in range(player.n_segments + 1):
        player.step()
    assert (player.session, player.segment) == (2, 0) and player.held == 2
    seen = player.transcript()
    player.back()
    assert (player.session, player.segment) == (1, player.n_segments)
    assert [line.kind for line in player.transcript()][-2:] == ["summary", "report"]
    player.step()
    assert player.transcript() == seen


def test_next_marker_stops_at_a_marker_and_the_course_ends():
    player = SessionPlayer(n_sessions=3)
    player.next_marker()
    assert player.markers_so_far()[-1] == f"{player.session}.{player.segment}"
    while player.running:
        player.step()
    assert player.course_over and "here" in player.where


def test_a_fork_keeps_pace_and_is_identical_before_its_segment():
    player = SessionPlayer(n_sessions=4)
    for _ in range(3):
        player.next_marker()
    session, segment = (int(x) for x in player.markers_so_far()[-1].split("."))
    player.make_fork(session, segment, RESPONSES["invite"])

    def before(lines):
        return [line for line in lines if (line.session, line.segment) < (session, segment)]

    assert before(player.transcript()) == before(player.transcript(forked=True))
    assert player.transcript() != player.transcript(forked=True)
    player.go_to(player.session + 1, 0)
    assert player.forked.week == player.held


def test_custom_sliders_set_the_patient_and_the_therapist():
    player = SessionPlayer(custom=True, pd_severity=0.2, insight=0.9, noticing=0.8, exploratory=False)
    patient, therapist = player.original.patients[0], player.original.therapists[0]
    assert patient.pd_severity == 0.2 and patient.insight == 0.9
    assert therapist.noticing == 0.8 and not therapist.exploratory_repertoire


def test_an_injected_error_is_a_fork_at_the_next_marker():
    player = SessionPlayer(n_sessions=4)
    player.step()
    text = player.inject_error()
    session, segment = player.session, player.segment
    assert player.markers_so_far()[-1] == f"{session}.{segment}", "the cursor moved to the next marker"
    assert text.startswith(f"Injected therapist error at [{session}.{segment}]") and player.injected == text
    assert player.fork.response in (RESPONSES["hostile"], RESPONSES["let-pass"])

    def before(lines):
        return [line for line in lines if (line.session, line.segment) < (session, segment)]

    assert before(player.transcript()) == before(player.transcript(forked=True))
    assert player.transcript() != player.transcript(forked=True)
    player.inject_error("miss")  # at the marker under the cursor
    assert (player.fork.session, player.fork.segment) == (session, segment)
    assert player.fork.response == RESPONSES["let-pass"] and "lets the marker pass" in player.injected
    player.clear_fork()
    assert player.injected == ""


def test_the_simulated_response_is_read_after_the_marker():
    """An unclear intervention (N2) of the segment's ordinary work before a marker is no response to it."""
    n2_first = 0
    for seed in (3, 4, 5, 6):  # courses until one has a marker after an unclear intervention in its segment
        player = SessionPlayer(seed=seed, n_sessions=8)
        player.go_to(8, 9)
        _, events, _ = player.tables()
        for (session, segment), here in events.groupby(["session", "segment"]):
            kinds, codes = list(here.kind), list(here.code)
            if "marker" not in kinds:
                continue
            after = list(zip(kinds, codes, strict=True))[kinds.index("marker") + 1 :]
            hostile = ("negative", "N1") in after
            assert (player.simulated_response(session, segment) == "reacted with hostility") == hostile
            n2_first += ("negative", "N2") in list(zip(kinds, codes, strict=True))[: kinds.index("marker")]
        if n2_first:
            break
    assert n2_first > 0, "no course has a marker after an unclear intervention in its segment"


def test_after_a_dropout_step_and_next_marker_say_why_nothing_happens():
    player = SessionPlayer(seed=3, n_sessions=12)  # this seed's patient leaves after session 4
    while player.running:
        player.step()
    assert player.original.patients[0].dropped_out and player.held < 12
    player.step()
    assert f"dropped out after session {player.held}" in player.note
    player.next_marker()
    assert "dropped out" in player.note
    player.back()
    assert player.note == ""


def test_difficulty_levels_stop_at_markers_of_their_salience():
    from simulation.teach.player import LEVELS

    for level in ("1 salient (4-5)", "3 subtle (1-2)"):
        player = SessionPlayer(n_sessions=6)
        low, high = LEVELS[level]
        for _ in range(3):
            player.next_marker(level)
            if player.course_over:
                break
            assert low <= player._marker_salience_under_cursor() <= high


def test_the_default_player_opens_at_the_pinned_scenario():
    from simulation.teach.scenarios import scenario

    player = SessionPlayer()
    pinned = scenario("hostile-vs-metacommunication")
    assert (player.course_seed, player.n_sessions) == (pinned.seed, pinned.n_sessions)
    assert f"seed {pinned.seed} (pinned)" in player.setting
