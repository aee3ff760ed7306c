"""The one place that knows which Mesa runs the view: 3.3.1 on Python 3.11, 3.5 from Python 3.12 on.

The view and the teaching app are written for both. What differs, and is bridged here:

- ``batch_run``: Mesa 3.5 seeds each replicate through its ``rng`` argument (passed as the model's ``seed``) and
  also reports agent-type reporters; Mesa 3.3.1 has no ``rng`` argument, so the seeds are swept like a parameter.
  ``batch_run`` below gives the same table on both.
- ``Model(seed=...)`` is deprecated in Mesa 3.5 in favour of ``rng``, which 3.3.1 accepts as well: the view
  passes ``rng`` (it draws nothing from Mesa's generators, so either name gives the same numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import mesa
import pandas as pd
from mesa.batchrunner import batch_run as _mesa_batch_run

#: Mesa's version as (major, minor), e.g. (3, 5).
MESA_VERSION = tuple(int(part) for part in mesa.__version__.split(".")[:2])
#: Whether ``batch_run`` takes the replicates' seeds as ``rng`` (Mesa >= 3.4).
SEEDS_AS_RNG = MESA_VERSION >= (3, 4)


def batch_run(
    model_cls: type[mesa.Model],
    parameters: Mapping[str, Any | Iterable[Any]],
    seeds: Sequence[int],
    *,
    max_steps: int = 1000,
    data_collection_period: int = 1,
    number_processes: int | None = 1,
) -> pd.DataFrame:
    """Mesa's ``batch_run`` over every combination of ``parameters`` times every seed, as one table.

    Each run is ``model_cls(**combination, seed=seed)``; a replicate is fixed by its seed, so the same seeds give
    the same table on any Mesa version and any ``number_processes``.

    Args:
        model_cls: A model whose keyword arguments are ``parameters`` and ``seed`` (e.g. ``view.batch.CohortModel``).
        parameters: Values (or lists of values) of the model's keyword arguments.
        seeds: Root seeds of the replicates.
        max_steps: Most steps of a run.
        data_collection_period: Keep every n-th collected step (-1: only the last).
        number_processes: Worker processes (1: in this process).

    Returns:
        One row per run and collected step: the parameters, ``seed`` and the model reporters, sorted by the
        parameters, the seed and the step (Mesa's run ids, iteration numbers and step labels differ by version
        and are left out).
    """
    options = {"max_steps": max_steps, "data_collection_period": data_collection_period, "display_progress": False}
    if SEEDS_AS_RNG:
        rows = _mesa_batch_run(model_cls, parameters, number_processes, rng=list(seeds), **options)
    else:
        swept = {**parameters, "seed": list(seeds)}
        rows = _mesa_batch_run(model_cls, swept, number_processes, iterations=1, **options)
    table = pd.DataFrame(rows)
    order = [*parameters, "seed", "Step"]
    table = table.sort_values(order, kind="stable").drop(columns=["RunId", "iteration", "Step"], errors="ignore")
    return table.reset_index(drop=True)
