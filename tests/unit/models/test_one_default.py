"""Each model setting's default is written once in effect: the config dataclass (pretrain.graph / pretrain.text), the
model spec saved with a checkpoint and the module's own keyword defaults agree, and the spec is built from the
settings by field name (no field copied by hand)."""

import dataclasses
import inspect

from igcl.models.dual import GraphSpec, TextSpec
from igcl.models.graph_encoder import GraphEncoder
from igcl.models.text_encoder import TextEncoder
from igcl.train.config import GraphSettings, TextSettings


def _defaults(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def _signature_defaults(fn) -> dict:
    return {n: p.default for n, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_graph_defaults_agree_across_settings_spec_and_encoder():
    settings, spec, encoder = _defaults(GraphSettings), _defaults(GraphSpec), _signature_defaults(GraphEncoder)
    assert set(spec) <= set(encoder)  # the spec holds every encoder argument it sets
    for name, value in spec.items():
        assert encoder[name] == value, name
        if name in settings:
            assert settings[name] == value, name


def test_text_defaults_agree_across_settings_spec_and_encoder():
    settings, spec, encoder = _defaults(TextSettings), _defaults(TextSpec), _signature_defaults(TextEncoder)
    for name in ("dim", "layers", "heads", "max_tokens"):
        assert settings[name] == spec[name] == encoder[name], name


def test_the_graph_spec_is_built_from_the_settings_by_name():
    settings = GraphSettings(pooling="nodes", hidden_dim=32, heads=2, ffn_dim=48, dropout=0.1, fc_layers=1)
    spec = GraphSpec.from_settings(settings, vocab_size=7, node_features="learned", node_feature_dim=None)
    for f in dataclasses.fields(GraphSpec):
        if hasattr(settings, f.name) and f.name not in ("node_features",):
            assert getattr(spec, f.name) == getattr(settings, f.name), f.name
    assert spec.vocab_size == 7
    GraphEncoder(**spec.encoder_kwargs())  # the spec's fields are exactly the encoder's arguments
