"""`.dockerignore` matching as the Docker build context applies it, for the patterns this project uses.

Each pattern is a path glob relative to the context root (`*` and `?` stay within one path segment, `**`
spans segments); a leading `!` re-includes. A path is excluded when the last pattern matching it, or one
of its parent folders, excludes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DockerIgnore"]


def _regex(glob: str) -> re.Pattern[str]:
    out, index = [], 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        elif glob[index] == "[":
            end = glob.index("]", index)
            out.append(glob[index : end + 1])
            index = end + 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class DockerIgnore:
    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (re-include?, pattern)

    @classmethod
    def from_text(cls, text: str) -> DockerIgnore:
        rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            glob = line.lstrip("!").strip().strip("/")
            rules.append((include, _regex(glob)))
        return cls(tuple(rules))

    @classmethod
    def from_file(cls, path: Path) -> DockerIgnore:
        return cls.from_text(path.read_text(encoding="utf-8"))

    def excludes(self, relative: str) -> bool:
        """Whether the context leaves out this path (relative to the context root, `/`-separated)."""
        parts = relative.strip("/").split("/")
        candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        excluded = False
        for include, pattern in self.rules:
            if any(pattern.fullmatch(candidate) for candidate in candidates):
                excluded = not include
        return excluded
