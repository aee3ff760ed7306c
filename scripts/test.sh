#!/usr/bin/env bash
# Install everything the tests need into .venv and run the whole suite (lint included).
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,app]"
# The app's browser tests drive Debian's Chromium (never a browser Playwright downloads).
command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# One pytest worker per core (pytest-xdist); a file stays on one worker, so its module fixtures
# (cohorts, the app server and its browser) are built once. The slowest tests are listed at the end.
.venv/bin/rupture-sim warm-up  # compile the kernels once, before the workers need them
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=40 "$@"
