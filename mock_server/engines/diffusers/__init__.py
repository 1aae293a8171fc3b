"""The reference engine: MagicMix and Image Mixer computed with diffusers (needs the `reference` extra).

torch, diffusers and transformers are imported only inside this package, so the mock installs and
runs without them.
"""

from mock_server.engines.diffusers.engine import DiffusersEngine, EngineClosedError
from mock_server.engines.diffusers.loading import IMG_MIXER_DIR, MAGIC_MIX_DIR, ModelLayoutError

__all__ = ["IMG_MIXER_DIR", "MAGIC_MIX_DIR", "DiffusersEngine", "EngineClosedError", "ModelLayoutError"]
