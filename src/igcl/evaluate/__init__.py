"""Downstream evaluation of pretrained image encoders (the ``evaluate`` stage; the report stage is igcl.summary).

One module per job:

- :mod:`~igcl.evaluate.config`    the typed ``evaluate:`` config section;
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
- :mod:`~igcl.evaluate.zeroshot`  zero-shot prompt pairs (:mod:`~igcl.evaluate.prompts` the prompts as config values,
  :mod:`~igcl.evaluate.prompt_graphs` / :mod:`~igcl.evaluate.prompt_parse` the prompts stage's graphs);
- :mod:`~igcl.evaluate.thresholds` thresholded metrics at thresholds chosen on valid;
- :mod:`~igcl.evaluate.radiologists` reader operating points against the model's ROC.
"""
