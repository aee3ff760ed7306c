"""Rewrite the golden baseline (tests/baseline.json) from the current model.

Run only on purpose, when a change is meant to move numbers, and commit the
new baseline in the same commit with a message that says why they moved:

    .venv/bin/python scripts/update_baseline.py

The script refuses to write if the two engines disagree (that is a bug, not a
new baseline).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import baseline


def main() -> int:
    """Compute the fingerprints on both engines and write them if the engines agree."""
    cohort = baseline.compute("cohort")
    agents = baseline.compute("agents")
    differ = [name for name, prints in agents.items() if prints != cohort[name]]
    if differ:
        print(f"The engines disagree on {', '.join(differ)}: baseline not written.", file=sys.stderr)
        return 1
    baseline.BASELINE_FILE.write_text(json.dumps(cohort, indent=1, sort_keys=True) + "\n")
    print(f"wrote {baseline.BASELINE_FILE} ({len(cohort)} settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
