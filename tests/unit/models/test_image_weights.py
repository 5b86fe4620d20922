"""The image encoder from a local weights file: timm's pretrained-file path, 3 -> 1 channel adaptation, clear errors
for files of another architecture, and never a download."""

import pytest
import timm
import torch
from safetensors.torch import save_file

from igcl.models.image import create_image_encoder
from igcl.train.config import ImageSettings


def rgb_state(name, seed=0):
    """The state dict of a 3-channel ``name`` with a 1000-class classifier (an ImageNet-style weights file)."""
    torch.manual_seed(seed)
    model = timm.create_model(name, in_chans=3, pretrained=False)
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def resnet18_rgb():
    return rgb_state("resnet18")


@pytest.mark.parametrize("suffix", [".safetensors", ".pth", ".bin", "-checkpoint.pth"])
def test_a_local_rgb_file_loads_into_the_one_channel_encoder(resnet18_rgb, tmp_path, suffix):
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        save_file(resnet18_rgb, str(path))
    elif suffix == "-checkpoint.pth":  # a training checkpoint: timm unwraps its state_dict entry
        torch.save({"state_dict": resnet18_rgb, "epoch": 3}, path)
    else:
        torch.save(resnet18_rgb, path)
    encoder = create_image_encoder("resnet18", path)
    state = encoder.state_dict()
    # the RGB first convolution summed over its input channels; the classifier dropped; all else as in the file
    assert state["conv1.weight"].shape == (64, 1, 7, 7)
    torch.testing.assert_close(state["conv1.weight"], resnet18_rgb["conv1.weight"].sum(dim=1, keepdim=True))
    assert set(resnet18_rgb) - set(state) == {"fc.weight", "fc.bias"}
    assert set(state) - set(resnet18_rgb) == set()
    for key, value in state.items():
        if key != "conv1.weight":
            assert torch.equal(value, resnet18_rgb[key]), key
    # the same features as the 3-channel model fed the grey image on each channel (sum of channels = 1 channel)
    rgb = timm.create_model("resnet18", in_chans=3, num_classes=0, pretrained=False)
    rgb.load_state_dict({k: v for k, v in resnet18_rgb.items() if not k.startswith("fc.")})
    images = torch.randn(2, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    encoder.eval(), rgb.eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(images), rgb(images.expand(-1, 3, -1, -1)), rtol=1e-4, atol=1e-5)
        assert encoder(images).shape == (2, encoder.num_features)


def test_weights_replace_the_random_init_and_a_one_channel_file_loads_as_is(tmp_path):
    torch.manual_seed(3)
    own = timm.create_model("test_resnet", in_chans=1, num_classes=0, pretrained=False)
    path = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in own.state_dict().items()}, str(path))
    loaded = create_image_encoder("test_resnet", path).state_dict()
    random = create_image_encoder("test_resnet").state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in own.state_dict().items())
    assert not torch.equal(loaded["conv1.0.weight"], random["conv1.0.weight"])


@pytest.mark.parametrize(("other", "expected"), [
    ("resnet50", r"shape mismatch: layer1\.0\.conv1\.weight is \[64, 64, 1, 1\] in the file, \[64, 64, 3, 3\] in "
                 r"the model"),
    ("resnet34", r"unexpected keys: layer1\.2\."),  # same shapes, more blocks: timm alone would load it silently
    ("test_vit", r"missing keys: conv1\.weight, bn1\.weight.*unexpected keys: "),  # no key in common
])
def test_a_file_for_another_architecture_is_a_clear_error(tmp_path, other, expected):
    path = tmp_path / f"{other}.safetensors"
    save_file(rgb_state(other), str(path))
    with pytest.raises(ValueError, match=rf"{path}: these weights do not fit timm model 'resnet18' \(a file for "
                                         rf"another architecture\?\): .*{expected}"):
        create_image_encoder("resnet18", path)


def test_an_unreadable_or_missing_file_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=rf"{junk}: cannot read image encoder weights for timm model 'resnet18'"):
        create_image_encoder("resnet18", junk)
    with pytest.raises(ValueError, match=r"nope\.pth: image encoder weights file is missing"):
        create_image_encoder("resnet18", tmp_path / "nope.pth")


def test_nothing_is_downloaded(resnet18_rgb, tmp_path, monkeypatch):
    """The overlay clears the registry's URL and hub id: timm's download functions are never reached."""
    from timm.models import _builder

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    for name in ("load_state_dict_from_url", "load_state_dict_from_hf", "download_cached_file",
                 "load_custom_from_hf"):
        monkeypatch.setattr(_builder, name, refuse)
    path = tmp_path / "w.safetensors"
    save_file(resnet18_rgb, str(path))
    create_image_encoder("resnet18", path)
    create_image_encoder("resnet18")


def test_the_config_checks_the_file_before_any_job(tmp_path):
    with pytest.raises(ValueError, match=r"pretrain\.image\.weights: .*missing\.safetensors does not exist"):
        ImageSettings(weights=str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match=r"pretrain\.image\.weights: .* is not a file"):
        ImageSettings(weights=str(tmp_path))
    with pytest.raises(ValueError, match=r"pretrain\.image\.freeze_steps must be >= 0"):
        ImageSettings(freeze_steps=-1)
    (tmp_path / "w.safetensors").write_bytes(b"")
    assert ImageSettings(weights=str(tmp_path / "w.safetensors"), freeze_steps=20).freeze_steps == 20
