"""What each image is built from and what it runs, read from the Dockerfiles themselves."""

from __future__ import annotations

import dataclasses
import re
import shlex
import tomllib
from typing import Any

import pytest

from mock_server.settings import ENV_PREFIX, Settings
from tests.docker.dockerignore import DockerIgnore
from tests.docker.images import IMAGES, REPO_ROOT, SERVERS, Image

pytestmark = pytest.mark.unit

PYPROJECT: dict[str, Any] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETTING_VARIABLES = {ENV_PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}
SERVE_COMMAND = ["mixmock", "serve", "--host", "0.0.0.0"]


def _ids(image: Image) -> str:
    return image.name


def _copied(image: Image) -> list[str]:
    """The context paths the image's COPY instructions read (all sources but the destination)."""
    sources = []
    for copy in image.instructions("COPY") + image.instructions("ADD"):
        sources.extend(copy.words()[:-1])
    return sources


def _user_id(image: Image) -> str:
    user = image.last("USER")
    if user is None:
        pytest.fail(f"{image.name}: no USER instruction, the image would run as root")
    return user.arguments.split(":")[0]


def _installed_extras(image: Image) -> set[str]:
    extras: set[str] = set()
    for command in image.pip_installs():
        for word in shlex.split(command)[2:]:
            if match := re.fullmatch(r"\.\[([a-z,]+)\]", word):
                extras.update(match.group(1).split(","))
    return extras


@pytest.mark.parametrize("image", IMAGES, ids=_ids)
def test_base_image_has_a_pinned_tag(image: Image) -> None:
    base = image.chain()[0].base
    tag = base.partition(":")[2]
    assert tag not in {"", "latest"}, f"{image.name}: base image {base!r} needs an explicit tag"


@pytest.mark.parametrize("image", IMAGES, ids=_ids)
def test_runs_as_the_numeric_non_root_user_it_creates(image: Image) -> None:
    uid = _user_id(image)
    assert uid.isdigit(), f"{image.name}: USER {uid!r} must be numeric (Kubernetes runAsNonRoot checks it)"
    assert int(uid) != 0, f"{image.name}: USER {uid!r} is root"
    creations = [run.arguments for run in image.instructions("RUN") if "useradd" in run.arguments]
    assert any(f"--uid {uid}" in creation for creation in creations), f"{image.name}: no useradd --uid {uid}"


@pytest.mark.parametrize("image", IMAGES, ids=_ids)
def test_every_copied_path_exists_and_reaches_the_build_context(image: Image) -> None:
    ignore = DockerIgnore.from_file(REPO_ROOT / ".dockerignore")
    for source in _copied(image):
        path = REPO_ROOT / source
        assert path.exists(), f"{image.name}: COPY {source} but the repository has no {source}"
        assert not ignore.excludes(source.rstrip("/")), f"{image.name}: .dockerignore leaves out {source}"


@pytest.mark.parametrize("image", IMAGES, ids=_ids)
def test_copies_everything_the_package_build_reads(image: Image) -> None:
    copied = {source.rstrip("/") for source in _copied(image)}
    patterns = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in patterns}
    needed = {"pyproject.toml", PYPROJECT["project"]["readme"], *packages}
    assert needed <= copied, f"{image.name}: the build also needs {sorted(needed - copied)}"


@pytest.mark.parametrize("image", IMAGES, ids=_ids)
def test_installs_only_extras_the_project_declares(image: Image) -> None:
    assert image.pip_installs(), f"{image.name}: no pip install"
    declared = set(PYPROJECT["project"]["optional-dependencies"])
    assert _installed_extras(image) <= declared


@pytest.mark.parametrize("image", IMAGES, ids=_ids)
def test_mixmock_variables_are_real_settings(image: Image) -> None:
    unknown = {name for name in image.env() if name.startswith(ENV_PREFIX)} - SETTING_VARIABLES
    assert not unknown, f"{image.name}: the mock reads no {sorted(unknown)}"


@pytest.mark.parametrize("image", [image for image in IMAGES if image.name != "reference"], ids=_ids)
def test_slim_images_carry_no_torch(image: Image) -> None:
    assert image.chain()[0].base.startswith("python:3.11-slim")
    assert "reference" not in _installed_extras(image)


@pytest.mark.parametrize("image", SERVERS, ids=_ids)
def test_serves_on_the_exposed_port(image: Image) -> None:
    expose = image.last("EXPOSE")
    assert expose is not None
    assert expose.arguments == image.env()["MIXMOCK_PORT"] == "8000"
    cmd = image.last("CMD")
    assert cmd is not None
    assert cmd.exec_form() == SERVE_COMMAND


@pytest.mark.parametrize("image", SERVERS, ids=_ids)
def test_health_check_probes_health_on_the_configured_port(image: Image) -> None:
    check = image.last("HEALTHCHECK")
    assert check is not None, f"{image.name}: no HEALTHCHECK"
    assert {"interval", "timeout", "start-period", "retries"} <= set(check.flags)
    command = check.healthcheck_command()
    assert command is not None, "exec form: no shell needed"
    assert command[:2] == ["python", "-c"], "python's urllib: slim images lack curl"
    assert "+ '/health'" in command[2], "probes exactly /health"
    assert "os.environ.get('MIXMOCK_PORT', '8000')" in command[2]


@pytest.mark.parametrize("image", SERVERS, ids=_ids)
def test_store_lives_in_a_folder_the_user_owns(image: Image) -> None:
    folder = image.env()["MIXMOCK_STORE"].rsplit("/", 1)[0]
    setup = " ".join(run.arguments for run in image.instructions("RUN") if "useradd" in run.arguments)
    assert f"mkdir -p {folder}" in setup or re.search(rf"mkdir -p [^&]*{folder}\b", setup)
    assert re.search(rf"chown mixmock:mixmock [^&]*{folder}\b", setup), f"{image.name}: {folder} not chowned"


def test_reference_loads_mounted_weights_offline() -> None:
    (reference,) = [image for image in IMAGES if image.name == "reference"]
    env = reference.env()
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["MIXMOCK_ENGINE"] == "diffusers"
    assert env["MIXMOCK_MODEL_DIR"] == "/models"
    assert "reference" in _installed_extras(reference)
    assert reference.chain()[0].base.startswith("pytorch/pytorch:")
    assert "cuda12" in reference.chain()[0].base
    assert not any(copy.words()[-1].startswith("/models") for copy in reference.instructions("COPY"))
    fetchers = re.compile(r"\b(curl|wget|huggingface-cli|hf download|snapshot_download|from_pretrained)\b")
    assert not any(fetchers.search(run.arguments) for run in reference.instructions("RUN"))


def test_audit_image_runs_the_audit_and_owns_its_report_folder() -> None:
    (audit,) = [image for image in IMAGES if image.name == "audit"]
    entrypoint = audit.last("ENTRYPOINT")
    assert entrypoint is not None
    assert entrypoint.exec_form() == ["mixmock", "audit"]
    assert "audit" in _installed_extras(audit)
    workdir = audit.last("WORKDIR")
    assert workdir is not None
    assert workdir.arguments == "/reports"
    setup = " ".join(run.arguments for run in audit.instructions("RUN") if "useradd" in run.arguments)
    assert re.search(r"chown mixmock:mixmock [^&]*/reports\b", setup)
