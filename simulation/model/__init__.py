"""The model itself: the 3RS taxonomy, declared parameters and presets, keyed random numbers, the records, the rules.

Nothing here imports from the layers above (``run``, ``view``, ``sweep``,
``validation``, ``report``, ``tools``).
"""
