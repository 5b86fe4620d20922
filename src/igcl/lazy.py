"""Lazy package exports: a package's ``__init__`` hands its names on without importing their modules up front.

A package that re-exports names from heavy modules (numpy, PIL, pyarrow) would load them whenever any of its
modules is imported, e.g. the light ``config`` module the workflow reads when it checks config.yaml. Instead:

    _EXPORTS = {"build_image_shard": "igcl.data.imageshards.build", ...}   # name -> defining module
    __getattr__ = lazy_exports(__name__, _EXPORTS)

The dict must be a literal named ``_EXPORTS``: :mod:`igcl.code_inputs` reads it to know that ``from package import
name`` runs ``_EXPORTS[name]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` on first use of ``name``."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
