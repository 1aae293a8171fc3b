"""A small Dockerfile reader for the image tests: instructions, their flags and arguments, and stages.

It covers what the project's Dockerfiles use: parser directives, comments, backslash continuations,
exec (JSON) and shell forms, `--flag=value` options, `ENV` pairs and `FROM ... AS name` stages.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DockerfileError", "Instruction", "Stage", "lineage", "parse", "parse_file", "stages"]

_FLAG = re.compile(r"--([a-z][a-z0-9-]*)=(\S+)\s*")


class DockerfileError(ValueError):
    """The text is not a Dockerfile this reader understands; the message names the line."""


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY...
    flags: dict[str, str]  # --start-period=30s -> {"start-period": "30s"}
    arguments: str  # the rest of the instruction, continuations joined
    line: int  # where it starts, 1-based

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for the shell form."""
        if not self.arguments.startswith("["):
            return None
        try:
            words = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None  # Docker itself falls back to the shell form here
        if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
            raise DockerfileError(
                f"line {self.line}: {self.keyword} array must hold strings: {self.arguments}"
            )
        return words

    def words(self) -> list[str]:
        """The arguments as words: the JSON array, else shell-split."""
        form = self.exec_form()
        return form if form is not None else shlex.split(self.arguments)

    def healthcheck_command(self) -> list[str] | None:
        """`HEALTHCHECK [flags] CMD ["a", "b"]` -> ["a", "b"]; None for a shell-form command."""
        if self.keyword != "HEALTHCHECK" or not self.arguments.startswith("CMD "):
            raise DockerfileError(f"line {self.line}: not a HEALTHCHECK ... CMD instruction")
        return Instruction("CMD", {}, self.arguments.removeprefix("CMD ").strip(), self.line).exec_form()

    def env(self) -> dict[str, str]:
        """`ENV A=1 B="two words"` (or the legacy `ENV A 1`) as a mapping."""
        if self.keyword != "ENV":
            raise DockerfileError(f"line {self.line}: env() of a {self.keyword} instruction")
        words = shlex.split(self.arguments)
        if words and "=" not in words[0]:
            return {words[0]: " ".join(words[1:])}
        pairs = [word.split("=", 1) for word in words]
        if any(len(pair) != 2 for pair in pairs):
            raise DockerfileError(f"line {self.line}: ENV mixes KEY=value and KEY value: {self.arguments}")
        return dict(pairs)


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]  # after FROM, up to the next FROM

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, joined text) per instruction; comments and blank lines dropped."""
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, as Docker does
        if not parts:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        yield start, " ".join(part for part in parts if part)
        parts = []
    if parts:
        raise DockerfileError(f"line {start}: the file ends inside a continuation")


def _instruction(number: int, text: str) -> Instruction:
    keyword, _, rest = text.partition(" ")
    if not keyword.isalpha():
        raise DockerfileError(f"line {number}: not an instruction: {text!r}")
    flags: dict[str, str] = {}
    rest = rest.strip()
    while match := _FLAG.match(rest):
        flags[match.group(1)] = match.group(2)
        rest = rest[match.end() :]
    return Instruction(keyword.upper(), flags, rest.strip(), number)


def parse(text: str) -> list[Instruction]:
    instructions = [_instruction(number, line) for number, line in _logical_lines(text)]
    if not instructions or instructions[0].keyword not in {"FROM", "ARG"}:
        raise DockerfileError("a Dockerfile must start with FROM (or ARG)")
    return instructions


def parse_file(path: Path) -> list[Instruction]:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except DockerfileError as error:
        raise DockerfileError(f"{path.name}: {error}") from None


def stages(instructions: list[Instruction]) -> list[Stage]:
    found: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            if len(words) == 3 and words[1].lower() == "as":
                found.append(Stage(words[0], words[2], ()))
            elif len(words) == 1:
                found.append(Stage(words[0], None, ()))
            else:
                raise DockerfileError(
                    f"line {instruction.line}: FROM IMAGE [AS NAME], got {instruction.arguments!r}"
                )
        elif found:
            last = found[-1]
            found[-1] = Stage(last.base, last.name, (*last.instructions, instruction))
    return found


def lineage(found: list[Stage], target: str | None = None) -> list[Stage]:
    """The stages a build of `target` (default: the last stage) runs through, first ancestor first."""
    by_name = {stage.name: stage for stage in found if stage.name}
    if target is not None and target not in by_name:
        raise DockerfileError(f"no stage named {target!r}; stages: {', '.join(by_name) or 'none named'}")
    chain = [by_name[target] if target is not None else found[-1]]
    while chain[0].base in by_name:
        chain.insert(0, by_name[chain[0].base])
    return chain
