"""Image producers plugged into the mock's generate stage (synthetic by default, diffusers for real)."""

from mock_server.engines.base import Engine, EngineInputError, ImageJob

__all__ = ["Engine", "EngineInputError", "ImageJob"]
