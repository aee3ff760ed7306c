"""The Mesa view under Mesa's own batch runner (experiments/mesa_batch.py), small: seeded replicates reproduce."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from simulation.view.batch import CohortModel
from simulation.view.compat import batch_run
from simulation.view.model import MODEL_REPORTERS

EXAMPLE = Path(__file__).resolve().parents[1] / "experiments" / "mesa_batch.py"


def _example():
    spec = importlib.util.spec_from_file_location("mesa_batch", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def weekly(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("mesa_batch")
    table = _example().main(["--patients", "16", "--sessions", "4", "--seeds", "2", "--out", str(out)])
    assert pd.read_csv(out / "weekly.csv").shape == table.shape
    return table


def test_every_preset_and_seed_has_one_row_per_week(weekly):
    assert set(weekly["therapists"]) == {"experienced", "aft_trained"} and set(weekly["seed"]) == {1, 2}
    assert set(MODEL_REPORTERS) <= set(weekly.columns)
    for _, run in weekly.groupby(["therapists", "seed"]):
        assert list(run["week"]) == list(range(1, len(run) + 1)) and 1 <= len(run) <= 4


def test_a_batch_row_is_the_model_run_directly_with_that_seed(weekly):
    model = CohortModel(n_patients=16, n_sessions=4, population="adult_bpd", therapists="aft_trained", seed=2)
    model.run()
    direct = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    batch = weekly[(weekly["therapists"] == "aft_trained") & (weekly["seed"] == 2)][list(MODEL_REPORTERS)]
    pd.testing.assert_frame_equal(batch.reset_index(drop=True), direct, check_dtype=False)


def test_same_seeds_same_table_other_seed_other_numbers(weekly):
    parameters = {"therapists": ["experienced", "aft_trained"], "n_patients": 16, "n_sessions": 4,
                  "population": "adult_bpd"}  # fmt: skip
    again = batch_run(CohortModel, parameters, [2, 1], max_steps=4)
    pd.testing.assert_frame_equal(again, weekly)
    other = batch_run(CohortModel, {**parameters, "therapists": "experienced"}, [3], max_steps=4)
    first = weekly[(weekly["therapists"] == "experienced") & (weekly["seed"] == 1)]
    assert not first["mean_alliance"].reset_index(drop=True).equals(other["mean_alliance"])


def test_a_bad_keyword_is_one_clear_sentence():
    from simulation.model.parameters import ParameterError

    with pytest.raises(ParameterError, match="therapist preset 'nobody'"):
        CohortModel(therapists="nobody")
