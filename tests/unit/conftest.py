"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
import subprocess

import pytest


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 1 MiB tmpfs mounted at ``tmp_path / "tmpfs"`` (a full disk on demand; root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


TINY_BERT_WORDS = ("no", "mild", "large", "effusion", "pleural", "opacity", "lobe", "edema", "pulmonary",
                   "pneumothorax", "apex", "cardiomegaly", "cardiac", "findings", "impression", "examination",
                   "chest", "radiograph", "right", "left", "the", "is", "there", "small", "lung", "base", "and")


def build_tiny_bert(folder, *, max_positions=64, vocab_extra=0, seed=0):
    """Save a 4-layer, 32-d BERT with a WordPiece vocabulary (special tokens, the words above, every letter and
    digit whole and as ``##`` continuation, punctuation) and its fast tokenizer into ``folder``; no download."""
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    chars = string.ascii_lowercase + string.digits
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_BERT_WORDS, *chars, *(f"##{c}" for c in chars),
             *string.punctuation]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True,
                                  model_max_length=max_positions)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab) + vocab_extra, hidden_size=32, num_hidden_layers=4,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=max_positions)
    BertModel(config).eval().save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A tiny BERT model folder (see :func:`build_tiny_bert`): 64 positions, so long reports are windowed."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "tiny-bert")


@pytest.fixture(scope="session")
def make_tiny_bert():
    """:func:`build_tiny_bert` as a fixture (tests never import a conftest by name)."""
    return build_tiny_bert
