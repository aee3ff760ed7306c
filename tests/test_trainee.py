"""Trainee rounds: the hidden truth, every alternative over paired futures, an honest verdict, a fair policy."""

import re

import numpy as np
import pandas as pd

from simulation.api import simulate
from simulation.model.taxonomy import LET_PASS, RESPONSES, STRATEGIES
from simulation.teach.debrief import COLUMNS, debrief_csv, debrief_html
from simulation.teach.player import SessionPlayer
from simulation.teach.trainee import (
    CHOICES,
    HORIZON,
    VERDICT_RULE,
    answer_of,
    explain,
    feedback,
    question,
    spread,
    verdict,
)


def _player_at_third_marker(n_sessions=6):
    player = SessionPlayer(n_sessions=n_sessions)
    for _ in range(3):
        player.next_marker()
    return player, player.markers_so_far()[-1]


def test_feedback_shows_the_spread_and_a_paired_verdict_against_letting_it_pass():
    player, where = _player_at_third_marker()
    result = feedback(player, where, RESPONSES["invite"], n_futures=8)
    table = result.table
    assert len(table) == len(CHOICES) + 1 == 12 and list(table.yours).count("<-") == 1
    assert list(table.response)[-1] == "simulated therapist"
    assert "true salience" in result.truth and "T6" in result.explanation
    assert result.verdict.word in ("better", "worse", "no reliable difference")
    assert result.verdict.better + result.verdict.worse + result.verdict.equal == 8
    assert re.search(r"letting it pass: better in \d+ of 8 paired futures, worse in \d+", result.verdict.sentence)
    assert "negative = fewer symptoms" in " ".join(table.columns)
    passed = table[table.response == "let-pass"].iloc[0]
    assert passed.iloc[list(table.columns).index("episode resolved")] == "0/8", "a marker let pass opens no episode"
    assert table[table.response == "let-pass"]["verdict"].iloc[0] == "reference"
    assert result.spread.groupby("response").alliance_change.nunique().max() > 1, "the futures spread"
    assert len(result.lines) == 12 and all("futures" in line for line in result.lines)
    assert "T13" in explain(LET_PASS)
    again = feedback(player, where, RESPONSES["clarify"], n_futures=8)  # the futures are kept: only the verdict moves
    assert list(player.spreads) == [(where, 8)] and again.spread is result.spread


def test_the_question_hides_the_true_salience_the_feedback_reveals():
    player, where = _player_at_third_marker()
    asked = question(player, where)
    assert "an observer would rate its salience" in asked and "true salience" not in asked


def test_the_verdict_follows_the_stated_rule():
    futures = pd.RangeIndex(30)
    passed = pd.Series(np.zeros(30), index=futures)
    clear = verdict(pd.Series(np.r_[np.full(20, 0.02), np.zeros(10)], index=futures), passed)
    assert (clear.word, clear.better, clear.worse, clear.equal) == ("better", 20, 0, 10) and clear.p_value < 0.001
    worse = verdict(pd.Series(np.r_[np.full(12, -0.02), np.full(2, 0.02), np.zeros(16)], index=futures), passed)
    assert worse.word == "worse"
    mixed = verdict(pd.Series(np.r_[np.full(9, 0.02), np.full(6, -0.02), np.zeros(15)], index=futures), passed)
    assert mixed.word == "no reliable difference" and "No reliable difference from letting it pass" in mixed.sentence
    tiny = verdict(pd.Series(np.full(30, 0.004), index=futures), passed)
    assert tiny.equal == 30 and tiny.word == "no reliable difference", "differences within 0.005 count as equal"
    assert "sign test" in VERDICT_RULE and "0.005" in VERDICT_RULE and f"{HORIZON} sessions later" in VERDICT_RULE


def test_a_policy_replaces_only_the_choice_of_response():
    """Noticing and hostility stay the therapist's own: the first marker of every course is met the same way."""
    run = {"n_patients": 60, "n_sessions": 2, "seed": 4}
    base = simulate("adult_bpd", "experienced", params={"reactivity": 0.5}, **run).events
    mine = simulate("adult_bpd", "experienced", params={"reactivity": 0.5}, policy={"withdrawal": "invite",
                    "confrontation": "clarify"}, **run).events  # fmt: skip

    def first_answer(events):
        out = {}
        for pid, e in events.groupby("patient_id"):
            kinds, codes = list(e.kind), list(e.code)
            if "marker" in kinds:
                at = kinds.index("marker")
                after = list(zip(kinds[at + 1 :], codes[at + 1 :], strict=True))
                out[pid] = (after[:1] == [("missed", codes[at])], ("negative", "N1") in after)
        return out

    a, b = first_answer(base), first_answer(mine)
    assert a.keys() == b.keys() and len(a) > 40
    assert a == b, "the same first markers are missed, and the same met with hostility"
    assert sum(v[0] for v in a.values()) > 0 and sum(v[1] for v in a.values()) > 0, "some missed, some hostile"


def test_answers_as_a_policy_against_the_same_therapist_on_the_same_patients():
    from simulation.teach.trainee import choices_as_policy, policy_on_caseload

    choices = {("withdrawal", 2): LET_PASS, ("withdrawal", 4): RESPONSES["invite"],
               ("withdrawal", 5): RESPONSES["invite"], ("confrontation", 4): RESPONSES["validate"]}  # fmt: skip
    policy = choices_as_policy(choices)
    assert policy == {**choices, "withdrawal": RESPONSES["invite"], "confrontation": RESPONSES["validate"]}
    table = policy_on_caseload({("withdrawal", 3): LET_PASS, ("confrontation", 4): LET_PASS},
                               "hostile-vs-metacommunication", n_patients=200, n_sessions=12, seed=1)  # fmt: skip
    assert list(table.therapist) == ["your answers (experienced therapist)",
                                     "baseline: the experienced therapist's own answers", "novice therapist",
                                     "AFT-trained therapist"]  # fmt: skip
    assert table["dropout (95% CI)"].str.match(r"\d+% \(\d+%-\d+%\)").all()
    difference = table["dropout vs baseline (paired, 95% CI)"].iloc[0]
    low = int(re.search(r"\(([+-]\d+) to", difference).group(1))
    assert low > 0, f"letting every marker pass loses more patients than the same therapist's own answers: {difference}"
    assert table["dropout vs baseline (paired, 95% CI)"].iloc[1] == ""


def test_a_round_exports_a_self_contained_debrief_sheet_and_csv():
    player, where = _player_at_third_marker()
    shown = feedback(player, where, RESPONSES["clarify"], n_futures=6)
    answer = answer_of(player, shown, "  She went quiet after my interpretation <b>  ")
    assert answer.rationale == "She went quiet after my interpretation <b>" and answer.answer == "clarify"
    page = debrief_html([answer], player.chapter.title, player.setting)
    assert "http" not in page and "<script" not in page and "<link" not in page
    assert "She went quiet after my interpretation &lt;b&gt;" in page and "The verdict rule." in page
    assert f"[{where}]" in page and "true salience" in page
    csv = pd.read_csv(__import__("io").StringIO(debrief_csv([answer])))
    assert list(csv.columns) == list(COLUMNS) and csv["answer"].iloc[0] == "clarify"


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
