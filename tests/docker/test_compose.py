"""docker/compose.yaml against the Dockerfiles it builds and the settings the mock reads."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from conformance.cli import KEY_ENV
from mock_server.settings import ENV_PREFIX, Settings
from tests.docker.images import DOCKER_DIR, IMAGES, REPO_ROOT, Image

pytestmark = pytest.mark.unit

COMPOSE: dict[str, Any] = yaml.safe_load((DOCKER_DIR / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
SETTING_VARIABLES = {ENV_PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Compose's `${NAME}` / `${NAME:-default}` substitution, the two forms this file uses."""
    return _VARIABLE.sub(lambda match: environ.get(match.group(1)) or match.group(2) or "", text)


BUILT = sorted(name for name, service in SERVICES.items() if "build" in service)
SCALE = {name for name, service in SERVICES.items() if "scale" in service.get("profiles", [])}


def image_of(service: str) -> Image:
    build = SERVICES[service]["build"]
    dockerfile = (DOCKER_DIR / build["context"] / build["dockerfile"]).resolve()
    for image in IMAGES:
        if image.dockerfile == dockerfile and image.target == build.get("target"):
            return image
    pytest.fail(f"service {service!r} builds {build}, which no tested image matches")


def _container_ports(service: str) -> set[str]:
    return {interpolate(mapping, {}).rsplit(":", 1)[1] for mapping in SERVICES[service].get("ports", [])}


@pytest.mark.parametrize("service", BUILT)
def test_builds_an_existing_dockerfile_from_the_repository_root(service: str) -> None:
    build = SERVICES[service]["build"]
    assert (DOCKER_DIR / build["context"]).resolve() == REPO_ROOT
    assert (REPO_ROOT / build["dockerfile"]).is_file()
    image_of(service)  # and one of the stages the image tests check


@pytest.mark.parametrize("service", ["mock", "reference"])
def test_publishes_the_port_its_image_serves(service: str) -> None:
    expose = image_of(service).last("EXPOSE")
    assert expose is not None
    assert _container_ports(service) == {expose.arguments}


@pytest.mark.parametrize("service", BUILT)
def test_passes_only_variables_the_mock_reads(service: str) -> None:
    environment = SERVICES[service].get("environment", [])
    names = (
        set(environment)
        if isinstance(environment, Mapping)
        else {entry.split("=")[0] for entry in environment}
    )
    mixmock = {name for name in names if name.startswith(ENV_PREFIX)}
    assert mixmock <= SETTING_VARIABLES | {KEY_ENV}
    # The image fixes where the server listens and keeps its jobs; the port mapping relies on that.
    assert not mixmock & {"MIXMOCK_HOST", "MIXMOCK_PORT", "MIXMOCK_STORE"}


@pytest.mark.parametrize("service", ["mock", "reference"])
def test_keeps_jobs_on_a_named_volume(service: str) -> None:
    store_folder = image_of(service).env()["MIXMOCK_STORE"].rsplit("/", 1)[0]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in SERVICES[service]["volumes"]}
    assert mounts[store_folder] in COMPOSE["volumes"]


def test_mock_runs_without_a_profile() -> None:
    assert "profiles" not in SERVICES["mock"]


def test_reference_reserves_a_gpu_under_the_gpu_profile() -> None:
    reference = SERVICES["reference"]
    assert reference["profiles"] == ["gpu"]
    (device,) = reference["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["capabilities"] == ["gpu"]


def test_reference_mounts_the_model_folder_read_only() -> None:
    model_dir = image_of("reference").env()["MIXMOCK_MODEL_DIR"]
    mounts = [interpolate(volume, {}) for volume in SERVICES["reference"]["volumes"]]
    assert f"../models:{model_dir}:ro" in mounts
    assert f"/srv/sd15:{model_dir}:ro" in [
        interpolate(v, {"MODEL_DIR": "/srv/sd15"}) for v in SERVICES["reference"]["volumes"]
    ]


@pytest.mark.parametrize(
    ("environ", "target"),
    [({}, "mock"), ({"AUDIT_TARGET": "reference"}, "reference")],
    ids=["default-mock", "switched-to-reference"],
)
def test_audit_targets_a_healthy_server_on_its_port(environ: dict[str, str], target: str) -> None:
    audit = SERVICES["audit"]
    command = [interpolate(word, environ) for word in audit["command"]]
    base_url = command[command.index("--base-url") + 1]
    expose = image_of(target).last("EXPOSE")
    assert expose is not None
    assert base_url == f"http://{target}:{expose.arguments}"
    assert audit["depends_on"][target]["condition"] == "service_healthy"
    assert image_of(target).last("HEALTHCHECK") is not None


def test_audit_is_a_one_shot_under_the_audit_profile() -> None:
    audit = SERVICES["audit"]
    assert audit["profiles"] == ["audit"]
    assert "restart" not in audit
    assert "ports" not in audit
    # A target left out by its profile is skipped rather than failing the run.
    assert all(dependency["required"] is False for dependency in audit["depends_on"].values())


def test_audit_writes_reports_to_its_mounted_folder() -> None:
    audit = SERVICES["audit"]
    report_dir = audit["command"][audit["command"].index("--report-dir") + 1]
    mounts = [interpolate(volume, {}).split(":") for volume in audit["volumes"]]
    assert ["../reports", report_dir] in mounts
    assert interpolate(audit["user"], {}) == "10001:10001"  # the image's user unless the host's is given


def test_audit_key_comes_from_the_environment_not_the_command_line() -> None:
    audit = SERVICES["audit"]
    assert KEY_ENV in audit["environment"]
    assert "--key" not in audit["command"]


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("http://${AUDIT_TARGET:-mock}:8000", {}, "http://mock:8000"),
        ("http://${AUDIT_TARGET:-mock}:8000", {"AUDIT_TARGET": "reference"}, "http://reference:8000"),
        ("${UNSET}", {}, ""),
    ],
    ids=["default", "set", "unset-without-default"],
)
def test_interpolation_helper(text: str, environ: dict[str, str], expected: str) -> None:
    assert interpolate(text, environ) == expected


def _flag(command: list[str], flag: str) -> str:
    return interpolate(command[command.index(flag) + 1], {})


def test_the_scale_profile_runs_redis_replicas_a_balancer_and_a_worker() -> None:
    assert {"redis", "mock-replica", "balancer", "engine-worker"} == SCALE
    assert SERVICES["redis"]["image"].startswith("redis:")
    assert SERVICES["balancer"]["image"].startswith("nginx:")  # the official image
    replica = SERVICES["mock-replica"]
    assert replica["deploy"]["replicas"] == 3
    assert image_of("mock-replica") == image_of("mock")


def test_replicas_and_the_worker_share_the_redis_service() -> None:
    for service in ("mock-replica", "engine-worker"):
        store = _flag(SERVICES[service]["command"], "--store")
        assert store == "redis://redis:6379/0"
        assert SERVICES[service]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "--appendonly" in SERVICES["redis"]["command"]  # a restarted Redis keeps the jobs
    assert "redis-data" in COMPOSE["volumes"]


def test_replicas_queue_engine_jobs_for_the_gpu_worker() -> None:
    assert _flag(SERVICES["mock-replica"]["command"], "--engine") == "remote"
    worker = SERVICES["engine-worker"]
    assert worker["command"][:2] == ["mixmock", "worker"]
    assert _flag(worker["command"], "--engine") == "diffusers"
    assert image_of("engine-worker") == image_of("reference")
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert (device["driver"], device["capabilities"]) == ("nvidia", ["gpu"])
    model_dir = image_of("reference").env()["MIXMOCK_MODEL_DIR"]
    assert f"../models:{model_dir}:ro" in [interpolate(volume, {}) for volume in worker["volumes"]]
    assert worker["healthcheck"] == {"disable": True}  # a worker has no /health to answer


def test_the_balancer_spreads_over_the_replicas_once_they_are_ready() -> None:
    balancer = SERVICES["balancer"]
    conf_path = balancer["volumes"][0].split(":")[0]
    conf = (DOCKER_DIR / conf_path).read_text(encoding="utf-8")
    expose = image_of("mock-replica").last("EXPOSE")
    assert expose is not None
    assert f"server mock-replica:{expose.arguments}" in conf
    assert "proxy_set_header Host $http_host" in conf  # output URLs point back through the balancer
    listen = re.search(r"listen (\d+);", conf)
    assert listen is not None
    assert _container_ports("balancer") == {listen.group(1)}
    assert balancer["depends_on"]["mock-replica"]["condition"] == "service_healthy"
    assert "/ready" in " ".join(SERVICES["mock-replica"]["healthcheck"]["test"])
