"""The report stage: every (method, pretraining seed)'s evaluate tables -> ``results/summary.md``,
``results/comparisons.parquet`` and the figures.

- :mod:`~igcl.summary.tables`: load the tables, aggregate over seeds, write summary.md;
- :mod:`~igcl.summary.compare`: paired method comparisons with a two-level bootstrap;
- :mod:`~igcl.summary.plots`: the figures;
- :mod:`~igcl.summary.report`: the stage's driver;
- :mod:`~igcl.summary.config`: its typed config.
"""
