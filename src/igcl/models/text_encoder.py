"""The ConVIRT baseline's report encoder: a WordPiece tokenizer trained on the pretraining reports (HF
``tokenizers``) and a small transformer whose token states are max-pooled.

Report text: :func:`report_text` keeps the findings and impression sections (``igcl.reports.sections``); a
report with neither is used whole (documented fallback, as ConVIRT does for reports without headers).

A "local pretrained model" (``pretrain.text.pretrained_path``) is a finished convirt output directory of our own
(``checkpoint.safetensors`` + ``config.json`` + ``tokenizer.json``): its tokenizer and text-encoder weights start the
text branch. Hugging Face ``transformers`` checkpoints are not supported, because transformers is not a dependency.

Shapes: :meth:`ReportTokenizer.encode` -> ``input_ids`` [B, L] long and ``attention_mask`` [B, L] bool (True =
token, L <= ``max_tokens``, every row starts with ``[CLS]`` so none is empty); :class:`TextEncoder` -> [B, dim].
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from torch import nn

from igcl.io import atomic_path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
PAD_ID, UNK_ID, CLS_ID = 0, 1, 2
REPORT_SECTIONS = ("findings", "impression")


def report_text(text: str) -> str:
    """The findings and impression sections of a report, in report order; the whole text when it has neither."""
    from igcl.reports.sections import split_sections

    kept = [text[s.start:s.end].strip() for s in split_sections(text) if s.name in REPORT_SECTIONS]
    kept = [part for part in kept if part]
    return "\n".join(kept) if kept else text.strip()


def corpus_fingerprint(texts: Iterable[str]) -> str:
    """sha256 of the training corpus (order-sensitive): a resumed run must see the same reports."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class ReportTokenizer:
    """A WordPiece tokenizer (BERT normalisation: lower-case, accents stripped; BERT pre-tokenisation)."""

    def __init__(self, tokenizer: Tokenizer, max_tokens: int):
        if max_tokens < 2:
            raise ValueError(f"max_tokens must be >= 2, got {max_tokens}")
        for i, tok in enumerate(SPECIAL_TOKENS):
            if tokenizer.token_to_id(tok) != i:
                raise ValueError(f"tokenizer: special token {tok!r} must have id {i}")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    @classmethod
    def train(cls, texts: Sequence[str], *, vocab_size: int, max_tokens: int) -> ReportTokenizer:
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        texts = list(texts)
        # The trainer gives the continuation pieces ("##e") their ids in hash-map order, and merges with equal
        # counts are then broken by those ids, so the same reports gave a different vocabulary on every call
        # (huggingface/tokenizers#1794, unfixed in 0.23). Registering every "##<char>" of the normalised corpus up
        # front, in sorted order, gives them fixed ids and the training becomes deterministic. (They are then also
        # "special" tokens: a literal "##x" in a report stays one token. Reports do not contain "##".)
        characters = sorted({c for text in texts for c in tokenizer.normalizer.normalize_str(text) if not c.isspace()})
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size,
                                            special_tokens=[*SPECIAL_TOKENS, *(f"##{c}" for c in characters)],
                                            show_progress=False)
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(tokenizer, max_tokens)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            self.tokenizer.save(str(tmp))

    @classmethod
    def load(cls, path: str | Path, *, max_tokens: int) -> ReportTokenizer:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: tokenizer file is missing")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # tokenizers raises a bare Exception for a bad file
            raise ValueError(f"{path}: not a readable tokenizer file ({err})") from err
        try:
            return cls(tokenizer, max_tokens)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``input_ids`` [B, L] and ``attention_mask`` [B, L] (True = token); ``[CLS]`` first, truncated."""
        rows = [[CLS_ID] + enc.ids[: self.max_tokens - 1] for enc in self.tokenizer.encode_batch(list(texts))]
        length = max((len(r) for r in rows), default=1)
        ids = torch.full((len(rows), length), PAD_ID, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return ids, ids != PAD_ID


class TextEncoder(nn.Module):
    """Token + learned position embeddings -> ``layers`` pre-norm transformer layers -> LayerNorm -> max over the
    non-padding positions: ``[B, L]`` ids + mask -> ``[B, dim]``."""

    def __init__(self, vocab_size: int, *, dim: int = 128, layers: int = 2, heads: int = 4, max_tokens: int = 128):
        super().__init__()
        if vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
        if layers < 1 or heads < 1 or dim % heads:
            raise ValueError(f"need layers >= 1 and heads dividing dim, got layers={layers}, heads={heads}, dim={dim}")
        self.vocab_size, self.dim, self.max_tokens = vocab_size, dim, max_tokens
        self.feature_dim = dim
        self.token_embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.position_embedding = nn.Parameter(torch.empty(max_tokens, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        with torch.no_grad():
            self.token_embedding.weight[PAD_ID].zero_()
        nn.init.normal_(self.position_embedding, std=0.02)
        for module in self.transformer.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        if length > self.max_tokens:
            raise ValueError(f"input of {length} tokens exceeds max_tokens={self.max_tokens}")
        x = self.token_embedding(input_ids) + self.position_embedding[:length].to(self.token_embedding.weight.dtype)
        x = self.norm(self.transformer(x, src_key_padding_mask=~attention_mask))
        x = x.masked_fill(~attention_mask.unsqueeze(-1), torch.finfo(x.dtype).min)
        return x.max(dim=1).values
