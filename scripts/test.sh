#!/usr/bin/env bash
# Install everything the tests need and run them: lint and the whole suite on one Python (FULL_PYTHON, default
# 3.11), then the smoke subset (`pytest -m smoke`, named in tests/conftest.py) on every other supported Python,
# each in its own venv (.venv-3.11, .venv-3.12, .venv-3.13). In CI every supported Python must be there; elsewhere
# a missing one is reported and left out.
# Usage: bash scripts/test.sh [pytest args for the whole suite]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh

# venv_for VERSION: .venv-VERSION with the package and every extra (the README's commands and the tests)
venv_for() {
  local venv=".venv-$1"
  [ -x "$venv/bin/python" ] || "$(python_for "$1")" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e ".[all]"
}

NEWEST="$(newest_python)"
[ -n "$NEWEST" ] || { echo "rupture-sim needs Python 3.11, 3.12 or 3.13; none was found." >&2; exit 1; }
FULL="${FULL_PYTHON:-3.11}"
[ -n "$(python_for "$FULL")" ] || FULL="$("$NEWEST" -c 'import sys; print(*sys.version_info[:2], sep=".")')"
SMOKE=()
for version in "${PYTHONS[@]}"; do
  [ "$version" = "$FULL" ] && continue
  if [ -n "$(python_for "$version")" ]; then
    SMOKE+=("$version")
  elif [ -n "${CI:-}" ]; then
    echo "CI needs Python $version (pyenv install $version)." >&2
    exit 1
  else
    echo "Python $version not found: its smoke run is left out." >&2
  fi
done

# The app's browser tests drive Debian's Chromium (never a browser Playwright downloads).
command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

venv_for "$FULL"
".venv-$FULL/bin/ruff" check .
".venv-$FULL/bin/ruff" format --check .
echo "== Python $FULL: the whole suite"
# Compile the kernels once before the workers need them; then one pytest worker per core (pytest-xdist), each
# file on one worker so its module fixtures (cohorts, the app server and its browser) are built once.
".venv-$FULL/bin/rupture-sim" warm-up
".venv-$FULL/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=40 "$@"
for version in "${SMOKE[@]}"; do
  venv_for "$version"
  echo "== Python $version: the smoke subset"
  ".venv-$version/bin/python" -m pytest -m smoke -q
done
