#!/usr/bin/env bash
# One command for teachers: install rupture-sim with its teaching app (the "app" extra) and start the
# app on this machine only (127.0.0.1). Then open http://127.0.0.1:8765/?projector=1 in a browser.
# Usage: bash scripts/teach.sh [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet -e ".[app]"
exec .venv/bin/rupture-sim app --host 127.0.0.1 "$@"
