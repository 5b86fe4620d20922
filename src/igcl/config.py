"""Typed stage configs: a rule passes its own config section as JSON, a frozen dataclass checks it.

Each stage defines ``@dataclass(frozen=True)`` config classes (nested ones allowed) whose ``__post_init__``
checks values and raises ``ValueError`` naming the key. :func:`from_mapping` builds one from the section
mapping, rejecting unknown keys, so a typo in config.yaml fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# Field metadata of an *execution* key: one that changes how a stage runs (workers, chunk sizes, checkpoint cadence,
# TensorBoard, the device), not what it writes. The workflow leaves these out of a rule's params, so changing one
# reruns nothing (see igcl.workflow_config). Usage: ``num_workers: int = field(default=0, metadata=EXECUTION)``.
EXECUTION: Mapping[str, bool] = {"execution": True}


def execution_keys(cls: type) -> tuple[str, ...]:
    """The top-level fields of dataclass ``cls`` marked with :data:`EXECUTION` metadata."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("execution"))


def from_mapping(cls: type[T], values: Mapping[str, Any], *, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``values``; nested dataclass fields are built recursively."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(values, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        hint = hints.get(name)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            value = from_mapping(hint, value, where=f"{where}.{name}")
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"{where}: {err}") from err


def _json_object(text: str | None, what: str, where: str) -> dict[str, Any]:
    try:
        values = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: {what} are not valid JSON ({err})") from err
    if not isinstance(values, dict):
        raise ValueError(f"{where}: {what} must be a JSON object, got {type(values).__name__}")
    return values


def from_json(cls: type[T], text: str, *, runtime: str | None = None, where: str = "config") -> T:
    """Build ``cls`` from a JSON object string (what a Snakemake rule passes as ``--settings``).

    ``runtime``: a second JSON object holding only execution keys (:func:`execution_keys`), which the workflow
    passes apart from the settings so that changing one reruns nothing; its values win.
    """
    values = _json_object(text, "settings", where)
    extra = _json_object(runtime, "runtime settings", where)
    allowed = set(execution_keys(cls))
    wrong = sorted(set(extra) - allowed)
    if wrong:
        raise ValueError(f"{where}: runtime settings may hold only execution keys {sorted(allowed)}, got {wrong}")
    return from_mapping(cls, {**values, **extra}, where=where)


def to_dict(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=list))
