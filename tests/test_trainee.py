"""Trainee feedback: the hidden truth and every alternative's consequences on the same random numbers."""

from simulation.model.taxonomy import LET_PASS, RESPONSES
from simulation.teach.player import SessionPlayer
from simulation.teach.trainee import CHOICES, HORIZON, explain, feedback


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
