"""Real report text for igcl's tests and benchmarks, kept out of the library: the 3,955 OpenI reports fetched from
PyPI's torchxrayvision wheel (:mod:`igcl_openi.reports`) and the hand-annotated RadGraph-schema fixture over 100 of
their sentences (:mod:`igcl_openi.fixture`). Nothing in :mod:`igcl` imports this package."""
