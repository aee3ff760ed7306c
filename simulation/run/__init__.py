"""Running the model: the cohort engine, forks, the output tables, the per-course and group outcomes."""
