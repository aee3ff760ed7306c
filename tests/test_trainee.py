"""Trainee feedback: the hidden truth and every alternative's consequences on the same random numbers."""

from simulation.model.taxonomy import LET_PASS, RESPONSES
from simulation.view.player import SessionPlayer
from simulation.view.trainee import CHOICES, HORIZON, explain, feedback


def test_feedback_compares_every_alternative_at_a_marker():
    player = SessionPlayer(n_sessions=6)
    for _ in range(3):
        player.next_marker()
    where = player.markers_so_far()[-1]
    result = feedback(player, where, RESPONSES["invite"])
    table = result.table
    assert len(table) == len(CHOICES) == 11 and list(table.yours).count("<-") == 1
    assert "true salience" in result.truth and "T6" in result.explanation and 1 <= result.rank <= 11
    passed = table[table.response == "let-pass"].iloc[0]
    assert passed.deepest_stage == 0, "a marker let pass opens no episode"
    assert table[f"alliance_after_{HORIZON}_more"].nunique() > 1, "the alternatives differ"
    assert "T13" in explain(LET_PASS)


def test_choices_become_a_policy_run_on_the_same_patients():
    from simulation.view.trainee import choices_as_policy, policy_on_caseload

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
