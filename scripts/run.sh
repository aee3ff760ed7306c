#!/usr/bin/env bash
# Install the package (its core: what `simulate` and the main job need) into .venv and run the main job
# (results/default/). A new .venv gets the newest supported Python found (3.13, then 3.12, then 3.11; PYTHON=...
# chooses another); an existing .venv is kept.
# Usage: bash scripts/run.sh [rupture-sim run options]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh
ensure_venv
.venv/bin/python -m pip install --quiet -e .
.venv/bin/rupture-sim run "$@"
