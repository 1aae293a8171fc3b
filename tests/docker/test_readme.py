"""docker/README.md documents the exact install commands the images run."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from tests.docker.images import DOCKER_DIR, IMAGES, Image

pytestmark = pytest.mark.unit

README = (DOCKER_DIR / "README.md").read_text(encoding="utf-8")
HEADING = "## What the images install"


def documented_installs() -> list[str]:
    """The `pip install` lines of the first fenced block under the heading, normalised like the images'."""
    _, found, section = README.partition(HEADING + "\n")
    if not found:
        pytest.fail(f"docker/README.md has no {HEADING!r} section")
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.DOTALL)
    if block is None:
        pytest.fail(f"no fenced block under {HEADING!r}")
    lines = [line.strip() for line in block.group(1).splitlines()]
    return [shlex.join(shlex.split(line)) for line in lines if line.startswith("pip install")]


def test_documented_installs_are_exactly_what_the_images_run() -> None:
    installed = sorted({command for image in IMAGES for command in image.pip_installs()})
    assert sorted(documented_installs()) == installed


@pytest.mark.parametrize("image", IMAGES, ids=lambda image: image.name)
def test_readme_names_each_image_build(image: Image) -> None:
    assert f"mixmock/{image.name}:local" in README


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


@pytest.mark.parametrize("language", ["yaml", "python"])
def test_readme_snippets_are_well_formed(language: str) -> None:
    blocks = _blocks(language)
    assert blocks, f"no {language} snippet"
    for block in blocks:
        if language == "yaml":
            assert isinstance(yaml.safe_load(block), dict)
        else:
            compile(block, "docker/README.md", "exec")


def test_ci_snippets_wait_on_the_mock_port() -> None:
    github, gitlab = (yaml.safe_load(block) for block in _blocks("yaml"))
    (service,) = github["jobs"]["contract-tests"]["services"].values()
    assert service["ports"] == ["8000:8000"]
    (gitlab_service,) = gitlab["contract-tests"]["services"]
    assert (
        gitlab["contract-tests"]["variables"]["MODELSLAB_ORIGIN"] == f"http://{gitlab_service['alias']}:8000"
    )
