"""Running the model: the cohort engine, the output tables, the per-course and group outcomes, the ``simulate`` API."""
