"""Parameter sweeps: experiments declared as named TOML files (the NetLogo BehaviorSpace idea).

``simulation.sweep.spec`` reads and checks an experiment spec and turns it into
design points, run seeds and sizes; a runner executes the runs. Nothing heavy is
imported here: import ``simulation.sweep.spec`` when you need it.
"""
