#!/usr/bin/env bash
# Install the package with the app extra into .venv and start the teaching app on this machine only.
# A new .venv gets the newest supported Python found (as scripts/run.sh); an existing .venv is kept.
# Usage: bash scripts/teach.sh [rupture-sim app options, e.g. --port 8800]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh
ensure_venv
.venv/bin/python -m pip install --quiet -e ".[app]"
.venv/bin/rupture-sim warm-up  # compiles once after installing (about a minute), then says "already compiled"
exec .venv/bin/rupture-sim app --host 127.0.0.1 "$@"
