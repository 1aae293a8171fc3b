"""The loader reads what init_tiny_models wrote, offline, and explains a wrong layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from mock_server.engines.diffusers.loading import ModelLayoutError, load_models
from mock_server.engines.diffusers.tiny import init_tiny_models, tiny_tokenizer

pytestmark = [pytest.mark.reference, pytest.mark.timeout(120)]

CPU = torch.device("cpu")


def test_loads_both_operations_bit_exactly_and_reproducibly(tiny_models: Path, tmp_path: Path) -> None:
    loaded = load_models(tiny_models, CPU, torch.float32)
    assert loaded.magic_mix is not None
    assert loaded.img_mixer is not None
    again = load_models(init_tiny_models(tmp_path), CPU, torch.float32)
    assert again.magic_mix is not None
    for name, tensor in loaded.magic_mix.unet.state_dict().items():
        assert torch.equal(tensor, again.magic_mix.unet.state_dict()[name]), name
    assert loaded.img_mixer.preprocess.crop == (32, 32)


def test_the_tokenizer_round_trips(tiny_models: Path) -> None:
    loaded = load_models(tiny_models, CPU, torch.float32)
    assert loaded.magic_mix is not None
    ids = loaded.magic_mix.tokenizer("Bed").input_ids
    assert ids == tiny_tokenizer()("Bed").input_ids
    assert ids[0] == 512
    assert ids[-1] == 513


def test_loads_in_bfloat16(tiny_models: Path) -> None:
    loaded = load_models(tiny_models, CPU, torch.bfloat16)
    assert loaded.img_mixer is not None
    assert loaded.img_mixer.unet.dtype == torch.bfloat16


def test_one_operation_is_enough(tiny_models: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_models / "img_mixer", tmp_path / "img_mixer")
    loaded = load_models(tmp_path, CPU, torch.float32)
    assert loaded.magic_mix is None
    assert loaded.img_mixer is not None


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "neither magic_mix/ nor img_mixer/"),
        ("no-vae", "lacks vae/"),
    ],
    ids=str,
)
def test_a_wrong_layout_is_explained(tiny_models: Path, tmp_path: Path, layout: str, message: str) -> None:
    root = tmp_path / "models"
    if layout != "missing":
        root.mkdir()
    if layout == "no-vae":
        shutil.copytree(tiny_models / "magic_mix", root / "magic_mix", ignore=shutil.ignore_patterns("vae"))
    with pytest.raises(ModelLayoutError, match=message):
        load_models(root, CPU, torch.float32)
