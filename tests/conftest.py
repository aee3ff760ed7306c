"""The smoke subset (``pytest -m smoke``), which ``scripts/test.sh`` runs on every Python besides the one that runs
the whole suite.

It is named here, in one place: the golden baseline, the layers and the core install, the Mesa view against the
cohort engine and under Mesa's batch runner, the session player, a few API and CLI tests, and one browser test of
the teaching app. An entry that matches no collected test stops a smoke run, so a renamed test cannot drop out.
"""

from __future__ import annotations

import pytest

SMOKE = (
    "test_baseline.py",
    "test_layers.py",
    "test_extras.py",
    "test_model.py",
    "test_mesa_batch.py",
    "test_player.py",
    "test_simulation.py::test_same_seed_same_numbers_other_seed_other_numbers",
    "test_simulation.py::test_bad_input_is_rejected_with_one_clear_sentence",
    "test_cli.py::test_bad_input_is_one_clear_line",
    "test_cli.py::test_installed_entry_point",
    "test_app_browser.py::test_step_through_a_session_and_see_3rs_words",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "smoke: the subset run on every supported Python (tests/conftest.py)")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    matched = set()
    for item in items:
        for entry in SMOKE:
            file, _, test = entry.partition("::")
            if item.path.name == file and test in ("", item.originalname):
                item.add_marker(pytest.mark.smoke)
                matched.add(entry)
    if config.getoption("markexpr") == "smoke" and (missing := [e for e in SMOKE if e not in matched]):
        raise pytest.UsageError(f"smoke entries that match no test (renamed?): {', '.join(missing)}")
