"""Teaching: the narration, ``rupture-sim demo`` and ``rupture-sim export-session``, through the CLI."""

import re

import pandas as pd
import pytest

from simulation.model.taxonomy import STRATEGIES
from simulation.teach.narration import narrate_events
from simulation.tools.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_names_3rs_markers_and_strategies_in_plain_words(capsys):
    code, out, err = run_cli(capsys, "demo", "--sessions", "4", "--seed", "3")
    assert code == 0 and err == ""
    assert re.search(r"a (withdrawal|confrontation) marker, [WC]\d '", out)
    assert any(name in out for name in STRATEGIES)
    assert "Safran-Muran" in out and "Informants: the observer" in out and "Session 4." in out


def test_demo_fork_shows_the_same_course_up_to_the_fork(capsys):
    _, plain, _ = run_cli(capsys, "demo", "--sessions", "4", "--seed", "3")
    code, out, _ = run_cli(capsys, "demo", "--sessions", "4", "--seed", "3", "--fork", "3.2:metacommunicate")
    assert code == 0 and out.startswith(plain.rstrip("\n"))
    what_if = out[out.index("What if at [3.2]") :]
    assert "Identical to the original before [3.2]" in what_if
    assert "[3.3] The therapist invites discussion of thoughts or feelings about therapy (S4" in what_if
    assert "alliance_fork" in what_if


@pytest.mark.parametrize(
    ("argv", "field"),
    [(["--fork", "3.2:shout"], "response must be one of"), (["--fork", "3"], "SESSION.SEGMENT:RESPONSE"),
     (["--sessions", "0"], "--sessions"), (["--fork", "9.2:invite"], "session from 1 to 6")],
)  # fmt: skip
def test_bad_demo_input_is_one_sentence(capsys, argv, field):
    code, out, err = run_cli(capsys, "demo", *argv)
    assert code == 2 and out == "" and field in err and "Traceback" not in err and err.count("\n") == 1


def test_export_session_writes_a_self_contained_page(capsys, tmp_path):
    page = tmp_path / "course.html"
    code, out, _ = run_cli(capsys, "export-session", "--out", str(page), "--sessions", "4", "--fork", "3.2:invite")
    text = page.read_text()
    assert code == 0 and str(page) in out
    assert text.count('src="data:image/png;base64,') == 1 and "http" not in text
    assert "<script" not in text and "What if: at [3.2]" in text and "complaints about" in text
    code, _, err = run_cli(capsys, "export-session", "--out", str(page))
    assert code == 2 and "--overwrite" in err


def test_narration_of_hand_made_events():
    events = pd.DataFrame(
        [
            (1, 4, "marker", "W2", "minimal response", "withdrawal", 2, 2, 0, 0),
            (1, 4, "missed", "W2", "minimal response", "withdrawal", 2, 2, 0, 0),
            (1, 6, "marker", "C1", "complaints about the therapist", "confrontation", 4, 4, 0, 0),
            (1, 6, "stage", "", "confrontation marker acknowledged", "confrontation", 0, 0, 1, 1),
            (1, 7, "strategy", "S7", "links rupture to patient-therapist patterns", "confrontation", 0, 0, 1, 2),
            (1, 7, "episode_end", "", "resolved", "confrontation", 0, 0, 4, 4),
        ],
        columns=["session", "segment", "kind", "code", "label", "rupture_type", "salience", "observed_salience",
                 "stage", "detail"],
    )  # fmt: skip
    lines = narrate_events(events)
    assert [line.where for line in lines] == ["1.4", "1.4", "1.6", "1.6", "1.7", "1.7"]
    assert "withdrawal marker, W2 'minimal response' (salience 2 of 5, subtle" in lines[0].text
    assert "does not notice" in lines[1].text and "stage 1 of the Safran-Muran path" in lines[3].text
    assert "metacommunication" in lines[4].text and "ends resolved (deepest stage 4" in lines[5].text


def test_app_binds_locally_and_warns_for_other_hosts(capsys, monkeypatch):
    from simulation.teach import cli as teaching_cli

    calls = []
    monkeypatch.setattr(teaching_cli, "serve", lambda host, port: calls.append((host, port)) or 0)
    assert run_cli(capsys, "app")[0] == 0 and calls[-1] == ("127.0.0.1", 8765)
    code, _, err = run_cli(capsys, "app", "--host", "0.0.0.0", "--port", "9000")
    assert code == 0 and calls[-1] == ("0.0.0.0", 9000) and "warning" in err and "no login" in err


def test_one_command_for_teachers_installs_the_app_and_binds_locally():
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "teach.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert '-e ".[app]"' in text and "rupture-sim app --host 127.0.0.1" in text
