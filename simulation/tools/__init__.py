"""Tools around the model: the ``rupture-sim`` command line and the benchmark."""
