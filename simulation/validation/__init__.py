"""Virtual studies that reproduce the published findings (targets T1-T17) and a report of the fit.

``targets`` declares each target and its checks, ``checks`` the pass rules, ``designs`` reads the
design of each virtual study from its experiment file (``designs/*.toml``),
``studies`` runs the virtual studies, ``runner.run_validation`` replicates them
and applies the rules, ``report.write_report`` writes ``report.md`` and one
figure per target. Targets T15-T20 are held out (``checks.Target.held_out``):
reported apart by every validation, left out of a calibration unless it runs
``--with-held-out`` (the defaults' second calibration did).
"""
