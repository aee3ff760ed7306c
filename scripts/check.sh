#!/usr/bin/env bash
# What a model change must pass, in about 2 minutes on 2 cores: lint, the golden baseline, the rules,
# the engine-equivalence tests (cohort engine = Mesa agent view on many settings) and the
# parameter/docs tests. The whole suite (bash scripts/test.sh) runs in CI.
# Usage: bash scripts/check.sh [extra pytest args]   (after scripts/test.sh set up .venv-3.11; VENV=... for another)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-3.11}"
[ -x "$VENV/bin/python" ] || VENV=.venv
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/python" -m pytest -q -n "${PYTEST_WORKERS:-2}" --dist loadfile \
    tests/test_baseline.py tests/test_rules.py tests/test_session.py tests/test_records.py \
    tests/test_model.py tests/test_equivalence.py \
    tests/test_parameters.py tests/test_docs.py tests/test_doc_names.py "$@"
