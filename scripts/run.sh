#!/usr/bin/env bash
# Install the package (its core: what `simulate` and the main job need) into .venv and run the main job
# (results/default/). A new .venv gets the newest supported Python found (3.13, then 3.12, then 3.11; PYTHON=...
# chooses another); an existing .venv is kept.
# Usage: bash scripts/run.sh [rupture-sim run options]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh
if [ ! -x .venv/bin/python ]; then
  PYTHON="${PYTHON:-$(newest_python)}"
  [ -n "$PYTHON" ] || { echo "rupture-sim needs Python 3.11, 3.12 or 3.13; none was found." >&2; exit 1; }
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
.venv/bin/rupture-sim run "$@"
