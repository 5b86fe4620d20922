"""igcl: Image-Graph Contrastive Learning for chest X-ray encoders, as a reproducible Snakemake pipeline.

From Python: ``igcl.load(run_folder)`` and ``igcl.parse(texts)`` (see :mod:`igcl.api`); both load lazily, so
``import igcl`` (which every stage does) costs nothing.
"""

from igcl.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {"load": "igcl.api", "parse": "igcl.api", "Model": "igcl.api"}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["Model", "load", "parse"]
