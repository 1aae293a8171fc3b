"""The project's images as the tests see them: which Dockerfile, which stage, and what that stage sets."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.docker.dockerfile import Instruction, Stage, lineage, parse_file, stages

__all__ = ["DOCKER_DIR", "IMAGES", "REPO_ROOT", "SERVERS", "Image"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"


@dataclass(frozen=True)
class Image:
    name: str
    dockerfile: Path
    target: str | None  # None: the file's last stage, what a plain `docker build` makes

    def chain(self) -> list[Stage]:
        return lineage(stages(parse_file(self.dockerfile)), self.target)

    def instructions(self, keyword: str) -> list[Instruction]:
        return [found for stage in self.chain() for found in stage.all(keyword)]

    def last(self, keyword: str) -> Instruction | None:
        found = self.instructions(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for instruction in self.instructions("ENV"):
            merged.update(instruction.env())
        return merged

    def pip_installs(self) -> list[str]:
        """Each `pip install ...` of the RUN instructions, whitespace normalised."""
        commands = []
        for run in self.instructions("RUN"):
            for command in run.arguments.split("&&"):
                words = shlex.split(command)
                if words[:2] == ["pip", "install"]:
                    commands.append(shlex.join(words))
        return commands


IMAGES = (
    Image("mock", DOCKER_DIR / "mock.Dockerfile", "mock"),
    Image("audit", DOCKER_DIR / "mock.Dockerfile", "audit"),
    Image("reference", DOCKER_DIR / "reference.Dockerfile", None),
)
SERVERS = tuple(image for image in IMAGES if image.name != "audit")
