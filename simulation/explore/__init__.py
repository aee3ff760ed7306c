"""Exploring hypotheses: paired scenario comparisons, virtual trials, sensitivity analysis, scenario discovery.

Every command is built on the model-as-function interface of
``model_function`` (parameters in, named outcomes out, designs and outcomes
tables aligned by row) and on ``store`` (chunked tasks written as parquet
shards with a manifest, resumable). It sits at the level of ``sweep`` and
``validation``.
"""
