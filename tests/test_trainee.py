"""Trainee feedback: the hidden truth and every alternative's consequences on the same random numbers."""

from simulation.model.taxonomy import LET_PASS, RESPONSES, STRATEGIES
from simulation.teach.player import SessionPlayer
from simulation.teach.trainee import CHOICES, HORIZON, explain, feedback, spread


def test_feedback_shows_the_spread_of_every_alternative_over_paired_futures():
    player = SessionPlayer(n_sessions=6)
    for _ in range(3):
        player.next_marker()
    where = player.markers_so_far()[-1]
    result = feedback(player, where, RESPONSES["invite"], n_futures=8)
    table = result.table
    assert len(table) == len(CHOICES) + 1 == 12 and list(table.yours).count("<-") == 1
    assert list(table.response)[-1] == "simulated therapist"
    assert "true salience" in result.truth and "T6" in result.explanation and 1 <= result.rank <= 11
    assert result.n_futures == 8 and len(result.spread) == 12 * 8
    passed = table[table.response == "let-pass"].iloc[0]
    assert passed.resolved == "0/8", "a marker let pass opens no episode to resolve"
    assert result.spread.groupby("response").alliance_change.nunique().max() > 1, "the futures spread"
    assert len(result.lines) == 12 and all("futures" in line for line in result.lines)
    assert "T13" in explain(LET_PASS)


def test_the_spread_figure_draws_every_alternative():
    from simulation.teach.course_plots import figure_png, spread_figure

    player = SessionPlayer(n_sessions=5)
    player.next_marker()
    result = feedback(player, player.markers_so_far()[-1], LET_PASS, n_futures=4)
    fig = spread_figure(result.spread, "let-pass", HORIZON)
    labels = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert len(labels) == 12 and "let-pass  (yours)" in labels
    assert figure_png(fig)[:4] == b"\x89PNG"


def test_choices_become_a_policy_run_on_the_same_patients():
    from simulation.teach.trainee import choices_as_policy, policy_on_caseload

    choices = {("withdrawal", 2): LET_PASS, ("withdrawal", 4): RESPONSES["invite"],
               ("withdrawal", 5): RESPONSES["invite"], ("confrontation", 4): RESPONSES["validate"]}  # fmt: skip
    policy = choices_as_policy(choices)
    assert policy == {**choices, "withdrawal": RESPONSES["invite"], "confrontation": RESPONSES["validate"]}
    table = policy_on_caseload({("withdrawal", 3): LET_PASS, ("confrontation", 4): LET_PASS}, "adult_bpd",
                               n_patients=60, n_sessions=12, seed=1)  # fmt: skip
    assert list(table.therapist) == ["your choices", "novice", "aft_trained"]
    assert table["dropout (95% CI)"].str.match(r"\d+% \(\d+%-\d+%\)").all()
    # A trainee who lets every marker pass repairs nothing: more dropout than AFT-trained therapists.
    share = table["dropout (95% CI)"].str.extract(r"^(\d+)%")[0].astype(int)
    assert share.iloc[0] > share.iloc[2]


def _mid_session_marker(player) -> tuple[int, int]:
    """The first marker of the chapter that is neither in a session's first segment nor in its last."""
    while not player.course_over:
        player.next_marker()
        session, segment = (int(part) for part in player.markers_so_far()[-1].split("."))
        if 0 < segment < player.n_segments - 1:
            return session, segment
    raise AssertionError("the chapter shows no mid-session marker")


def test_the_ten_strategies_are_ten_moves_at_a_mid_session_marker():
    """Issue 18: the 10 strategies give at least 5 distinct outcome distributions over paired futures,
    and an imposed strategy is one move, followed by the therapist's own responses."""
    player = SessionPlayer()  # the default chapter
    session, segment = _mid_session_marker(player)
    table = spread(player, session, segment, n_futures=12)
    outcome = ["alliance_change", "resolved", "dropped_out", "symptom_change"]
    strategies = [name for name, code in CHOICES.items() if code <= len(STRATEGIES)]
    distributions = {
        tuple(map(tuple, table[table.response == name].sort_values("future")[outcome].round(9).to_numpy()))
        for name in strategies
    }
    assert len(strategies) == 10 and len(distributions) >= 5
    again = spread(player, session, segment, n_futures=12)  # paired and reproducible
    assert again.equals(table)

    # Linking to other relationships is a stage-4 move: the therapist's own policy never picks it at stages 1-3.
    chosen = RESPONSES["link-outside"]
    player.make_fork(session, segment, chosen)
    while player.held <= session:
        player.step()
    moves = [line.text for line in player.transcript(forked=True, upto_cursor=False)
             if line.kind == "strategy" and line.session == session and line.segment > segment]  # fmt: skip
    label = STRATEGIES[chosen - 1]
    assert len(moves) >= 2 and label in moves[0], moves
    assert label not in moves[1], "after the move the therapist answers by their own policy"
