"""igcl: Image-Graph Contrastive Learning for chest X-ray encoders, as a reproducible Snakemake pipeline."""

__version__ = "0.1.0"
