"""Local Hugging Face model folders: the checks that need no ``transformers`` (standard library only).

A *model folder* is what ``transformers`` ``save_pretrained`` writes for a model and its tokenizer (``config.json``,
``model.safetensors`` or ``pytorch_model.bin``, ``tokenizer.json`` / ``vocab.txt`` + ``tokenizer_config.json``).
igcl never downloads one: users bring the folder (e.g. a ``bert-base-uncased`` they saved) and name it in
``pretrain.graph.text_model_path`` (node features) or ``pretrain.text.model_path`` (ConVIRT's text encoder).

:func:`check_model_folder` is what the workflow's config check runs (so a wrong path stops ``snakemake`` before any
job); the rest (weights, tokenizer, vocabulary sizes) is checked when a stage loads the folder
(:func:`igcl.models.hf_text.load_text_model`).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

CONFIG_NAME = "config.json"


def check_model_folder(path: str | os.PathLike[str], *, key: str) -> Path:
    """``path`` as a Path when it is a folder holding ``config.json``; ValueError naming ``key`` and ``path``."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ValueError(f"{key}: {folder} does not exist (expected a local Hugging Face model folder with "
                         f"{CONFIG_NAME}, weights and tokenizer; nothing is downloaded)")
    if not folder.is_dir():
        raise ValueError(f"{key}: {folder} is not a folder (expected a local Hugging Face model folder with "
                         f"{CONFIG_NAME}, weights and tokenizer)")
    if not (folder / CONFIG_NAME).is_file():
        raise ValueError(f"{key}: {folder} has no {CONFIG_NAME}; is it a model folder written by "
                         "transformers' save_pretrained?")
    return folder


def model_name(path: str | os.PathLike[str]) -> str:
    """A file-name-safe name of a model folder (its last path component): ``/models/bert-base-uncased/`` ->
    ``bert-base-uncased``."""
    name = Path(os.path.normpath(str(path))).name
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "model"


def folder_fingerprint(path: str | os.PathLike[str]) -> str:
    """sha256 over every file of a model folder (relative names and contents, sorted): two folders with the same
    fingerprint hold the same model and tokenizer."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel.startswith(".") or "/." in rel:  # hidden files (.cache/, .gitattributes) are not the model
            continue
        digest.update(rel.encode() + b"\x00")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\x00")
    return digest.hexdigest()
