"""The Dockerfile reader the image tests rely on."""

from __future__ import annotations

import pytest

from tests.docker.dockerfile import DockerfileError, lineage, parse, stages

pytestmark = pytest.mark.unit

SAMPLE = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base
ENV A=1 \\
    # a comment inside a continuation
    B="two words"
RUN useradd app \\
    && mkdir -p /data

FROM base AS app
HEALTHCHECK --interval=10s --start-period=30s CMD ["python", "-c", "print(1)"]
CMD mixmock serve --host 0.0.0.0
"""


def test_continuations_join_and_comments_vanish() -> None:
    run = next(found for found in parse(SAMPLE) if found.keyword == "RUN")
    assert run.arguments == "useradd app && mkdir -p /data"
    assert run.line == 6


def test_env_pairs_keep_quoted_values() -> None:
    env = next(found for found in parse(SAMPLE) if found.keyword == "ENV")
    assert env.env() == {"A": "1", "B": "two words"}


def test_legacy_env_form() -> None:
    (_, env) = parse("FROM scratch\nENV HOME /home/app\n")
    assert env.env() == {"HOME": "/home/app"}


def test_flags_are_split_from_the_arguments() -> None:
    check = next(found for found in parse(SAMPLE) if found.keyword == "HEALTHCHECK")
    assert check.flags == {"interval": "10s", "start-period": "30s"}
    assert check.arguments.startswith('CMD ["python"')


@pytest.mark.parametrize(
    ("text", "words", "exec_form"),
    [
        ('CMD ["mixmock", "serve"]', ["mixmock", "serve"], True),
        ("CMD mixmock serve --host 0.0.0.0", ["mixmock", "serve", "--host", "0.0.0.0"], False),
        ("CMD [not json", ["[not", "json"], False),
    ],
    ids=["exec-form", "shell-form", "broken-json-is-shell-form"],
)
def test_words_of_exec_and_shell_forms(text: str, words: list[str], exec_form: bool) -> None:
    (_, cmd) = parse(f"FROM scratch\n{text}\n")
    assert cmd.words() == words
    assert (cmd.exec_form() is not None) is exec_form


def test_stages_and_lineage() -> None:
    found = stages(parse(SAMPLE))
    assert [(stage.name, stage.base) for stage in found] == [("base", "python:3.11-slim"), ("app", "base")]
    assert [stage.name for stage in lineage(found, "app")] == ["base", "app"]
    assert [stage.name for stage in lineage(found)] == ["base", "app"]


def _words_of_every_instruction(text: str) -> list[list[str]]:
    return [instruction.words() for instruction in parse(text)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RUN echo hi\n", "must start with FROM"),
        ("FROM scratch\nRUN echo \\\n", "ends inside a continuation"),
        ("FROM scratch\n1NVALID thing\n", "not an instruction"),
        ("FROM scratch\nCMD [1, 2]\n", "must hold strings"),
    ],
    ids=["no-from", "dangling-continuation", "bad-keyword", "non-string-exec-form"],
)
def test_bad_input_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        _words_of_every_instruction(text)


def test_unknown_target_lists_the_stages() -> None:
    with pytest.raises(DockerfileError, match=r"no stage named 'gpu'; stages: base, app"):
        lineage(stages(parse(SAMPLE)), "gpu")
