"""Mesa's own batch runner on the agent view: experienced vs AFT-trained therapists, week by week.

``mesa.batch_run`` runs ``CohortModel`` (the Mesa view built from keyword values) for every therapist preset and
every seed; ``simulation.view.compat.batch_run`` gives the same table on Mesa 3.3.1 (Python 3.11) and Mesa 3.5
(Python >= 3.12). A replicate is fixed by its seed: both presets meet the same patients on the same random
numbers (common random numbers), so the difference per seed is paired, and a rerun gives the same numbers.

    python experiments/mesa_batch.py                     # 120 patients, 20 sessions, seeds 1-5
    python experiments/mesa_batch.py --patients 40 --seeds 3 --processes 2

Writes ``results/mesa_batch/weekly.csv`` (one row per preset, seed and week: the view's weekly reporters) and
prints the last week's mean alliance and dropouts per preset, and the paired difference per seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from simulation.view.batch import CohortModel
from simulation.view.compat import MESA_VERSION, batch_run

PRESETS = ["experienced", "aft_trained"]


def run(n_patients: int, n_sessions: int, seeds: list[int], processes: int = 1) -> pd.DataFrame:
    """The weekly reporters of every preset and seed (``compat.batch_run`` over ``CohortModel``)."""
    parameters = {"therapists": PRESETS, "n_patients": n_patients, "n_sessions": n_sessions, "population": "adult_bpd"}
    return batch_run(CohortModel, parameters, seeds, max_steps=n_sessions, number_processes=processes)


def report(weekly: pd.DataFrame) -> str:
    """The last week per preset and seed, and the paired AFT - experienced difference per seed."""
    last = weekly.loc[weekly.groupby(["therapists", "seed"])["week"].idxmax()]
    wide = last.pivot(index="seed", columns="therapists", values=["mean_alliance", "dropouts"])
    lines = [f"Mesa {'.'.join(map(str, MESA_VERSION))}: last week of {len(wide)} seeded replicates per preset"]
    for seed, row in wide.iterrows():
        alliance, dropouts = row["mean_alliance"], row["dropouts"]
        lines.append(
            f"seed {seed}: mean alliance {alliance['experienced']:.3f} (experienced) vs {alliance['aft_trained']:.3f}"
            f" (AFT-trained), paired difference {alliance['aft_trained'] - alliance['experienced']:+.3f}; dropouts"
            f" {int(dropouts['experienced'])} vs {int(dropouts['aft_trained'])}"
        )
    difference = wide["mean_alliance"]["aft_trained"] - wide["mean_alliance"]["experienced"]
    lines.append(
        f"paired difference over the replicates: mean {difference.mean():+.3f}, range {difference.min():+.3f} to "
        f"{difference.max():+.3f} (replicate spread, not a study's confidence interval)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=120, help="patients per run (default: 120)")
    parser.add_argument("--sessions", type=int, default=20, help="sessions per course (default: 20)")
    parser.add_argument("--seeds", type=int, default=5, help="replicates, seeds 1..N (default: 5)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument("--out", default="results/mesa_batch", help="output folder (default: results/mesa_batch)")
    args = parser.parse_args(argv)
    weekly = run(args.patients, args.sessions, list(range(1, args.seeds + 1)), args.processes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weekly.to_csv(out / "weekly.csv", index=False)
    print(report(weekly))
    print(f"wrote {out / 'weekly.csv'}")
    return weekly


if __name__ == "__main__":  # batch workers are spawned processes, which import this file again
    main()
