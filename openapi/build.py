"""Bundle the spec sources in `openapi/source/` into the published, self-contained specs.

    python -m openapi.build           # rewrite each published spec from its sources
    python -m openapi.build --check   # exit 1, naming each published spec that differs from its sources

Each published spec (`openapi/<name>.yaml`) is one file whose `$ref`s are all local, as Prism,
schemathesis and openapi-core want it. Its source is `openapi/source/<name>.yaml`, which keeps the
parts the specs share once:

- `components.yaml`: what all three specs share (schemas, responses, examples, path items);
- `magic-mix.yaml`: the magic_mix spec, a template for its two base URLs;
- `<name>.yaml`: a spec's own document, or `x-build: {template: <file>, params: {...}}`.

Building a source:

- `${name}` is replaced by the parameter `name` from `x-build.params` (of the spec's file and of its
  template; each name is given once, and each must be used). A string that is only `${name}` takes the
  value with its type (a number, a list); inside a longer string the value is written as text.
- `$ref: '#/components/schemas/<Name>'` stays a reference: the published spec defines that schema.
- Every other `$ref` is replaced by what it points at, built in turn: `components.yaml#/<pointer>` in
  that file, `#/<pointer>` in the spec's own document (also when written in `components.yaml`, whose
  parts take the spec-specific pieces, such as the success example, from the spec including them).
- The published spec is the built document less `x-build`, with only `components.schemas` kept under
  `components` (the other components of a source exist to be included), under a header naming its
  sources. Key order is the sources' order.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from openapi import SPEC_DIR, SPECS

__all__ = ["SOURCE_DIR", "BuildError", "build", "main", "render", "stale", "write"]

SOURCE_DIR = SPEC_DIR / "source"
SCHEMA_REF = "#/components/schemas/"
WIDTH = 110  # the published files' line width (PyYAML folds long strings there)

_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class BuildError(Exception):
    """A source that cannot be built: a missing parameter or target, a bad `$ref`, a cycle..."""


class _Dumper(yaml.SafeDumper):
    """Writes every value out in full: a part included twice must not become a YAML alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _read(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise BuildError(f"source file not found: {path.name}") from None


def _pointer(document: Any, pointer: str, ref: str) -> Any:
    """The value at a JSON pointer (`/a/b~1c`; empty for the whole document)."""
    if pointer and not pointer.startswith("/"):
        raise BuildError(f"$ref {ref!r}: the part after # must start with /")
    target = document
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and key in target:
            target = target[key]
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            target = target[int(key)]
        else:
            raise BuildError(f"$ref {ref!r}: nothing at {pointer!r}")
    return target


def _settings(data: Any, filename: str) -> tuple[str | None, dict[str, Any]]:
    """A source's `x-build`: the template it names (or None) and its parameters."""
    if not isinstance(data, Mapping):
        raise BuildError(f"{filename}: a spec source must be a mapping")
    settings = data.get("x-build", {})
    if not isinstance(settings, Mapping) or not set(settings) <= {"template", "params"}:
        raise BuildError(f"{filename}: x-build takes `template` and `params` only")
    template, params = settings.get("template"), settings.get("params", {})
    if template is not None and not isinstance(template, str):
        raise BuildError(f"{filename}: x-build.template must be a file name")
    if not isinstance(params, Mapping):
        raise BuildError(f"{filename}: x-build.params must be a mapping")
    return template, dict(params)


@dataclass
class _Bundle:
    source_dir: Path
    filename: str
    document: Mapping[str, Any] = field(init=False)
    params: dict[str, Any] = field(init=False)
    files: dict[str, Any] = field(default_factory=dict)  # file name -> parsed source, in order of use
    used_params: set[str] = field(default_factory=set)
    used_parts: set[str] = field(default_factory=set)  # `#/...` refs into the spec's own document
    active: list[str] = field(default_factory=list)  # the refs being built, to report a cycle

    def __post_init__(self) -> None:
        own = self.load(self.filename)
        template, self.params = _settings(own, self.filename)
        if template is None:
            self.document = own
            return
        if set(own) != {"x-build"}:
            raise BuildError(f"{self.filename}: a spec with a template holds only x-build")
        self.document = self.load(template)
        nested, params = _settings(self.document, template)
        if nested is not None:
            raise BuildError(f"{template}: a template cannot name a template")
        for name, value in params.items():
            if name in self.params:
                raise BuildError(f"parameter {name!r} is given by both {self.filename} and {template}")
            self.params[name] = value

    def load(self, filename: str) -> Any:
        if "/" in filename or "\\" in filename:
            raise BuildError(f"{filename!r}: sources refer to files of their own folder only")
        if filename not in self.files:
            self.files[filename] = _read(self.source_dir / filename)
        return self.files[filename]

    def text(self, value: str) -> Any:
        """`value` with its `${name}` parameters filled in."""
        whole = _PARAM.fullmatch(value)
        if whole:
            return copy.deepcopy(self.param(whole.group(1)))

        def fill(match: re.Match[str]) -> str:
            param = self.param(match.group(1))
            if isinstance(param, bool) or not isinstance(param, str | int):
                raise BuildError(f"parameter {match.group(1)!r} is not text, so it cannot sit in {value!r}")
            return str(param)

        filled = _PARAM.sub(fill, value)
        if "${" in filled:
            raise BuildError(f"malformed parameter in {value!r}")
        return filled

    def param(self, name: str) -> Any:
        if name not in self.params:
            raise BuildError(f"parameter {name!r} is not given (x-build.params)")
        self.used_params.add(name)
        return self.params[name]

    def key(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        key = self.text(value)
        if not isinstance(key, str):
            raise BuildError(f"key {value!r} does not give a string")
        return key

    def build(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, list):
            return [self.build(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if "$ref" not in node:
            return {self.key(name): self.build(value) for name, value in node.items()}
        if len(node) != 1:
            raise BuildError(f"$ref {node['$ref']!r} has sibling keys {sorted(set(node) - {'$ref'})}")
        ref = self.text(node["$ref"])
        if not isinstance(ref, str):
            raise BuildError(f"$ref {node['$ref']!r} does not give a string")
        if ref.startswith(SCHEMA_REF):
            return {"$ref": ref}
        return self.include(ref)

    def include(self, ref: str) -> Any:
        if ref in self.active:
            raise BuildError("$ref cycle: " + " -> ".join([*self.active, ref]))
        filename, hash_sign, pointer = ref.partition("#")
        if not hash_sign:
            raise BuildError(f"$ref {ref!r}: write file.yaml#/pointer or #/pointer")
        if filename:
            target = _pointer(self.load(filename), pointer, ref)
        else:
            self.used_parts.add(pointer)
            target = _pointer(self.document, pointer, ref)
        self.active.append(ref)
        try:
            return self.build(target)
        finally:
            self.active.pop()

    def bundle(self) -> dict[str, Any]:
        source = {name: value for name, value in self.document.items() if name != "x-build"}
        components = source.pop("components", {})
        built: dict[str, Any] = self.build(source)
        schemas = self.build(components.get("schemas", {}))
        if schemas:
            built["components"] = {"schemas": schemas}
        unused_params = sorted(set(self.params) - self.used_params)
        if unused_params:
            raise BuildError(f"{self.filename}: parameters never used: {', '.join(unused_params)}")
        own_parts = {
            f"/components/{kind}/{name}"
            for kind, parts in components.items()
            if kind != "schemas"
            for name in parts
        }
        unused_parts = sorted(own_parts - self.used_parts)
        if unused_parts:
            raise BuildError(f"{self.filename}: components never included: {', '.join(unused_parts)}")
        for ref in _refs(built):
            if not ref.startswith(SCHEMA_REF) or ref.removeprefix(SCHEMA_REF) not in schemas:
                raise BuildError(f"{self.filename}: the published spec would hold an unresolved $ref {ref!r}")
        return built


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for name, value in node.items():
            if name == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def build(filename: str, source_dir: Path = SOURCE_DIR) -> tuple[dict[str, Any], list[str]]:
    """The published document built from `source_dir/filename`, and the source files it used."""
    bundle = _Bundle(source_dir, filename)
    document = bundle.bundle()
    return document, list(bundle.files)


def render(filename: str, source_dir: Path = SOURCE_DIR) -> str:
    """The published file's text: a header naming the sources, then the document."""
    document, used = build(filename, source_dir)
    folder = f"{source_dir.parent.name}/{source_dir.name}"
    header = "".join(
        [
            "# Generated by `python -m openapi.build` from:\n",
            *(f"#   {folder}/{name}\n" for name in used),
            "# Do not edit this file: edit its sources, then run `python -m openapi.build`\n",
            '# (openapi/README.md, "Editing a spec").\n',
        ]
    )
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=WIDTH, allow_unicode=True)
    return header + body


def _published(output_dir: Path | None) -> list[tuple[str, Path]]:
    folder = SPEC_DIR if output_dir is None else output_dir
    return [(spec.filename, folder / spec.filename) for spec in SPECS.values()]


def stale(source_dir: Path = SOURCE_DIR, output_dir: Path | None = None) -> list[str]:
    """The published specs (file names) whose text differs from what their sources build."""
    found = []
    for filename, path in _published(output_dir):
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != render(filename, source_dir):
            found.append(filename)
    return found


def write(source_dir: Path = SOURCE_DIR, output_dir: Path | None = None) -> list[str]:
    """Rebuild every published spec; the file names of those whose text changed."""
    changed = []
    for filename, path in _published(output_dir):
        text = render(filename, source_dir)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(filename)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m openapi.build",
        description="Build the published OpenAPI specs (openapi/*.yaml) from openapi/source/.",
        epilog="Exit codes: 0 done (or, with --check, up to date); 1 with --check, a published spec is "
        "stale; 2 a source cannot be built.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and name each published spec that differs from its sources",
    )
    args = parser.parse_args(argv)
    if not SOURCE_DIR.is_dir():
        print("error: no openapi/source/ here: the spec sources live in the repository", file=sys.stderr)
        return 2
    try:
        if args.check:
            names = stale()
            for name in names:
                print(
                    f"stale: openapi/{name} differs from its sources; run `python -m openapi.build`",
                    file=sys.stderr,
                )
            return 1 if names else 0
        for name in write():
            print(f"rebuilt openapi/{name}")
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
