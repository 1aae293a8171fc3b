"""The kit's OpenAPI 3.1 specs, one per vendor base URL, shipped as package data.

Everything else (mock, reference engine, audit) locates the specs through this module, so a plain
`pip install .` finds them as well as a source checkout does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

__all__ = ["SPECS", "SPEC_DIR", "Spec", "get_spec", "load_spec"]

SPEC_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Spec:
    """One vendor base URL: its spec file and the path prefix the vendor serves it under."""

    name: str
    filename: str

    @property
    def path(self) -> Path:
        return SPEC_DIR / self.filename

    @property
    def server_url(self) -> str:
        url: str = load_spec(self.name)["servers"][0]["url"]
        return url

    @property
    def server_path(self) -> str:
        """The server's path (`/api/v6`), kept under any origin the kit is pointed at."""
        return urlsplit(self.server_url).path.rstrip("/")


SPECS: Mapping[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("v6", "v6-image-editing.yaml"),
        Spec("v1-enterprise", "v1-enterprise-image-editing.yaml"),
        Spec("v5", "v5-magic-mix.yaml"),
    )
}


def get_spec(name: str) -> Spec:
    try:
        return SPECS[name]
    except KeyError:
        known = ", ".join(SPECS)
        raise KeyError(f"unknown spec {name!r}; known specs: {known}") from None


@functools.cache
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def load_spec(name: str) -> dict[str, Any]:
    """The parsed spec document (shared and cached: do not mutate it)."""
    return _load(get_spec(name).path)
