#!/usr/bin/env bash
# Install the package with the app extra into .venv and start the teaching app on this machine only.
# A new .venv gets the newest supported Python found (as scripts/run.sh); an existing .venv is kept.
# Usage: bash scripts/teach.sh [rupture-sim app options, e.g. --port 8800]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh
if [ ! -x .venv/bin/python ]; then
  PYTHON="${PYTHON:-$(newest_python)}"
  [ -n "$PYTHON" ] || { echo "rupture-sim needs Python 3.11, 3.12 or 3.13; none was found." >&2; exit 1; }
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e ".[app]"
.venv/bin/rupture-sim warm-up  # compiles once after installing (about a minute), then says "already compiled"
exec .venv/bin/rupture-sim app --host 127.0.0.1 "$@"
