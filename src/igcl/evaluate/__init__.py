"""Downstream evaluation of pretrained image encoders (the ``evaluate`` and ``report`` stages).

One module per job:

- :mod:`~igcl.evaluate.config`    typed ``evaluate:`` / ``report:`` config sections;
- :mod:`~igcl.evaluate.targets`   image index tables and the uncertain-label policy (U-Ones / U-Zeros / ignore);
- :mod:`~igcl.evaluate.features`  frozen-feature extraction and its on-disk cache keyed by checkpoint hash;
- :mod:`~igcl.evaluate.sampling`  patient-level, stratified label-fraction and few-shot subsets (algorithm there);
- :mod:`~igcl.evaluate.metrics`   AUROC and vectorised percentile-bootstrap CIs;
- :mod:`~igcl.evaluate.probe`     linear probe (standardise + logistic regression) over fractions × seeds;
- :mod:`~igcl.evaluate.fewshot`   k-shot probes per pathology;
- :mod:`~igcl.evaluate.finetune`  end-to-end fine-tuning (config switch);
- :mod:`~igcl.evaluate.retrieval` image→report retrieval precision@k on the MIMIC test split;
- :mod:`~igcl.evaluate.results`   the tidy Parquet tables' schemas;
- :mod:`~igcl.evaluate.pipeline`  the evaluate stage (one checkpoint → tables);
- :mod:`~igcl.evaluate.summary`, :mod:`~igcl.evaluate.plots`, :mod:`~igcl.evaluate.report`: the report stage.
"""
