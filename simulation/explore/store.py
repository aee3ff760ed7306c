"""The output folders of the explore commands: the task store of ``simulation.sweep.tasks``.

The store lives below the validation layer so that robustness folders use it
too; the explore commands import it from here.
"""

from simulation.sweep.tasks import (
    dataset_fingerprint,
    derived_files,
    fingerprint,
    finish,
    load_table,
    open_folder,
    read_explore_manifest,
    run_tasks,
    task_problems,
    verify,
)

__all__ = [
    "dataset_fingerprint",
    "derived_files",
    "fingerprint",
    "finish",
    "load_table",
    "open_folder",
    "read_explore_manifest",
    "run_tasks",
    "task_problems",
    "verify",
]
