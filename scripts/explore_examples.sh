#!/usr/bin/env bash
# Run every example of "Exploring hypotheses" (docs/EXPERIMENTS.md) into results/ and publish one figure per command
# to docs/figures/ (about 5 min on 2 cores; every command resumes, so a rerun only redoes what is missing).
# With --fresh (after a change to the model) the example folders are removed first and everything is simulated
# again, then the six hypothesis reports are rewritten too: the one command that regenerates every published number.
set -euo pipefail
cd "$(dirname "$0")/.."
RS=.venv/bin/rupture-sim
FRESH="${1:-}"
if [[ "$FRESH" == "--fresh" ]]; then
  rm -rf results/compare_aft results/trial_resolution_r results/trial_aft_two_arm results/sensitivity_resolution \
    results/discover_sweep results/discover_failures
fi
$RS compare experiments/explore/compare_aft.toml --quiet
$RS trial experiments/explore/trial_resolution_r.toml --quiet
$RS trial experiments/explore/trial_aft_two_arm.toml --quiet
$RS sensitivity experiments/explore/sensitivity_resolution.toml --quiet
$RS sweep experiments/discover_sweep.toml --out results/discover_sweep --quiet --no-plots
$RS discover experiments/explore/discover_failures.toml --quiet
mkdir -p docs/figures
cp results/compare_aft/effects.png docs/figures/compare_effects.png
cp results/trial_resolution_r/power.png docs/figures/trial_power_r.png
cp results/trial_aft_two_arm/power.png docs/figures/trial_power_two_arm.png
cp results/sensitivity_resolution/convergence.png docs/figures/sensitivity_convergence.png
cp results/discover_failures/tradeoff.png docs/figures/discover_tradeoff.png
.venv/bin/python experiments/hypotheses/run.py --publish $FRESH
