from dataclasses import dataclass, field

import pytest

from igcl.config import from_json, from_mapping, to_dict


@dataclass(frozen=True)
class Inner:
    size: int = 4

    def __post_init__(self):
        if self.size < 1:
            raise ValueError(f"inner.size must be >= 1, got {self.size}")


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    ks: tuple[int, ...] = (1, 5)
    inner: Inner = field(default_factory=Inner)


def test_builds_nested_dataclasses_and_tuples():
    cfg = from_mapping(Outer, {"name": "y", "ks": [1, 2], "inner": {"size": 8}})
    assert cfg == Outer(name="y", ks=(1, 2), inner=Inner(size=8))
    assert to_dict(cfg) == {"name": "y", "ks": [1, 2], "inner": {"size": 8}}


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match=r"stage\.inner: unknown key\(s\) \['sise'\]"):
        from_mapping(Outer, {"inner": {"sise": 2}}, where="stage")


def test_value_check_propagates():
    with pytest.raises(ValueError, match="inner.size must be >= 1"):
        from_json(Outer, '{"inner": {"size": 0}}')


def test_bad_json_is_reported():
    with pytest.raises(ValueError, match="not valid JSON"):
        from_json(Outer, "{name: y}", where="phantom")


def test_empty_settings_give_defaults():
    assert from_json(Outer, "") == Outer()
