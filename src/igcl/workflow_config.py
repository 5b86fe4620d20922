"""config.yaml as the workflow sees it: each section's typed dataclass, its execution keys, and one check of every
section before any job runs.

The JSON schema (workflow/schemas/config.schema.yaml) checks types and ranges key by key; the dataclasses check
what spans keys (heads dividing hidden_dim, split fractions summing to 1, a RadGraph path when the source needs
one). :func:`check_config` builds every section's dataclass when the workflow is read, so such an error stops
``snakemake`` before the first job instead of when its stage starts, after the earlier stages have run.

**Execution keys** change how a stage runs, not what it writes: worker counts, chunk sizes, checkpoint cadence,
TensorBoard, the device. A dataclass marks them with ``field(metadata=igcl.config.EXECUTION)``; the rules leave them out of
the params (the rerun trigger) and pass them as ``--runtime`` instead, so changing one reruns nothing. (A device
changes floating-point rounding, not the experiment: a run moved from CPU to GPU is the same run.)

Section dataclasses are imported lazily by dotted name, and every module named here imports only the standard
library, so reading the workflow stays fast and needs none of the stages' dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from igcl.config import execution_keys, from_mapping

# config section -> "module:Class" of its dataclass
SECTIONS: dict[str, str] = {
    "phantom": "igcl.data.phantom.config:PhantomConfig",
    "ingest": "igcl.data.ingest_config:IngestConfig",
    "graphs": "igcl.reports.config:GraphsConfig",
    "node_features": "igcl.reports.node_features_config:NodeFeaturesConfig",
    "images": "igcl.data.imageshards.config:ImagesConfig",
    "pretrain": "igcl.train.config:PretrainConfig",
    "evaluate": "igcl.evaluate.config:EvaluateConfig",
    "report": "igcl.summary.config:ReportConfig",
}


def section_class(section: str) -> type:
    """The dataclass of a config section."""
    if section not in SECTIONS:
        raise KeyError(f"no config section {section!r}; sections: {', '.join(SECTIONS)}")
    module, name = SECTIONS[section].split(":")
    return getattr(importlib.import_module(module), name)


def split_execution(section: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A section's values as (science, execution): the first triggers reruns, the second never does."""
    keys = set(execution_keys(section_class(section)))
    science = {k: v for k, v in values.items() if k not in keys}
    execution = {k: v for k, v in values.items() if k in keys}
    return science, execution


def pretrain_job_values(pretrain: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The pretrain section as one job reads it: the job's own seed in place of the ``seeds`` list."""
    return {**{k: v for k, v in pretrain.items() if k != "seeds"}, "seed": int(seed)}


def check_config(config: Mapping[str, Any], pretrain_variants: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Build every section's dataclass from ``config`` (each job's view of it); raise ValueError naming the key.

    ``pretrain_variants``: run name -> that variant's whole pretrain section (overrides merged), checked too.
    """
    for section in SECTIONS:
        values = config.get(section) or {}
        if section == "pretrain":
            for seed in values.get("seeds", [0]):
                from_mapping(section_class(section), pretrain_job_values(values, seed), where=section)
            for name, variant in (pretrain_variants or {}).items():
                try:
                    from_mapping(section_class(section), pretrain_job_values(variant, 0),
                                 where=f"variants.{name}.pretrain")
                except ValueError as err:  # a nested section names its key from "pretrain."; say which variant
                    raise ValueError(f"variants.{name}.pretrain (merged over pretrain): {err}") from None
            continue
        from_mapping(section_class(section), values, where=section)
