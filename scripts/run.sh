#!/usr/bin/env bash
# Install the package into .venv and run the main job (results/default/).
# Usage: bash scripts/run.sh [rupture-sim run options]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet -e .
.venv/bin/rupture-sim run "$@"
