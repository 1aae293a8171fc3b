"""Building the configured engine: the diffusers engine gets its settings (no torch needed here)."""

from __future__ import annotations

import importlib
import types
from typing import Any, ClassVar

import pytest

from mock_server.engines import registry
from mock_server.engines.synthetic import SyntheticEngine
from mock_server.settings import Settings, SettingsError

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


class FakeDiffusersEngine:
    made: ClassVar[dict[str, Any]] = {}

    @classmethod
    def create(cls, **kwargs: Any) -> FakeDiffusersEngine:
        cls.made = kwargs
        return cls()


@pytest.fixture
def fake_diffusers(monkeypatch: pytest.MonkeyPatch) -> type[FakeDiffusersEngine]:
    module = types.SimpleNamespace(DiffusersEngine=FakeDiffusersEngine)
    monkeypatch.setattr(importlib, "import_module", lambda name: module)
    return FakeDiffusersEngine


@pytest.mark.parametrize("max_batch", [1, 4, 16], ids=["reproducible", "default", "wide"])
def test_max_batch_reaches_the_diffusers_engine(
    fake_diffusers: type[FakeDiffusersEngine], max_batch: int
) -> None:
    registry.build_engine(Settings(engine="diffusers", model_dir="/models/sd", max_batch=max_batch))
    assert fake_diffusers.made["max_batch_samples"] == max_batch
    assert fake_diffusers.made["model_dir"] == "/models/sd"


def test_diffusers_without_a_model_dir_is_refused(fake_diffusers: type[FakeDiffusersEngine]) -> None:
    with pytest.raises(SettingsError, match="needs --model-dir"):
        registry.build_engine(Settings(engine="diffusers"))


def test_the_default_engine_is_synthetic() -> None:
    assert isinstance(registry.build_engine(Settings()), SyntheticEngine)
