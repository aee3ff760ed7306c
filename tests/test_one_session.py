"""experiments/one_session.py, the first page for a new researcher, runs and tells a session in 3RS terms."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_one_session_tells_both_therapists_on_the_same_patient():
    out = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "one_session.py")], capture_output=True, text=True, check=True
    ).stdout
    novice, aft = out.split("with an AFT-trained therapist")
    assert "with a novice therapist" in novice
    for story in (novice, aft):
        assert "The patient shows a withdrawal marker (W6: content/affect split)" in story  # same patient, same draws
        assert "Alliance " in story
    assert "exploratory metacommunication" in aft and "exploratory metacommunication" not in novice
    assert "responds badly" in novice  # the novice meets a confrontation with hostility in this session
